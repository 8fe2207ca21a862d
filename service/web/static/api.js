// fitq's HTTP API as the page calls it: the stored token on every request, problems as errors.

const TOKEN_KEY = "fitq.token";

/** An answer that is not a success, with the problem+json's detail (and field) when it has one. */
export class Problem extends Error {
  constructor(status, title, detail, field) {
    super(detail);
    Object.assign(this, {status, title, detail, field});
  }
}

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY),
  set: (text) => localStorage.setItem(TOKEN_KEY, text),
  forget: () => localStorage.removeItem(TOKEN_KEY),
};

/** Fetch api/v1/<path> (relative, so fitq may live under a prefix); throws a Problem unless 2xx. */
export async function request(path, {method = "GET", body, headers = {}} = {}) {
  const sent = {...headers};
  const stored = token.get();
  if (stored) sent.Authorization = `Bearer ${stored}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`api/v1/${path}`, {method, headers: sent, cache: "no-store",
                                              body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (err) {
    throw new Problem(0, "No answer", `fitq did not answer (${err.message}); is it running?`);
  }
  if (!response.ok) throw await problem(response);
  return response;
}

async function problem(response) {
  let body = null;
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    try { body = await response.json(); } catch { body = null; }
  }
  const title = (body && body.title) || response.statusText || "Error";
  const detail = body && typeof body.detail === "string" ? body.detail : `${response.status} ${title}`;
  return new Problem(response.status, title, detail, body && body.field);
}

export async function get(path) {
  return (await request(path)).json();
}

/** POST a JSON body; returns the answer's JSON. */
export async function post(path, body, headers) {
  return (await request(path, {method: "POST", body, headers})).json();
}

/** "a=1&b=2" from an object, leaving out empty values. */
export function query(values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  return q.toString();
}

let variantList = null;
/** The variant catalogue (asked once per page load). */
export async function variants() {
  variantList = variantList || get("variants").catch((err) => { variantList = null; throw err; });
  return variantList;
}

let drawn = 0;
/** An SVG plot, fetched with the token and made into an element of this page (scripts and links removed). */
export async function plot(path) {
  const text = await (await request(path)).text();
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (root.localName !== "svg" || doc.getElementsByTagName("parsererror").length) {
    throw new Problem(0, "Bad plot", `the plot at ${path} is not an SVG image`);
  }
  clean(root, `plot${++drawn}-`);
  root.removeAttribute("width"); // it scales with its box; the viewBox keeps its shape
  root.removeAttribute("height");
  return document.importNode(root, true);
}

function clean(root, prefix) {
  // Several plots share a page: their ids (and url(#id) references to them) get a prefix each.
  for (const el of root.querySelectorAll("script, foreignObject")) el.remove();
  for (const el of [root, ...root.querySelectorAll("*")]) {
    for (const {name, value} of [...el.attributes]) {
      if (/^on/i.test(name) || /href$/i.test(name)) el.removeAttribute(name);
      else if (name === "id") el.setAttribute("id", prefix + value);
      else if (value.includes("url(#")) el.setAttribute(name, value.replaceAll("url(#", `url(#${prefix}`));
    }
  }
}

/** Save what api/v1/<path> answers as a file, fetched with the token. */
export async function download(path, filename) {
  const blob = await (await request(path)).blob();
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), {href: url, download: filename});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * Read api/v1/<path>'s event stream (fetch, so the stored token goes with it: EventSource cannot send
 * one), calling onEvent(name, data) per event; resolves when the server closes it, throws a Problem if
 * it cannot be opened. `signal` (an AbortSignal) stops it.
 */
export async function events(path, onEvent, signal) {
  const stored = token.get();
  const headers = {Accept: "text/event-stream", ...(stored ? {Authorization: `Bearer ${stored}`} : {})};
  let response;
  try {
    response = await fetch(`api/v1/${path}`, {headers, cache: "no-store", signal});
  } catch (err) {
    throw new Problem(0, "No answer", `no event stream (${err.message})`);
  }
  if (!response.ok) throw await problem(response);
  if (!(response.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
    throw new Problem(0, "No stream", "the answer is not an event stream");
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = {};
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a keep-alive
        const at = line.indexOf(": ");
        if (at > 0) fields[line.slice(0, at)] = line.slice(at + 2);
      }
      if (fields.data !== undefined) onEvent(fields.event || "message", JSON.parse(fields.data));
    }
  }
}
