// #/?variant=&status=&sweep=&order_by=&cursor=: the jobs, live while any of them is queued or running:
// one event stream of the unfinished jobs shown updates their rows (polling only if it cannot be opened).
// With a sweep, a card above them: its summary and its best relative excess loss against trials finished.
import {events, get, plot, post, query, variants} from "./api.js";
import {ACTIVE, fill, h, moment, number, progress, seconds, shortId, status} from "./dom.js";

const STATUSES = ["queued", "running", "succeeded", "failed", "diverged", "cancelled", "pruned"];
const ORDERS = [["-created_at", "newest first"], ["created_at", "oldest first"], ["final_loss", "lowest loss"],
                ["-final_loss", "highest loss"], ["duration_s", "fastest"], ["-duration_s", "slowest"],
                ["excess_loss", "closest to the optimum"], ["-excess_loss", "farthest from the optimum"]];
const FILTERS = ["variant", "status", "sweep", "order_by"];
const LIVE_MS = 1000; // while a job shown is queued or running (and no stream follows it)
const IDLE_MS = 10000; // otherwise: new jobs still show up
const LIVE_CELLS = [3, 4, 5, 6]; // status, progress, final loss, duration: what a stream changes in a row
const MOST_OVERLAID = 20; // the overlay plot's limit (GET /plots/losses.svg)
export const selected = new Set(); // job ids picked for compare; kept while the page is open

