// #/jobs/<id>: one job, live while it runs (its event stream: the loss curve grows point by point), then
// its plots, result, parameters and what ran it. Without a stream (a proxy refusing it) it polls.
import {download, events, get, plot, post} from "./api.js";
import {ACTIVE, fill, h, moment, number, pairs, progress, seconds, status} from "./dom.js";
import {selected} from "./list.js";

const LIVE_MS = 1000;

export function show({view, match: [id], fail, recover}) {
  const head = h("div", {class: "title"});
  const lossPlot = h("div", {class: "plot-box"}, h("p", {class: "muted"}, "Loading the plot…"));
  const fitPlot = h("div", {class: "plot-box"}, h("p", {class: "muted"}, "Loading the plot…"));
  const details = h("div", {class: "details"});
  let timer = null;
  let stopped = false;
  let drawnFor = null; // the status the plots were drawn for: they change when the job finishes
  const live = []; // the points the stream has sent: [step, loss]
  let liveSteps = 0;
  let growing = false; // the live curve is shown (a server plot that arrives late must not replace it)
  const aborter = new AbortController();

  fill(view, head,
    h("div", {class: "plots"},
      h("figure", {class: "plot loss"}, lossPlot, h("figcaption", {}, "Loss against step (log scale)")),
      h("figure", {class: "plot fit"}, fitPlot, h("figcaption", {}, "The fit against sin(x) on [-π, π]"))),
    details);

  async function draw(box, path) {
    try {
      const svg = await plot(path);
      if (!stopped && !(box === lossPlot && growing)) fill(box, svg);
    } catch (err) {
      if (!stopped) { fill(box, h("p", {class: "muted"}, "No plot.")); fail(err); }
    }
  }

  function shown(job) {
    recover("job");
    render(job);
    if (job.status !== drawnFor) {
      drawnFor = job.status;
      growing = growing && ACTIVE.has(job.status);
      draw(lossPlot, `jobs/${id}/plots/loss.svg`);
      draw(fitPlot, `jobs/${id}/plots/fit.svg`);
    }
  }

  function grow(job) {
    // The curve so far, redrawn with each point while the job runs.
    if (!job || !ACTIVE.has(job.status) || !live.length) return;
    growing = true;
    fill(lossPlot, curve(live, liveSteps));
  }

  async function follow() {
    // The stream pushes each point, each status and the end; the finished job is read once, whole.
    let job = null;
    let ended = false;
    try {
      await events(`jobs/${id}/events`, (name, data) => {
        if (stopped) return;
        if (name === "status") {
          shown(job = data);
          grow(job);
        } else if (name === "progress") {
          live.push([data.step, data.loss]);
          liveSteps = data.steps;
          if (job && ACTIVE.has(job.status)) {
            job.progress = {step: Math.min(data.step + 1, data.steps), steps: data.steps};
            render(job);
            grow(job);
          }
        } else if (name === "end") ended = true;
      }, aborter.signal);
    } catch (err) {
      if (stopped) return;
      if (err.status === 401 || err.status === 404) { fail(err, "job"); return; }
    }
    if (!stopped) load(ended); // ended: the finished job; else the stream broke: poll instead
  }

  async function load(once = false) {
    clearTimeout(timer);
    try {
      const job = await get(`jobs/${id}`);
      if (stopped) return;
      shown(job);
      if (ACTIVE.has(job.status) && !once) timer = setTimeout(load, LIVE_MS);
    } catch (err) {
      if (stopped) return;
      fail(err, "job");
      if (err.status !== 401 && err.status !== 404) timer = setTimeout(load, 5 * LIVE_MS);
    }
  }

  function render(job) {
    const active = ACTIVE.has(job.status);
    const pick = h("input", {type: "checkbox", checked: selected.has(job.id), onchange: (e) => {
      e.target.checked ? selected.add(job.id) : selected.delete(job.id);
    }});
    fill(head,
      h("h1", {}, `${job.variant} `, h("span", {class: "mono id"}, job.id)),
      h("p", {class: "state"}, status(job.status), " ", progress(job), " ",
        active ? h("button", {type: "button", onclick: async () => {
          try { await post(`jobs/${job.id}/cancel`); load(); } catch (err) { fail(err); }
        }}, "Cancel") : null,
        h("label", {class: "check"}, pick, " select for compare"),
        job.sweep_id ? h("a", {href: `#/?sweep=${job.sweep_id}`}, "its sweep") : null),
      job.notice ? h("p", {class: "notice"}, job.notice) : null,
      job.error ? h("p", {class: "error-box"}, h("strong", {}, job.error.type), ": ", job.error.message) : null);
    fill(details, result(job), pairs(Object.entries(job.params).map(([k, v]) => [k, String(v)]), "Parameters"),
      pairs([["device", job.device || "—"], ["worker", job.worker || "—"], ["attempts", String(job.attempts)],
             ["time budget", seconds(job.timeout_s)], ["created", moment(job.created_at)],
             ["started", moment(job.started_at)], ["finished", moment(job.finished_at)]], "Run"));
  }

  function result(job) {
    const r = job.result;
    if (!r) return h("div", {class: "card"}, h("h2", {}, "Result"), h("p", {class: "muted"},
      ACTIVE.has(job.status) ? "The result appears here when the job finishes." : "This job has no result."));
    const coefficients = Object.entries(r.coefficients).map(([k, v]) => [k, number(v, 8)]);
    return h("div", {class: "card result"}, h("h2", {}, "Result"),
      h("p", {}, h("code", {class: "formula"}, r.formula)),
      pairs([["final loss", number(r.final_loss, 8)],
             // Stored by the worker since the optimum fields; older results have none.
             ...(r.optimum_loss === undefined ? [] : [["least-squares optimum", number(r.optimum_loss, 8)],
               ["excess over it", r.excess_loss === null ? "—" : `${number(r.excess_loss, 6)}` +
                 (r.relative_excess_loss === null ? "" : ` (${number(100 * r.relative_excess_loss, 3)}%)`)]]),
             ["duration", seconds(r.duration_s)],
             ["history points", String(r.loss_history.length)], ...coefficients]),
      h("p", {}, "Power basis: ", h("code", {}, r.polynomial.map((c, i) => `${number(c, 6)}${i ? ` x^${i}` : ""}`).join(" + "))),
      h("p", {}, h("button", {type: "button", class: "quiet", onclick: () =>
        download(`jobs/${job.id}/history?format=csv`, `fitq-${job.id}-history.csv`).catch(fail)}, "Download the loss history (CSV)")),
      predictForm(job));
  }

  function predictForm(job) {
    const xs = h("input", {name: "x", value: "-1.5, 0, 1.5", size: 24, "aria-label": "x values"});
    const out = h("div");
    return h("form", {class: "predict", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const p = await get(`jobs/${job.id}/predict?x=${encodeURIComponent(xs.value.replace(/\s+/g, ""))}`);
        fill(out, h("table", {class: "pairs"}, h("thead", {}, h("tr", {}, h("th", {}, "x"), h("th", {}, "y"), h("th", {}, "sin(x)"))),
          h("tbody", {}, p.x.map((x, i) => h("tr", {}, h("td", {}, number(x)), h("td", {}, number(p.y[i])),
                                                h("td", {}, number(Math.sin(x))))))));
      } catch (err) { fail(err); }
    }}, h("label", {}, "Evaluate the fit at x = ", xs), " ", h("button", {type: "submit", class: "quiet"}, "Evaluate"), out);
  }

  follow();
  return {stop() { stopped = true; clearTimeout(timer); aborter.abort(); }};
}

const SVG = "http://www.w3.org/2000/svg";

/** The loss so far against step, log scale, as the stream brings it (the server's plot replaces it). */
function curve(points, steps) {
  const finite = points.filter(([, loss]) => loss !== null && loss > 0);
  const logs = finite.map(([, loss]) => Math.log10(loss));
  const low = Math.min(...logs), high = Math.max(...logs);
  const span = high - low || 1;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 600 300");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `loss so far: ${finite.length} points`);
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("data-series", "live-loss");
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("d", finite.map(([step, loss], i) =>
    `${i ? "L" : "M"}${(20 + 560 * step / Math.max(steps, 1)).toFixed(1)},` +
    `${(280 - 260 * (Math.log10(loss) - low) / span).toFixed(1)}`).join(" "));
  svg.append(path);
  return svg;
}
