// #/compare?ids=a,b: the jobs' loss curves over each other and their results side by side.
import {get, plot} from "./api.js";
import {ACTIVE, fill, h, number, seconds, shortId, status} from "./dom.js";

const LIVE_MS = 1000;

export function show({view, params, fail, recover}) {
  const ids = (params.get("ids") || "").split(",").filter(Boolean);
  if (!ids.length) {
    fill(view, h("h1", {}, "Compare"), h("p", {}, "Tick jobs in the ", h("a", {href: "#/"}, "list"),
                                        " and press “Compare selected”."));
    return {stop() {}};
  }
  const overlay = h("div", {class: "plot-box"}, h("p", {class: "muted"}, "Loading the plot…"));
  const table = h("div", {class: "scroll"});
  let timer = null;
  let stopped = false;
  let drawnFor = null;
  fill(view, h("div", {class: "title"}, h("h1", {}, `Compare ${ids.length} jobs`), h("a", {href: "#/"}, "back to the jobs")),
    h("figure", {class: "plot overlay"}, overlay, h("figcaption", {}, "Loss against step (log scale)")), table);

  async function load() {
    clearTimeout(timer);
    try {
      const {items} = await get(`compare?ids=${ids.join(",")}`);
      if (stopped) return;
      recover("compare");
      fill(table, comparison(items));
      const statuses = items.map((j) => j.status).join();
      if (statuses !== drawnFor) {
        drawnFor = statuses;
        plot(`plots/losses.svg?ids=${ids.join(",")}`).then((svg) => stopped || fill(overlay, svg)).catch(fail);
      }
      if (items.some((j) => ACTIVE.has(j.status))) timer = setTimeout(load, LIVE_MS);
    } catch (err) {
      if (!stopped) fail(err, "compare");
    }
  }

  load();
  return {stop() { stopped = true; clearTimeout(timer); }};
}

function comparison(items) {
  // The parameters that differ between the jobs get a column each; the rest would repeat.
  const names = [...new Set(items.flatMap((j) => Object.keys(j.params)))].sort();
  const differing = names.filter((k) => new Set(items.map((j) => String(j.params[k]))).size > 1);
  const losses = items.map((j) => j.final_loss).filter((v) => v !== null);
  const best = losses.length ? Math.min(...losses) : null;
  const head = ["job", "variant", "status", ...differing, "final loss", "optimum", "gap", "ratio", "duration",
                "device", "fit"];
  return h("table", {class: "compare"},
    h("thead", {}, h("tr", {}, head.map((t) => h("th", {scope: "col"}, t)))),
    h("tbody", {}, items.map((j) => h("tr", {class: j.final_loss !== null && j.final_loss === best ? "best" : null,
                                              dataset: {id: j.id}},
      h("td", {class: "mono"}, h("a", {href: `#/jobs/${j.id}`, title: j.id}, shortId(j.id))),
      h("td", {}, j.variant), h("td", {}, status(j.status)),
      differing.map((k) => h("td", {class: "num"}, j.params[k] === undefined ? "—" : String(j.params[k]))),
      h("td", {class: "num"}, number(j.final_loss)), h("td", {class: "num"}, number(j.optimum.loss)),
      h("td", {class: "num"}, number(j.gap)), h("td", {class: "num"}, j.ratio === null ? "—" : `${number(j.ratio, 4)}×`),
      h("td", {class: "num"}, seconds(j.duration_s)), h("td", {}, j.device || "—"),
      h("td", {}, j.formula ? h("code", {}, j.formula) : "—")))));
}