export function show({view, params, fail, recover, go}) {
  const wanted = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || ""]));
  const cursor = params.get("cursor") || "";
  const rows = h("tbody");
  const compareButton = h("button", {type: "button", onclick: () => go(`#/compare?ids=${[...selected].join(",")}`)});
  const pager = h("p", {class: "pager"});
  const about = h("div");
  const bestPlot = h("div", {class: "plot-box"}, h("p", {class: "muted"}, "Loading the plot…"));
  const sweep = wanted.sweep
    ? h("div", {class: "card sweep"}, about, h("figure", {class: "plot best"}, bestPlot,
        h("figcaption", {}, "Best relative excess loss against trials finished (log scale)")))
    : h("div");
  let plotted = null; // the trials finished the plot was drawn for: a new one redraws it
  let plotting = null; // the sweep to draw next, while a plot is on its way (one at a time)
  let timer = null;
  let stopped = false;
  const shown = new Map(); // id -> the job as its row shows it
  let stream = null; // {ids, aborter} of the open stream
  let streamless = false; // the stream could not be opened (a proxy refusing it): poll instead

  const filters = filterForm(wanted, (changed) => go(`#/?${query({...wanted, ...changed})}`));
  fill(view, h("div", {class: "title"}, h("h1", {}, "Jobs"), h("a", {class: "button", href: "#/submit"}, "Submit a job")),
    filters, sweep,
    h("div", {class: "scroll"}, h("table", {class: "jobs"},
      h("thead", {}, h("tr", {}, ["", "job", "variant", "status", "progress", "final loss", "duration",
                                   "parameters", "created", ""].map((t) => h("th", {scope: "col"}, t)))),
      rows)),
    h("p", {class: "actions"}, compareButton, " ", h("button", {type: "button", class: "quiet", onclick: () => {
      selected.clear();
      for (const box of rows.querySelectorAll("input[type=checkbox]")) box.checked = false;
      updateButton();
    }}, "Clear selection")),
    pager);
  updateButton();

  function updateButton() {
    compareButton.textContent = `Compare selected (${selected.size})`;
    compareButton.disabled = selected.size === 0 || selected.size > MOST_OVERLAID;
    compareButton.title = selected.size > MOST_OVERLAID ? `at most ${MOST_OVERLAID} jobs at once` : "";
  }

  function row(job) {
    const active = ACTIVE.has(job.status);
    const box = h("input", {type: "checkbox", "aria-label": `select job ${job.id}`, checked: selected.has(job.id),
                            onchange: () => { box.checked ? selected.add(job.id) : selected.delete(job.id); updateButton(); }});
    const cancel = active && h("button", {type: "button", class: "quiet", onclick: async () => {
      try { await post(`jobs/${job.id}/cancel`); load(); } catch (err) { fail(err); }
    }}, "Cancel");
    return h("tr", {dataset: {id: job.id, status: job.status}},
      h("td", {}, box),
      h("td", {class: "mono"}, h("a", {href: `#/jobs/${job.id}`, title: job.id}, shortId(job.id))),
      h("td", {}, job.variant),
      h("td", {}, status(job.status), job.notice ? h("span", {class: "notice", title: job.notice}, " ⚠") : null),
      h("td", {}, progress(job)),
      h("td", {class: "num"}, number(job.result && job.result.final_loss)),
      h("td", {class: "num"}, seconds(job.result && job.result.duration_s)),
      h("td", {class: "params"}, paramText(job.params)),
      h("td", {class: "muted"}, moment(job.created_at)),
      h("td", {}, cancel));
  }

  async function load() {
    clearTimeout(timer);
    if (document.hidden) { timer = setTimeout(load, LIVE_MS); return; }
    try {
      const page = await get(`jobs?${query({...wanted, cursor})}`);
      if (wanted.sweep) showSweep(await get(`sweeps/${wanted.sweep}`));
      if (stopped) return;
      recover("list");
      shown.clear();
      for (const job of page.items) shown.set(job.id, job);
      fill(rows, page.items.length ? page.items.map(row)
                                   : h("tr", {}, h("td", {colspan: 10, class: "empty"}, "No jobs match. ",
                                                   h("a", {href: "#/submit"}, "Submit one."))));
      fill(pager, cursor ? h("a", {href: `#/?${query(wanted)}`}, "« first page") : null, " ",
           page.next_cursor ? h("a", {href: `#/?${query({...wanted, cursor: page.next_cursor})}`}, "next page »") : null);
      const active = page.items.filter((j) => ACTIVE.has(j.status)).map((j) => j.id);
      if (follow(active)) return; // the stream brings the changes; the end loads the page again
      timer = setTimeout(load, active.length ? LIVE_MS : IDLE_MS);
    } catch (err) {
      if (stopped) return;
      fail(err, "list");
      if (err.status !== 401) timer = setTimeout(load, IDLE_MS);
    }
  }

  function follow(ids) {
    // One stream of the jobs shown that have not finished (a browser opens six connections to a host
    // at most: not one stream per row); true while it is open.
    const wanted = ids.join(",");
    if (stream && stream.ids === wanted) return true;
    if (stream) stream.aborter.abort();
    stream = null;
    if (!wanted || streamless) return false;
    const mine = stream = {ids: wanted, aborter: new AbortController()};
    let heard = false; // the server sends each job's state at once: silence means no stream
    let ended = false;
    events(`jobs/events?${query({ids: wanted})}`, (name, data) => {
      heard = true;
      if (stopped || stream !== mine) return;
      if (name === "status") changed(data);
      else if (name === "progress") advanced(data);
      else if (name === "end") ended = true;
    }, mine.aborter.signal).catch(() => {}).then(() => {
      if (stopped || stream !== mine) return; // stopped, or replaced by a stream of other jobs
      stream = null;
      if (!heard) streamless = true;
      // Ended: read the page once (new jobs, the order by loss); broken: again in a moment.
      if (ended || !heard) load(); else timer = setTimeout(load, LIVE_MS);
    });
    return true;
  }

  function changed(job) {
    const old = rows.querySelector(`tr[data-id="${job.id}"]`);
    if (!old) return;
    const before = shown.get(job.id);
    shown.set(job.id, job);
    const fresh = [...row(job).children];
    old.dataset.status = job.status;
    const cells = [...old.children];
    for (const i of LIVE_CELLS) cells[i].replaceWith(fresh[i]);
    if (!before || before.status !== job.status) cells[9].replaceWith(fresh[9]); // no Cancel once finished
    if (wanted.sweep && !ACTIVE.has(job.status)) {
      get(`sweeps/${wanted.sweep}`).then((s) => { if (!stopped) showSweep(s); }).catch(() => {});
    }
  }

  function showSweep(s) {
    fill(about, sweepSummary(s));
    if (plotting) plotting = s; // drawn once the plot on its way has arrived
    else if (s.trials.finished !== plotted) drawBest(s);
  }

  function drawBest(s) {
    plotted = s.trials.finished;
    plotting = s;
    plot(`sweeps/${s.id}/plots/best.svg`).then((svg) => stopped || fill(bestPlot, svg)).catch((err) => {
      if (!stopped) { fill(bestPlot, h("p", {class: "muted"}, "No plot.")); fail(err); }
    }).finally(() => {
      const next = plotting;
      plotting = null;
      if (!stopped && next !== s && next.trials.finished !== plotted) drawBest(next);
    });
  }

  function advanced({id, step, steps}) {
    const job = shown.get(id);
    if (!job || !ACTIVE.has(job.status)) return;
    changed({...job, progress: {step: Math.min(step + 1, steps), steps}});
  }

  load();
  return {stop() {
    stopped = true;
    clearTimeout(timer);
    if (stream) stream.aborter.abort();
  }};
}

