// #/submit (or #/submit?mode=sweep): a form for one job or a sweep, its fields from the variants' defaults.
import {get, post, variants} from "./api.js";
import {fill, h} from "./dom.js";

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function show({view, params, fail, go}) {
  const sweep = params.get("mode") === "sweep";
  Promise.all([variants(), schemas()]).then(([list, rules]) => {
    fill(view, form(list, rules, sweep, params.get("variant"), fail, go));
  }).catch(fail);
  return {stop() {}};
}

async function schemas() {
  // Each variant's parameters as the OpenAPI document types and bounds them (it needs no token);
  // without it every field is a text field and the server still checks what is sent.
  try {
    const doc = await get("openapi.json");
    // Submission is a oneOf of references, one per variant, whose params refer to Params_<variant>.
    const named = (ref) => doc.components.schemas[ref.$ref.split("/").pop()];
    return Object.fromEntries(doc.components.schemas.Submission.oneOf.map(named).map((s) =>
      [s.properties.variant.const, named(s.properties.params.oneOf[0]).properties]));
  } catch {
    return {};
  }
}

function form(list, rules, sweep, wanted, fail, go) {
  const byName = Object.fromEntries(list.map((v) => [v.name, v]));
  const first = byName[wanted] ? wanted : (byName.custom_function ? "custom_function" : list[0].name);
  const variant = h("select", {name: "variant", onchange: () => fields(variant.value)},
                    list.map((v) => h("option", {value: v.name, selected: v.name === first}, `${v.name} — ${v.title}`)));
  const about = h("p", {class: "muted about"});
  const warned = h("div", {class: "warnings", role: "status"});
  const rowsBody = h("tbody");
  const timeout = h("input", {name: "timeout_s", inputmode: "numeric", placeholder: "the server's default", size: 12});
  const button = h("button", {type: "submit"}, sweep ? "Submit sweep" : "Submit job");
  let key = newKey(); // one per form: a double submit (or a retry after a 503) is the same job

  function fields(name) {
    const v = byName[name];
    about.textContent = v.description + (v.learning_rate_limit ?
      ` Stable for learning_rate up to ${v.learning_rate_limit.toExponential(3)} at ${v.defaults.samples} points.` : "");
    const types = rules[name] || {};
    fill(rowsBody, v.parameters.map((p) => h("tr", {},
      h("th", {scope: "row"}, h("label", {for: `params.${p}`}, p)),
      h("td", {}, input(p, types[p], v.defaults[p])),
      sweep ? h("td", {}, h("input", {name: `grid.${p}`, "aria-label": `${p}: values to sweep`, size: 22,
                                      placeholder: "e.g. 1, 2, 3"})) : null)));
  }

  async function send(event) {
    event.preventDefault();
    const el = event.target;
    for (const bad of el.querySelectorAll("[aria-invalid]")) bad.removeAttribute("aria-invalid");
    const name = variant.value;
    const types = rules[name] || {};
    const body = {variant: name, params: {}};
    const grid = {};
    for (const p of byName[name].parameters) {
      const listed = sweep ? el.elements[`grid.${p}`].value.split(",").map((t) => parse(t, types[p]))
                                 .filter((x) => x !== undefined) : [];
      if (listed.length) grid[p] = listed;
      else if (parse(el.elements[`params.${p}`].value, types[p]) !== undefined) {
        body.params[p] = parse(el.elements[`params.${p}`].value, types[p]);
      }
    }
    if (sweep) body.grid = grid;
    if (timeout.value.trim()) body.timeout_s = parse(timeout.value, {type: "integer"});
    button.disabled = true;
    fill(warned);
    try {
      // Accepted with a warning (an unstable learning rate): stay here, say it, link to what was made.
      const made = sweep ? await post("sweeps", body) : await post("jobs", body, {"Idempotency-Key": key});
      if (!sweep) key = newKey();
      const where = sweep ? `#/?sweep=${made.id}` : `#/jobs/${made.id}`;
      if (!made.warnings) go(where);
      else fill(warned, made.warnings.map((w) => h("p", {class: "notice"}, `⚠ ${w.detail} `)),
                h("p", {}, h("a", {href: where}, sweep ? `sweep ${made.id} was accepted` : `job ${made.id} was accepted`)));
    } catch (err) {
      const field = err.field && el.elements[err.field];
      if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
      fail(err);
    } finally {
      button.disabled = false;
    }
  }

  fields(first);
  return h("form", {class: `submit card${sweep ? " sweeping" : ""}`, onsubmit: send, novalidate: true},
    h("div", {class: "title"}, h("h1", {}, sweep ? "Submit a sweep" : "Submit a job"),
      h("a", {href: sweep ? "#/submit" : "#/submit?mode=sweep"}, sweep ? "one job instead" : "a sweep instead")),
    sweep ? h("p", {}, "One job per combination of the values you list; a parameter with no list takes its ",
              "value for every job. Without a seed, every job gets the same one.") : null,
    h("label", {}, "Variant ", variant), about,
    h("table", {class: "params-form"},
      h("thead", {}, h("tr", {}, h("th", {}, "parameter"), h("th", {}, sweep ? "value (all jobs)" : "value"),
                      sweep ? h("th", {}, "or values to sweep, comma-separated") : null)),
      rowsBody),
    h("p", {}, h("label", {}, "Time budget in seconds (timeout_s) ", timeout)), warned,
    h("p", {}, button, h("span", {class: "muted"}, " Empty fields take the variant's default; a missing seed is chosen and stored.")));
}

function input(name, schema, value) {
  const attrs = {name: `params.${name}`, id: `params.${name}`};
  if (schema && schema.enum) {
    return h("select", attrs, schema.enum.map((c) => h("option", {value: c, selected: c === value}, c)));
  }
  const numeric = schema && [].concat(schema.type).some((t) => t === "integer" || t === "number");
  return h("input", {...attrs, value: value === undefined ? "" : String(value), size: 14,
                     inputmode: numeric ? "decimal" : null,
                     placeholder: name === "seed" ? "chosen by the server" : null});
}

/** A field's text as JSON: a number where the parameter is one, absent when empty; else the text as is. */
function parse(text, schema) {
  const t = text.trim();
  if (t === "") return undefined;
  const numeric = !schema || [].concat(schema.type).some((x) => x === "integer" || x === "number");
  return numeric && NUMBER.test(t) ? Number(t) : t;
}

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs https; this does not
  return `dashboard-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}
