// agentmap dashboard: the jobs page — a table kept live by GET /events, filters (status, graph,
// tag) passed to GET /jobs, paging with next_cursor, and a form that POSTs /jobs.
"use strict";

(() => {
  const { api, el, badge } = AM;
  const PAGE = 25;
  const tbody = document.querySelector("#jobs tbody");
  const empty = document.getElementById("jobs-empty");
  const listProblem = document.getElementById("jobs-problem");
  const more = document.getElementById("more");
  const filters = document.getElementById("filters");
  const live = document.getElementById("live");
  const rows = new Map(); // job id → {job, row}
  let cursor = null;
  let loading = 0;

  // --- filters (kept in the address, so a reload or a shared link keeps them) ----------------

  const params = new URLSearchParams(location.search);
  for (const name of ["status", "graph", "tag"]) {
    if (params.get(name)) filters.elements[name].value = params.get(name);
  }

  function current() {
    const wanted = {};
    for (const name of ["status", "graph", "tag"]) {
      const value = filters.elements[name].value.trim();
      if (value) wanted[name] = value;
    }
    return wanted;
  }

  function matches(job) {
    const wanted = current();
    if (wanted.status && job.state !== wanted.status) return false;
    if (wanted.tag && !job.tags.includes(wanted.tag)) return false;
    if (wanted.graph) {
      const at = job.graph.lastIndexOf("::");
      const file = at < 0 ? job.graph : job.graph.slice(0, at);
      const name = at < 0 ? "" : job.graph.slice(at + 2);
      if (wanted.graph !== name && wanted.graph !== file) return false;
    }
    return true;
  }

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams(current());
    history.replaceState(null, "", location.pathname + (query.toString() ? "?" + query : ""));
    load(true);
  });
  document.getElementById("clear-filters").addEventListener("click", () => {
    filters.reset();
    history.replaceState(null, "", location.pathname);
    load(true);
  });

  // --- the table -------------------------------------------------------------------------------

  async function load(first) {
    const token = ++loading;
    const query = new URLSearchParams(current());
    query.set("limit", String(PAGE));
    if (!first && cursor) query.set("cursor", cursor);
    listProblem.hidden = true;
    let page;
    try {
      page = await api("/jobs?" + query);
    } catch (error) {
      AM.showProblem(listProblem, error);
      return;
    }
    if (token !== loading) return; // a newer load started meanwhile
    if (first) {
      tbody.replaceChildren();
      rows.clear();
    }
    for (const job of page.jobs) put(job, false, true);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    empty.hidden = rows.size > 0;
  }

  more.addEventListener("click", () => load(false));

  function row(job) {
    const graph = AM.graphLabel(job.graph);
    const duration = AM.jobDuration(job);
    const nodes = liveNodes.has(job.id) ? [...liveNodes.get(job.id)] : job.running_nodes;
    const running = job.state === "running" && nodes.length
      ? el("span", { class: "running-nodes", text: "▸ " + nodes.join(", ") })
      : null;
    return el(
      "tr",
      { data: { job: job.id, state: job.state }, class: "job-row" },
      el(
        "td",
        {},
        el("a", { class: "mono", href: `${AM.base}/ui/jobs/${encodeURIComponent(job.id)}`, text: job.id.slice(0, 8), title: job.id }),
        job.name ? el("span", { class: "sub", text: job.name }) : null,
      ),
      el("td", { title: graph.full }, el("span", { class: "node-name", text: graph.name }), el("span", { class: "sub", text: graph.file })),
      el("td", {}, badge(job.state), running),
      el("td", {}, job.tags.map((tag) => el("span", { class: "tag", text: tag }))),
      el("td", { title: AM.iso(job.created_at), class: "created", data: { at: String(job.created_at) } }, AM.ago(job.created_at)),
      el("td", { class: "num duration" }, duration === null ? "—" : AM.duration(duration)),
    );
  }

  // Shows ``job``: replaces its row, or adds it where it belongs (newest first); ``paged``: it
  // comes with a page of the list, after the rows shown.
  function put(job, flash, paged) {
    const known = rows.get(job.id);
    const fresh = row(job);
    if (flash) fresh.classList.add("flash");
    if (known) {
      known.row.replaceWith(fresh);
    } else {
      const after = [...rows.values()].find((other) => other.job.created_at < job.created_at);
      if (paged) tbody.append(fresh);
      else if (after) tbody.insertBefore(fresh, after.row);
      else if (!cursor) tbody.append(fresh);
      else return; // older than this page: it will come with the next one
    }
    rows.set(job.id, { job, row: fresh });
    empty.hidden = true;
  }

  // --- live updates ----------------------------------------------------------------------------

  const pending = new Map();
  // the nodes running now, as the events tell (the job's running_nodes lag behind: its worker
  // reports them at each heartbeat)
  const liveNodes = new Map();

  function track(data) {
    const kind = data.kind;
    if (kind === "node_started") {
      if (!liveNodes.has(data.job_id)) liveNodes.set(data.job_id, new Set());
      liveNodes.get(data.job_id).add(data.node);
    } else if (kind === "node_completed" || kind === "node_failed") {
      if (liveNodes.has(data.job_id)) liveNodes.get(data.job_id).delete(data.node);
    } else if (kind && kind.startsWith("job_")) {
      liveNodes.delete(data.job_id);
    }
  }

  function refresh(jobId) {
    if (pending.has(jobId)) return;
    pending.set(
      jobId,
      setTimeout(async () => {
        pending.delete(jobId);
        try {
          const job = await api("/jobs/" + encodeURIComponent(jobId));
          if (rows.has(jobId) || matches(job)) put(job, false);
        } catch (error) {
          // gone or unreachable: the next event tries again
        }
      }, 120),
    );
  }

  let lastAt = null;
  AM.follow({
    path: () => "/events" + (lastAt ? "?since=" + encodeURIComponent(lastAt) : ""),
    onEvent(event) {
      const data = event.data || {};
      if (data.at) lastAt = data.at;
      if (!data.job_id) return;
      track(data);
      refresh(data.job_id);
    },
    onStatus(status) {
      live.textContent = status === "live" ? "live" : status === "reconnecting" ? "reconnecting…" : "not live";
      live.className = "live " + (status === "live" ? "on" : "off");
    },
  });

  // durations of running jobs and "… ago" move on by themselves
  setInterval(() => {
    for (const { job, row: tr } of rows.values()) {
      tr.querySelector(".created").textContent = AM.ago(job.created_at);
      if (job.state === "running") tr.querySelector(".duration").textContent = AM.duration(AM.jobDuration(job));
    }
  }, 1000);

  // --- submitting ------------------------------------------------------------------------------

  const form = document.getElementById("submit");
  const submitProblem = document.getElementById("submit-problem");
  const graphSelect = document.getElementById("submit-graph");

  async function loadGraphs() {
    let listed;
    try {
      listed = (await api("/graphs")).graphs;
    } catch (error) {
      AM.showProblem(submitProblem, error);
      return;
    }
    const wanted = params.get("submit");
    const names = new Set();
    graphSelect.replaceChildren(
      ...listed
        .filter((graph) => graph.id)
        .map((graph) => {
          names.add(graph.graph);
          const label = graph.valid ? graph.id : `${graph.id} (has problems)`;
          return el("option", { value: graph.id, text: label, disabled: !graph.valid, selected: graph.id === wanted });
        }),
    );
    if (!listed.some((graph) => graph.id)) {
      graphSelect.append(el("option", { value: "", text: "no graphs in the graphs folder", disabled: true }));
    }
    document.getElementById("graph-names").replaceChildren(...[...names].map((name) => el("option", { value: name })));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submitProblem.hidden = true;
    const fields = form.elements;
    let inputs;
    try {
      inputs = JSON.parse(fields.inputs.value.trim() || "{}");
    } catch (error) {
      AM.showProblem(submitProblem, "Inputs: not JSON — " + error.message);
      return;
    }
    if (inputs === null || typeof inputs !== "object" || Array.isArray(inputs)) {
      AM.showProblem(submitProblem, 'Inputs: give a JSON object, e.g. {"input": "hi"}');
      return;
    }
    const body = {
      graph: fields.graph.value,
      inputs,
      tags: fields.tags.value.split(/[\s,]+/).filter(Boolean),
      priority: Number.parseInt(fields.priority.value || "0", 10) || 0,
    };
    if (fields.max_retries.value !== "") body.max_retries = Number.parseInt(fields.max_retries.value, 10);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const made = await api("/jobs", { method: "POST", body });
      if (matches(made.job)) put(made.job, true);
      refresh(made.job.id);
    } catch (error) {
      AM.showProblem(submitProblem, error);
    } finally {
      button.disabled = false;
    }
  });

  load(true);
  loadGraphs();
})();
