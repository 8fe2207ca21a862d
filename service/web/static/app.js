// The dashboard's router: #/ (jobs), #/jobs/<id>, #/compare?ids=..., #/submit. Also the token form and
// the error line every view reports to.
import {get, token} from "./api.js";
import * as compare from "./compare.js";
import * as job from "./job.js";
import * as list from "./list.js";
import * as submit from "./submit.js";

const ROUTES = [
  [/^#?\/?$/, list.show, "jobs"],
  [/^#\/jobs\/([0-9a-f]{32})$/, job.show, "jobs"],
  [/^#\/compare$/, compare.show, "jobs"],
  [/^#\/submit$/, submit.show, "submit"],
];
const view = document.getElementById("view");
const banner = document.getElementById("error");
const tokenForm = document.getElementById("token-form");
let shown = null; // the view on screen: {stop()}
let errorFrom = null; // who reported the error on screen

/** Show what went wrong: the problem's detail, or the token form for a 401. */
function fail(err, from = "action") {
  if (err.status === 401) {
    askForToken(err.detail);
    return;
  }
  if (!(err instanceof Error) || err.status === undefined) console.error(err);
  banner.textContent = err.status ? `${err.status} ${err.title}: ${err.detail}` : `${err.detail || err.message}`;
  banner.hidden = false;
  errorFrom = from;
}

/** Take back the error on screen if `from` reported it (a poll that now succeeds). */
function recover(from) {
  if (errorFrom === from) clear();
}

function clear() {
  banner.hidden = true;
  banner.textContent = "";
  errorFrom = null;
}

function askForToken(reason) {
  shown?.stop?.();
  shown = null;
  document.getElementById("token-reason").textContent = reason || "";
  tokenForm.hidden = false;
  view.replaceChildren();
  document.getElementById("token-input").focus();
}

/** Show whose work the page shows and what its token may do: the owner and the token's scopes. */
async function showWho() {
  const who = document.getElementById("whoami");
  try {
    const me = await get("whoami");
    who.textContent = me.auth ? `${me.owner}: ${me.scopes.join(", ")}${me.sees_all_owners ? " (all owners)" : ""}`
                              : "no token needed";
  } catch {
    who.textContent = "";  // no token yet, or a wrong one: the token form says so
  }
}

function route() {
  showWho();
  shown?.stop?.();
  clear();
  tokenForm.hidden = true;
  const [path, search = ""] = location.hash.split("?");
  const params = new URLSearchParams(search);
  for (const [pattern, show, section] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    for (const link of document.querySelectorAll("[data-nav]")) {
      link.toggleAttribute("aria-current", link.dataset.nav === section);
    }
    shown = show({view, params, match: match.slice(1), fail, recover, go: (hash) => { location.hash = hash; }});
    return;
  }
  view.replaceChildren(document.createTextNode(`Nothing at ${path}; `), Object.assign(
    document.createElement("a"), {href: "#/", textContent: "see the jobs"}));
}

tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("token-input");
  token.set(input.value.trim());
  input.value = "";
  route();
});
document.getElementById("token-forget").addEventListener("click", () => {
  token.forget();
  route();
});
document.getElementById("token-button").addEventListener("click", () => {
  if (tokenForm.hidden) askForToken(token.get() ? "A token is stored; paste another to replace it."
                                                : "No token is stored.");
  else route();
});
window.addEventListener("hashchange", route);
route();