function filterForm(wanted, apply) {
  const chosen = new Set(wanted.status ? wanted.status.split(",") : []);
  const variant = h("select", {name: "variant", onchange: () => apply({variant: variant.value, cursor: ""})},
                    h("option", {value: ""}, "any variant"));
  variants().then((list) => {
    for (const v of list) variant.append(h("option", {value: v.name, selected: v.name === wanted.variant}, v.name));
  }).catch(() => {}); // the listing reports the same failure
  const boxes = STATUSES.map((s) => h("label", {class: "check"},
    h("input", {type: "checkbox", name: "status", value: s, checked: chosen.has(s), onchange: (e) => {
      e.target.checked ? chosen.add(s) : chosen.delete(s);
      apply({status: STATUSES.filter((x) => chosen.has(x)).join(",")});
    }}), ` ${s}`));
  const sweep = h("input", {name: "sweep", value: wanted.sweep, placeholder: "sweep id", size: 34,
                            onchange: () => apply({sweep: sweep.value.trim()})});
  const order = h("select", {name: "order_by", onchange: () => apply({order_by: order.value})},
                  ORDERS.map(([value, label]) => h("option", {value, selected: value === (wanted.order_by || "-created_at")}, label)));
  return h("form", {class: "filters", onsubmit: (e) => e.preventDefault()},
    h("label", {}, "Variant ", variant), h("fieldset", {}, h("legend", {}, "Status"), boxes),
    h("label", {}, "Sweep ", sweep), h("label", {}, "Sort ", order));
}

function sweepSummary(sweep) {
  // The card's text: what the sweep asked, how far its jobs are, and its best job.
  const counts = Object.entries(sweep.counts).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(", ");
  const grid = Object.entries(sweep.grid).map(([k, vs]) => `${k} ∈ {${vs.join(", ")}}`).join(" × ");
  // A random or tpe search: its space, and how far it has asked (the sweeper asks in batches).
  const search = sweep.search;
  const what = search
    ? `${sweep.strategy} search over ${Object.keys(search.space).join(", ")}: ${sweep.trials.asked} of ` +
      `${search.trials} trials asked, ${sweep.trials.pruned} pruned` +
      (search.ended ? ` (ended: ${search.ended === "target" ? "target reached" : "all trials ran"})` : "")
    : `${sweep.size} jobs: ${grid}`;
  const excess = sweep.best && sweep.best.relative_excess_loss != null
    ? `, ${number(sweep.best.relative_excess_loss)} above the optimum (relative)` : "";
  return [
    h("p", {}, h("strong", {}, `Sweep ${sweep.id}`), ` — ${sweep.variant}, ${what}`),
    h("p", {}, sweep.finished ? "finished: " : "running: ", counts || "no jobs"),
    sweep.best ? h("p", {}, "best so far: ", h("a", {href: `#/jobs/${sweep.best.job_id}`}, shortId(sweep.best.job_id)),
                   ` with loss ${number(sweep.best.final_loss)}${excess}`) : null];
}

/** The parameters a reader tells jobs apart by, in one line. */
export function paramText(params) {
  const short = {learning_rate: "lr", log_every: "log"};
  return Object.entries(params).filter(([k]) => !["device", "dtype"].includes(k))
    .map(([k, v]) => `${short[k] || k}=${typeof v === "number" && !Number.isInteger(v) ? number(v, 4) : v}`).join(" ");
}
