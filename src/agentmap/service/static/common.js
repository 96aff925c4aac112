// agentmap dashboard: what every page shares — calls to the JSON API (with the API key, asked
// for when the service answers 401), Server-Sent Events read with fetch() so the key can be
// sent, building elements without ever parsing data as HTML, and formatting.
"use strict";

const AM = (() => {
  const base = document.body.dataset.base || "";
  const KEY = "agentmap.apiKey";

  class ApiError extends Error {
    constructor(status, problem) {
      const detail = problem && typeof problem === "object" ? problem.detail : problem;
      super(typeof detail === "string" && detail ? detail : `the service answered ${status}`);
      this.status = status;
      this.problem = problem;
    }
  }

  class NeedKey extends Error {
    constructor() {
      super("an API key is needed");
    }
  }

  function storedKey() {
    try {
      return sessionStorage.getItem(KEY);
    } catch (e) {
      return null;
    }
  }

  function headers(extra) {
    const all = Object.assign({ Accept: "application/json" }, extra || {});
    const key = storedKey();
    if (key) all.Authorization = "Bearer " + key;
    return all;
  }

  // --- the API key -----------------------------------------------------------------------------

  let asking = false;

  function askForKey() {
    if (asking) return;
    asking = true;
    const dialog = document.getElementById("key-dialog");
    const problem = document.getElementById("key-problem");
    if (storedKey()) {
      problem.textContent = "The service refused the key this tab had. Give another one.";
      problem.hidden = false;
    }
    dialog.hidden = false;
    document.getElementById("key-input").focus();
  }

  function setUpKeyDialog() {
    const form = document.getElementById("key-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = document.getElementById("key-input").value.trim();
      if (!value) return;
      sessionStorage.setItem(KEY, value);
      location.reload();
    });
    const state = document.getElementById("key-state");
    state.hidden = !storedKey();
    document.getElementById("forget-key").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      location.reload();
    });
  }

  // --- calls -------------------------------------------------------------------------------------

  async function api(path, options) {
    const opts = options || {};
    const init = { method: opts.method || "GET", headers: headers(opts.headers), cache: "no-store" };
    if (opts.body !== undefined) {
      init.body = JSON.stringify(opts.body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(base + path, init);
    if (response.status === 401) {
      askForKey();
      throw new NeedKey();
    }
    if (response.status === 204) return null;
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // --- Server-Sent Events over fetch ------------------------------------------------------------

  // Reads one connection of an event stream; calls onEvent({id, type, data}) per event (data
  // parsed as JSON). Resolves "ended" when the service says there is nothing more (204),
  // "closed" when the stream ends.
  async function readStream(path, onEvent, signal, lastEventId, onOpen) {
    const extra = { Accept: "text/event-stream" };
    if (lastEventId) extra["Last-Event-ID"] = lastEventId;
    const response = await fetch(base + path, { headers: headers(extra), signal, cache: "no-store" });
    if (response.status === 401) {
      askForKey();
      throw new NeedKey();
    }
    if (response.status === 204) return "ended";
    if (!response.ok) {
      const type = response.headers.get("content-type") || "";
      throw new ApiError(response.status, type.includes("json") ? await response.json() : null);
    }
    if (onOpen) onOpen();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let event = { id: null, type: "message", data: [] };
    const line = (text) => {
      if (text === "") {
        if (event.data.length) {
          let data = event.data.join("\n");
          try {
            data = JSON.parse(data);
          } catch (e) {
            // not JSON: passed on as text
          }
          onEvent({ id: event.id, type: event.type, data });
        }
        event = { id: event.id, type: "message", data: [] };
        return;
      }
      if (text.startsWith(":")) return; // a comment: the keep-alive
      const colon = text.indexOf(":");
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? "" : text.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") event.data.push(value);
      else if (field === "event") event.type = value;
      else if (field === "id") event.id = value;
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        // a lone \r at the end may be the first half of \r\n: wait for more
        if (!match || (match[0] === "\r" && match.index === buffer.length - 1)) break;
        line(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    }
    return "closed";
  }

  // Follows an event stream across reconnects. options: path() → the path to (re)connect to,
  // onEvent(event), onStatus("live" | "reconnecting" | "ended"), stopAfter(event) → true to stop.
  // Returns {stop()}.
  function follow(options) {
    const controller = new AbortController();
    let lastId = null;
    let stopped = false;
    const status = (s) => options.onStatus && options.onStatus(s);
    (async () => {
      let delay = 500;
      while (!stopped) {
        let outcome;
        try {
          outcome = await readStream(
            options.path(),
            (event) => {
              if (event.id) lastId = event.id;
              delay = 500;
              options.onEvent(event);
              if (options.stopAfter && options.stopAfter(event)) {
                stopped = true;
                controller.abort();
              }
            },
            controller.signal,
            options.resume ? lastId : null,
            () => status("live"),
          );
        } catch (error) {
          if (stopped || error instanceof NeedKey) break;
          if (error instanceof ApiError && error.status < 500) {
            status("ended");
            if (options.onError) options.onError(error);
            return;
          }
          outcome = "error";
        }
        if (stopped || outcome === "ended") break;
        status("reconnecting");
        await sleep(delay);
        delay = Math.min(delay * 2, 10000);
      }
      status("ended");
    })();
    return {
      stop() {
        stopped = true;
        controller.abort();
      },
    };
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // --- elements ----------------------------------------------------------------------------------

  // el("a", {href, class, text, data: {job: id}, on: {click}}, ...children): strings become
  // text nodes, never HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else if (name === "data") Object.assign(node.dataset, value);
      else if (name === "on") for (const [kind, handler] of Object.entries(value)) node.addEventListener(kind, handler);
      else if (value === true) node.setAttribute(name, "");
      else node.setAttribute(name, String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // An SVG document from the service (drawn and escaped by it) as a node of this page; parsed as
  // XML, so nothing in it runs.
  function svgNode(text) {
    const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = parsed.documentElement;
    if (root.nodeName !== "svg") throw new Error("the drawing could not be read");
    for (const bad of root.querySelectorAll("script, foreignObject")) bad.remove();
    return document.importNode(root, true);
  }

  function badge(state) {
    return el("span", { class: "badge state-" + state, text: state });
  }

  function problemText(error) {
    if (error instanceof ApiError) {
      const problem = error.problem;
      const lines = [error.message];
      if (problem && Array.isArray(problem.problems)) {
        for (const p of problem.problems) lines.push("• " + (p.place ? p.place + ": " : "") + p.message);
      }
      return lines.join("\n");
    }
    return String(error && error.message ? error.message : error);
  }

  function showProblem(node, error) {
    if (error instanceof NeedKey) return;
    node.textContent = problemText(error);
    node.hidden = false;
  }

  // --- formatting --------------------------------------------------------------------------------

  function duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
    if (seconds < 1) return Math.max(0, Math.round(seconds * 1000)) + " ms";
    if (seconds < 60) return seconds.toFixed(seconds < 10 ? 2 : 1) + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function clock(epoch) {
    if (!epoch) return "—";
    const when = new Date(epoch * 1000);
    const today = new Date().toDateString() === when.toDateString();
    const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    return today ? time : when.toLocaleDateString() + " " + time;
  }

  function ago(epoch) {
    const seconds = Date.now() / 1000 - epoch;
    if (seconds < 5) return "just now";
    if (seconds < 60) return Math.floor(seconds) + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return new Date(epoch * 1000).toLocaleDateString();
  }

  function iso(epoch) {
    return epoch ? new Date(epoch * 1000).toISOString() : "";
  }

  // "/abs/graphs/flow.csv::Hello" → {name: "Hello", file: "flow.csv", full}
  function graphLabel(graph) {
    const at = graph.lastIndexOf("::");
    const file = at < 0 ? graph : graph.slice(0, at);
    const name = at < 0 ? "" : graph.slice(at + 2);
    return { name: name || file.split("/").pop(), file: file.split("/").pop(), full: graph };
  }

  function jobDuration(job) {
    if (!job.started_at) return null;
    const end = job.finished_at || (job.state === "running" ? Date.now() / 1000 : job.updated_at);
    return Math.max(0, end - job.started_at);
  }

  function number(n) {
    return Number(n || 0).toLocaleString();
  }

  function tokens(usage) {
    if (!usage) return "";
    return number((usage.prompt_tokens || 0) + (usage.completion_tokens || 0));
  }

  function money(cost) {
    if (cost === null || cost === undefined) return "—";
    return "$" + Number(cost).toFixed(cost < 0.01 ? 5 : 4);
  }

  function json(value) {
    return JSON.stringify(value, null, 2);
  }

  // a path segment for each part of a file in the graphs folder
  function filePath(file) {
    return file.split("/").map(encodeURIComponent).join("/");
  }

  setUpKeyDialog();

  return {
    base,
    api,
    follow,
    el,
    append,
    svgNode,
    badge,
    showProblem,
    problemText,
    ApiError,
    NeedKey,
    duration,
    clock,
    ago,
    iso,
    graphLabel,
    jobDuration,
    tokens,
    number,
    money,
    json,
    filePath,
    ENDED: new Set(["completed", "failed", "cancelled"]),
  };
})();
