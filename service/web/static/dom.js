// Building the page: every value goes in as text (textContent, attributes), never parsed as HTML.

const LINK = /^(#|\.\/|docs$|api\/v1\/)/; // where the page links: its own views and fitq's own routes

/** h("a", {href: "#/", onclick: fn, dataset: {id}}, "text", child...): an element, children as text or nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "href" && !LINK.test(value)) throw new Error(`refusing to link to ${value}`);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  add(el, children);
  return el;
}

/** Replace everything inside `el` with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  add(el, children);
  return el;
}

function add(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child)); // a string is appended as a text node
  }
}

export const ACTIVE = new Set(["queued", "running"]);

/** A number as a person reads it: 6 significant digits, exponent form when very large or small. */
export function number(value, digits = 6) {
  if (value === null || value === undefined) return "—";
  const v = Number(Number(value).toPrecision(digits));
  return v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3) ? v.toExponential() : String(v);
}

/** Seconds as "0.71 s" or "3 min 5 s". */
export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 60) return `${Number(value.toPrecision(3))} s`;
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

/** An ISO time as local date and time. */
export function moment(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  const time = d.toLocaleTimeString(undefined, {hour: "2-digit", minute: "2-digit", second: "2-digit"});
  if (d.toDateString() === new Date().toDateString()) return time; // today
  return `${d.toLocaleDateString(undefined, {year: "numeric", month: "short", day: "numeric"})} ${time}`;
}

/** The end of a job id: its start is a timestamp that jobs made together share. */
export function shortId(id) {
  return id.slice(-8);
}

/** A status as a coloured label. */
export function status(value) {
  return h("span", {class: `status status-${value}`, dataset: {status: value}}, value);
}

/** A job's progress: a bar and "step / steps". */
export function progress(job) {
  const {step, steps} = job.progress;
  return h("span", {class: "progress"},
    h("progress", {max: Math.max(steps, 1), value: step, "aria-label": `step ${step} of ${steps}`}),
    h("span", {class: "muted"}, `${step} / ${steps}`));
}

/** A two-column table of name, value pairs. */
export function pairs(entries, caption) {
  return h("table", {class: "pairs"}, caption ? h("caption", {}, caption) : null,
    h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", {scope: "row"}, k), h("td", {}, v)))));
}
