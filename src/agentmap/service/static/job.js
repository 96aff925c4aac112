// agentmap dashboard: one job — its graph with the path taken and the running node marked as
// events arrive (GET /jobs/{id}/events), node timings, errors, final state and token use
// (GET /jobs/{id}/results), the answer to a waiting step, cancel and run again.
"use strict";

(() => {
  const { api, el } = AM;
  const jobId = document.body.dataset.job;
  const path = "/jobs/" + encodeURIComponent(jobId);
  const $ = (id) => document.getElementById(id);

  let job = null; // GET /jobs/{id}
  let details = null; // GET /ui/api/jobs/{id}: questions asked, the body to run it again
  let results = null; // GET /jobs/{id}/results, once ended
  let svg = null;
  const runs = []; // one per node execution seen in the events: {node, attempt, at, status, ...}
  const events = [];
  let startedAt = null;

  $("back").href = AM.base + "/";
  $("crumb-id").textContent = jobId;
  document.title = `Job ${jobId.slice(0, 8)} · agentmap`;

  // --- the header ------------------------------------------------------------------------------

  function renderHead() {
    const graph = AM.graphLabel(job.graph);
    $("job-graph").textContent = graph.name;
    $("job-graph").title = graph.full;
    $("job-state").replaceWith(Object.assign(AM.badge(job.state), { id: "job-state" }));
    const duration = AM.jobDuration(job);
    const facts = [
      ["Job", el("span", { class: "mono", text: job.id }), "wide"],
      ["Graph file", details && details.graph ? details.graph.split("::")[0] : graph.file],
      job.name ? ["Name", job.name] : null,
      ["Tags", job.tags.length ? job.tags.map((tag) => el("span", { class: "tag", text: tag })) : "—"],
      ["Created", el("span", { title: AM.iso(job.created_at), text: AM.clock(job.created_at) })],
      ["Started", el("span", { title: AM.iso(job.started_at), text: AM.clock(job.started_at) })],
      ["Finished", el("span", { title: AM.iso(job.finished_at), text: AM.clock(job.finished_at) })],
      ["Duration", el("span", { id: "job-duration", text: duration === null ? "—" : AM.duration(duration) })],
      ["Attempt", (job.attempt ? String(job.attempt) : "not started") + (job.max_retries ? ` · ${job.max_retries} retries allowed` : "")],
      job.priority ? ["Priority", String(job.priority)] : null,
      job.worker ? ["Worker", job.worker] : null,
      job.next_attempt_at ? ["Next attempt", AM.clock(job.next_attempt_at)] : null,
    ].filter(Boolean);
    $("job-meta").replaceChildren(
      ...facts.map(([name, value, wide]) => el("div", { class: wide || null }, el("dt", { text: name }), el("dd", {}, value))),
    );
    const ended = AM.ENDED.has(job.state);
    $("cancel").hidden = ended;
    $("retry").hidden = !ended;
    $("retry").disabled = !(details && details.retry);
    $("retry").title = details && !details.retry ? "Its graph is outside the graphs folder: submit it from the command line" : "";
    const error = (results && results.error) || job.error;
    $("errors").hidden = !error;
    $("error-text").textContent = error || "";
    renderQuestions();
    paint();
  }

  setInterval(() => {
    if (job && job.state === "running") $("job-duration").textContent = AM.duration(AM.jobDuration(job));
  }, 1000);

  async function reload() {
    try {
      job = await api(path);
      if (job.state === "waiting" || !details) details = await api("/ui/api/jobs/" + encodeURIComponent(jobId));
      if (AM.ENDED.has(job.state) && !results) results = await api(path + "/results");
    } catch (error) {
      AM.showProblem($("job-action-problem"), error);
      return error;
    }
    renderHead();
    renderNodes();
    renderResults();
  }

  // --- answering a waiting step ---------------------------------------------------------------

  function renderQuestions() {
    const asked = job.state === "waiting" && details ? details.waiting : [];
    $("answer").hidden = !asked.length;
    if (!asked.length) return;
    const box = $("questions");
    if (box.dataset.shown === JSON.stringify(asked)) return; // keep what is being typed
    box.dataset.shown = JSON.stringify(asked);
    box.replaceChildren(...asked.map(question));
  }

  function question(asked) {
    const problem = el("p", { class: "problem", hidden: true });
    const send = async (answer, button) => {
      problem.hidden = true;
      button.disabled = true;
      try {
        await api(path + "/answer", { method: "POST", body: Object.assign({ node: asked.node }, answer) });
        $("answer").hidden = true;
        $("questions").dataset.shown = "";
        await reload();
      } catch (error) {
        AM.showProblem(problem, error);
      } finally {
        button.disabled = false;
      }
    };
    const parts = [el("div", { class: "node", text: "Node " + asked.node }), el("p", { class: "ask", text: asked.question })];
    if (asked.kind === "approval") {
      const approve = el("button", { type: "button", class: "approve", text: "Approve" });
      const reject = el("button", { type: "button", class: "reject", text: "Reject" });
      approve.addEventListener("click", () => send({ approve: true }, approve));
      reject.addEventListener("click", () => send({ approve: false }, reject));
      parts.push(el("div", { class: "buttons" }, approve, reject));
    } else if (asked.kind === "choice") {
      const name = "choice-" + asked.node;
      const choices = asked.options.map((option, index) =>
        el("label", {}, el("input", { type: "radio", name, value: String(index + 1), checked: index === 0 }), option),
      );
      const button = el("button", { type: "button", class: "primary", text: "Answer" });
      button.addEventListener("click", () => {
        const picked = choices.map((label) => label.querySelector("input")).find((input) => input.checked);
        send({ choice: Number(picked ? picked.value : 1) }, button);
      });
      parts.push(el("div", { class: "choices" }, choices), el("div", { class: "buttons" }, button));
    } else {
      const editing = asked.kind === "edit";
      const placeholder = { suspend: "a value to carry on with (optional)", conversation: "your message" }[asked.kind] || "your answer";
      const text = el("textarea", { rows: editing ? "8" : "3", "aria-label": "Answer", placeholder });
      if (editing) text.value = asked.draft || "";
      const label = { suspend: "Resume", edit: "Save", conversation: "Reply" }[asked.kind] || "Answer";
      const button = el("button", { type: "button", class: "primary", text: label });
      button.addEventListener("click", () => send({ value: text.value }, button));
      const buttons = el("div", { class: "buttons" }, button);
      if (asked.kind === "conversation") {
        const end = el("button", { type: "button", class: "reject", text: "End conversation" });
        end.addEventListener("click", () => send({ approve: false }, end));
        buttons.append(end);
      }
      parts.push(text, buttons);
    }
    if (asked.deadline) {
      const until = new Date(asked.deadline * 1000).toLocaleString();
      parts.push(el("p", { class: "deadline", text: "Answer by " + until + "; after that " + asked.on_timeout + "." }));
    }
    parts.push(problem);
    return el("div", { class: "question", data: { node: asked.node } }, parts);
  }

  // --- cancel, run again -------------------------------------------------------------------------

  const cancel = $("cancel");
  let armed = null;
  cancel.addEventListener("click", async () => {
    if (!armed) {
      cancel.textContent = "Confirm cancel";
      cancel.classList.add("armed");
      armed = setTimeout(disarm, 4000);
      return;
    }
    disarm();
    cancel.disabled = true;
    $("job-action-problem").hidden = true;
    try {
      job = await api(path + "/cancel", { method: "POST" });
      await reload();
    } catch (error) {
      AM.showProblem($("job-action-problem"), error);
    } finally {
      cancel.disabled = false;
    }
  });

  function disarm() {
    clearTimeout(armed);
    armed = null;
    cancel.textContent = "Cancel";
    cancel.classList.remove("armed");
  }

  $("retry").addEventListener("click", async () => {
    const button = $("retry");
    button.disabled = true;
    try {
      const made = await api("/jobs", { method: "POST", body: details.retry });
      location.href = `${AM.base}/ui/jobs/${encodeURIComponent(made.job.id)}`;
    } catch (error) {
      AM.showProblem($("job-action-problem"), error);
      button.disabled = false;
    }
  });

  // --- the graph -------------------------------------------------------------------------------

  async function loadGraph() {
    const box = $("graph");
    try {
      const text = await api("/ui/api/jobs/" + encodeURIComponent(jobId) + "/svg");
      svg = AM.svgNode(text);
      box.replaceChildren(svg);
      paint();
    } catch (error) {
      if (error instanceof AM.NeedKey) return;
      box.replaceChildren(el("p", { class: "problem", text: "The graph can't be drawn: " + AM.problemText(error) }));
    }
  }

  // Marks nodes as done, running, waiting, failed; and the arrows the run went along.
  function paint() {
    if (!svg) return;
    const last = new Map(); // node → its latest execution
    for (const run of runs) last.set(run.node, run);
    const waiting = new Set(job && job.state === "waiting" && details ? details.waiting.map((w) => w.node) : []);
    const ended = job && AM.ENDED.has(job.state);
    for (const g of svg.querySelectorAll("g.node")) {
      const run = last.get(g.dataset.node);
      let mark = run ? run.status : null;
      if (mark === "running" && waiting.has(g.dataset.node)) mark = "waiting";
      else if (mark === "running" && (ended || (job && job.state !== "running"))) mark = "stopped";
      if (!run && waiting.has(g.dataset.node)) mark = "waiting";
      for (const name of ["done", "running", "waiting", "failed", "stopped"]) g.classList.toggle(name, mark === name);
    }
    // an arrow was taken when its target started after its source finished
    for (const g of svg.querySelectorAll("g.edge[data-to]")) {
      const taken = runs.some(
        (to) => to.node === g.dataset.to && runs.some((from) => from.node === g.dataset.from && from.end !== null && from.end <= to.at + 1e-6),
      );
      g.classList.toggle("taken", taken);
    }
    svg.classList.toggle("ended", Boolean(ended));
  }

  // --- node timings ----------------------------------------------------------------------------

  function renderNodes() {
    const summary = results && results.summary && Array.isArray(results.summary.node_results) ? results.summary : null;
    const tbody = document.querySelector("#nodes tbody");
    let lines;
    if (summary && summary.node_results.length) {
      lines = summary.node_results.map((r) => ({
        node: r.node,
        status: r.success ? "done" : "failed",
        started: r.started,
        duration: r.duration,
        usage: r.usage,
        error: r.error,
        attempt: r.attempt || 1,
        inputs: r.inputs,
        output: r.output,
      }));
    } else {
      lines = runs.map((r) => ({ ...r, started: startedAt !== null ? r.at - startedAt : null }));
    }
    tbody.replaceChildren(...lines.map((line, index) => nodeRow(line, index + 1)));
    $("nodes-empty").hidden = lines.length > 0;
    renderUsage(summary);
  }

  const RESULT = { done: "✓ done", failed: "✗ failed", running: "running…", retrying: "retrying" };

  function nodeRow(line, number) {
    const waiting = job && job.state === "waiting" && details && details.waiting.some((w) => w.node === line.node);
    const status = line.status === "running" && waiting ? "waiting" : line.status === "running" && job && AM.ENDED.has(job.state) ? "stopped" : line.status;
    const label = { ...RESULT, waiting: "waiting for an answer", stopped: "stopped" }[status] || status;
    const extra = [];
    if (line.error) extra.push(el("span", { class: "error-text sub", text: line.error }));
    if (line.inputs !== undefined || line.output !== undefined) {
      const shown = {};
      if (line.inputs !== undefined) shown.inputs = line.inputs;
      if (line.output !== undefined) shown.output = line.output;
      extra.push(el("details", {}, el("summary", { text: "inputs / output" }), el("pre", { class: "json", text: AM.json(shown) })));
    }
    return el(
      "tr",
      { data: { node: line.node, status } },
      el("td", { class: "muted", text: String(number) }),
      el("td", {}, el("span", { class: "node-name", text: line.node }), line.attempt > 1 ? el("span", { class: "sub", text: "attempt " + line.attempt }) : null, extra),
      el("td", {}, el("span", { class: "result " + status, text: label })),
      el("td", { class: "num", text: line.started === null || line.started === undefined ? "—" : "+" + AM.duration(line.started) }),
      el("td", { class: "num", text: line.duration === null || line.duration === undefined ? "…" : AM.duration(line.duration) }),
      el("td", { class: "num", text: AM.tokens(line.usage) || "—", title: line.usage && line.usage.cost !== null && line.usage.cost !== undefined ? AM.money(line.usage.cost) : null }),
    );
  }

  function renderUsage(summary) {
    let usage = summary && summary.usage;
    if (!usage) {
      const used = runs.filter((r) => r.usage).map((r) => r.usage);
      if (used.length) {
        usage = used.reduce(
          (sum, u) => ({
            prompt_tokens: sum.prompt_tokens + (u.prompt_tokens || 0),
            completion_tokens: sum.completion_tokens + (u.completion_tokens || 0),
            cost: u.cost === null || u.cost === undefined ? sum.cost : (sum.cost || 0) + u.cost,
            model: sum.model === undefined || sum.model === u.model ? u.model : null,
          }),
          { prompt_tokens: 0, completion_tokens: 0, cost: null, model: undefined },
        );
      }
    }
    const box = $("usage");
    box.hidden = !usage;
    if (!usage) return;
    const fact = (name, value) => el("div", {}, el("strong", { text: value }), name);
    box.replaceChildren(
      fact("prompt tokens", AM.number(usage.prompt_tokens)),
      fact("completion tokens", AM.number(usage.completion_tokens)),
      fact("cost", AM.money(usage.cost)),
      usage.model ? fact("model", usage.model) : null,
    );
  }

  // --- final state -------------------------------------------------------------------------------

  function renderResults() {
    if (!results) return;
    $("state-card").hidden = false;
    $("final-state").textContent = AM.json(results.final_state);
  }

  // --- events ------------------------------------------------------------------------------------

  function onEvent(event) {
    const data = event.data || {};
    const kind = data.kind || event.type;
    events.push(data);
    logEvent(data, kind);
    if (kind === "job_started" && startedAt === null) startedAt = data.at;
    if (kind === "node_started") {
      runs.push({ node: data.node, attempt: data.attempt || 1, at: data.at, status: "running", end: null, duration: null });
    } else if (kind === "node_completed" || kind === "node_failed" || kind === "node_retrying") {
      const run = [...runs].reverse().find((r) => r.node === data.node && r.status === "running");
      if (run) {
        run.status = kind === "node_completed" ? "done" : kind === "node_failed" ? "failed" : "retrying";
        run.end = data.at;
        run.duration = data.duration !== undefined ? data.duration : data.at - run.at;
        if (data.usage) run.usage = data.usage;
        if (data.error) run.error = data.error;
      }
    }
    if (kind.startsWith("job_")) {
      scheduleReload();
    } else if (kind !== "output_chunk") {
      if (job && job.state !== "running" && kind === "node_started") job.state = "running";
      renderNodes();
      paint();
    }
  }

  let reloading = null;
  function scheduleReload() {
    if (reloading) return;
    reloading = setTimeout(async () => {
      reloading = null;
      await reload();
    }, 60);
  }

  function logEvent(data, kind) {
    const detail = [];
    if (data.duration !== undefined) detail.push(AM.duration(data.duration));
    if (data.state) detail.push(data.state);
    if (data.error) detail.push(data.error);
    if (data.text) detail.push(JSON.stringify(data.text));
    const item = el(
      "li",
      { data: { kind } },
      el("span", { class: "muted", text: "#" + (data.seq || "") }),
      el("span", { text: AM.clock(data.at) }),
      el("span", { class: "kind", text: kind }),
      el("span", { class: "detail" }, data.node ? el("strong", { text: data.node + " " }) : null, detail.join(" · ")),
    );
    const list = $("events");
    list.append(item);
    while (list.childElementCount > 500) list.firstElementChild.remove(); // the latest 500
    $("events-count").textContent = `(${events.length})`;
  }

  // --- start -------------------------------------------------------------------------------------

  (async () => {
    const failed = await reload();
    if (!job) {
      if (failed instanceof AM.NeedKey) return;
      $("job-graph").textContent = failed instanceof AM.ApiError && failed.status === 404 ? "No such job" : "Job";
      $("job-state").hidden = true;
      $("graph").replaceChildren(el("p", { class: "muted", text: "—" }));
      return;
    }
    loadGraph();
    AM.follow({
      path: () => path + "/events",
      resume: true,
      onEvent,
      stopAfter: (event) => (event.data && event.data.kind) === "job_finished",
      onError: (error) => AM.showProblem($("job-action-problem"), error),
    });
  })();
})();
