// agentmap dashboard: the graphs page — every graph of the graphs folder (GET /graphs), drawn
// (GET /ui/api/svg), with its validation problems placed by row and cell (GET /graphs/{file}).
"use strict";

(() => {
  const { api, el } = AM;
  const list = document.getElementById("graphs");

  async function start() {
    let listed;
    try {
      listed = (await api("/graphs")).graphs;
    } catch (error) {
      list.replaceChildren();
      AM.showProblem(document.getElementById("graphs-problem"), error);
      return;
    }
    if (!listed.length) {
      list.replaceChildren(el("p", { class: "empty card", text: "No graph files in the graphs folder." }));
      return;
    }
    list.replaceChildren(...listed.map(card));
  }

  function card(entry) {
    if (!entry.id) {
      // a file that could not be read at all
      return el(
        "section",
        { class: "card graph-card", data: { file: entry.file } },
        el("header", {}, el("h2", { text: entry.file }), el("span", { class: "badge invalid", text: "can't be read" })),
        el("p", { class: "problem", text: entry.error }),
      );
    }
    const drawing = el("div", { class: "graph-box" }, el("p", { class: "muted", text: "Drawing…" }));
    const problems = el("div", { class: "problems" }, el("p", { class: "muted", text: "Checking…" }));
    const section = el(
      "section",
      { class: "card graph-card", id: "graph-" + entry.id, data: { graph: entry.id } },
      el(
        "header",
        {},
        el("h2", { text: entry.graph }),
        el("span", { class: "file", text: entry.file }),
        el("span", { class: entry.valid ? "badge valid" : "badge invalid", text: entry.valid ? "valid" : `${entry.problems} problem${entry.problems === 1 ? "" : "s"}` }),
        el("span", { class: "facts", text: `${entry.nodes} node${entry.nodes === 1 ? "" : "s"} · entry ${entry.entry}` }),
        el("span", { class: "spacer" }),
        entry.valid ? el("a", { href: `${AM.base}/?submit=${encodeURIComponent(entry.id)}`, text: "Submit a job →" }) : null,
      ),
      el("div", { class: "graph-body" }, drawing, problems),
    );
    draw(entry, drawing);
    check(entry, problems);
    return section;
  }

  async function draw(entry, box) {
    const query = new URLSearchParams({ file: entry.file, graph: entry.graph });
    try {
      box.replaceChildren(AM.svgNode(await api("/ui/api/svg?" + query)));
    } catch (error) {
      if (!(error instanceof AM.NeedKey)) box.replaceChildren(el("p", { class: "problem", text: AM.problemText(error) }));
    }
  }

  async function check(entry, box) {
    let report;
    try {
      report = await api(`/graphs/${AM.filePath(entry.file)}?graph=${encodeURIComponent(entry.graph)}`);
    } catch (error) {
      if (!(error instanceof AM.NeedKey)) box.replaceChildren(el("p", { class: "problem", text: AM.problemText(error) }));
      return;
    }
    const mine = (p) => !p.graph || p.graph === entry.graph;
    const found = [
      ...report.errors.filter(mine).map((p) => ({ ...p, severity: "error" })),
      ...report.warnings.filter(mine).map((p) => ({ ...p, severity: "warning" })),
    ];
    const node = report.graphs[entry.graph];
    const described = node ? node.nodes.filter((n) => n.description) : [];
    const parts = [el("h3", { text: "Problems" })];
    if (!found.length) {
      parts.push(el("p", { class: "ok", text: "✓ No problems found." }));
    } else {
      parts.push(
        el(
          "table",
          { class: "table" },
          el("thead", {}, el("tr", {}, el("th", { text: "" }), el("th", { text: "Where" }), el("th", { text: "Problem" }))),
          el(
            "tbody",
            {},
            found.map((p) =>
              el(
                "tr",
                { class: "problem-row", data: { row: p.row === null ? "" : String(p.row), severity: p.severity } },
                el("td", { class: "sev-" + p.severity, text: p.severity }),
                el("td", { class: "where" }, where(p)),
                el("td", { text: p.message }),
              ),
            ),
          ),
        ),
      );
    }
    if (described.length) {
      parts.push(
        el("h3", { text: "Nodes", class: "nodes-head" }),
        el(
          "table",
          { class: "table" },
          el(
            "tbody",
            {},
            described.map((n) =>
              el("tr", {}, el("td", {}, el("span", { class: "node-name", text: n.name }), el("span", { class: "sub", text: n.agent_type })), el("td", { text: n.description })),
            ),
          ),
        ),
      );
    }
    box.replaceChildren(...parts);
  }

  function where(p) {
    const bits = [];
    if (p.row !== null && p.row !== undefined) bits.push("row " + p.row);
    if (p.cell) bits.push(p.cell);
    if (p.field) bits.push(p.field);
    if (!bits.length && p.node) bits.push(p.node);
    return bits.length ? bits.join(" · ") : "—";
  }

  start();
})();
