"""The web dashboard ``agentmap serve`` shows at ``/``: jobs (live), one job, and the graphs.

The pages are HTML shells holding no data (so they need no API key): their scripts, in
``static/``, fetch everything from the JSON API with the key the person gives, kept in the
tab's ``sessionStorage``. Besides the pages and their files this router has three routes of
its own, behind the API key like the rest of the API:

- ``GET /ui/api/jobs/{id}`` — what the job page needs that the job's status doesn't carry: the
  questions a waiting job asks, and the body of ``POST /jobs`` that runs it again;
- ``GET /ui/api/jobs/{id}/svg`` — the job's graph drawn as SVG (``agentmap.graph.svg``);
- ``GET /ui/api/svg?file=&graph=`` — a graph of the graphs folder drawn as SVG.

Every page is sent with a Content-Security-Policy allowing only this server's own scripts,
styles and connections: no inline script, nothing from another site.
"""

from __future__ import annotations

from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from agentmap._version import __version__
from agentmap.api import validate_graph
from agentmap.exceptions import GraphSelectionError
from agentmap.graph.loader import split_source
from agentmap.graph.model import Graph
from agentmap.graph.svg import to_svg
from agentmap.service.routes import Service, authorized, service

STATIC = Path(__file__).parent / "static"
"""The dashboard's scripts, styles and icon."""

MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

SVG_TYPE = "image/svg+xml"

dashboard_router = APIRouter(tags=["dashboard"], include_in_schema=False)


# --- pages ------------------------------------------------------------------------------------


@dashboard_router.get("/", response_class=HTMLResponse)
def jobs_page(request: Request) -> HTMLResponse:
    """Jobs: a live table, filters, and a form to submit one."""
    return _page(_base(request, "/"), "jobs", "Jobs", _JOBS_BODY)


@dashboard_router.get("/ui", response_class=RedirectResponse)
def ui_root(request: Request) -> RedirectResponse:
    """``/ui`` is the jobs page."""
    return RedirectResponse(f"{_base(request, '/ui')}/", status_code=307)


@dashboard_router.get("/ui/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request) -> HTMLResponse:
    """One job: its graph with the path it takes, timings, state, answer, cancel, retry."""
    return _page(_base(request, "/ui/jobs/"), "job", "Job", _JOB_BODY, job=job_id)


@dashboard_router.get("/ui/graphs", response_class=HTMLResponse)
def graphs_page(request: Request) -> HTMLResponse:
    """Every graph of the graphs folder, drawn, with its problems."""
    return _page(_base(request, "/ui/graphs"), "graphs", "Graphs", _GRAPHS_BODY)


@dashboard_router.get("/ui/static/{name}")
def static_file(name: str) -> Response:
    """One of the dashboard's own files (nothing else can be named)."""
    path = _assets().get(name)
    if path is None:
        return Response(status_code=404)
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[path.suffix],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


# --- data the pages need beyond the JSON API ---------------------------------------------------


@dashboard_router.get("/ui/api/jobs/{job_id}", dependencies=[Depends(authorized)])
def job_details(job_id: str, request: Request) -> dict[str, Any]:
    """The questions a waiting job asks (``node``, ``question``, ``kind``, ``options``), its
    graph as the graphs folder names it (``None`` outside it), and the ``POST /jobs`` body
    that runs it again (``None`` when its graph is outside the graphs folder)."""
    here = service(request)
    table = here.jobs
    job = table.get(job_id, full=True)
    waiting = here.host().queue.questions(job.id)
    source = _source(here, job.graph_file, job.graph_name)
    again: dict[str, Any] = {
        "inputs": job.inputs or {},
        "tags": list(job.tags),
        "priority": job.priority,
        "max_retries": job.max_retries,
        "retry_policy": job.retry_policy,
        "name": job.name,
    }
    if job.graph_id is not None:  # a registered graph: the same version of it
        again |= {"graph": job.graph_id, "version": job.graph_version}
    elif source is not None:
        again["graph"] = source
    retry = again if "graph" in again else None
    return {"id": job.id, "graph": source, "waiting": waiting, "retry": retry}


@dashboard_router.get("/ui/api/jobs/{job_id}/svg", dependencies=[Depends(authorized)])
def job_svg(job_id: str, request: Request) -> Response:
    """The job's graph as SVG (as its file reads now)."""
    here = service(request)
    job = here.jobs.get(job_id)
    graph = _graph(here, job.graph_file, job.graph_name)
    return Response(to_svg(graph, id_prefix=f"job-{job.id[:8]}"), media_type=SVG_TYPE)


@dashboard_router.get("/ui/api/svg", dependencies=[Depends(authorized)])
def graph_svg(request: Request, file: str, graph: str | None = None) -> Response:
    """A graph of the graphs folder (``file``, and ``graph`` when the file holds several) as
    SVG; drawn even when it has problems, so they can be seen in place."""
    here = service(request)
    path, name = split_source(here.graph_path(f"{file}::{graph}" if graph else file))
    found = _graph(here, str(path), name)
    prefix = "g-" + "".join(c if c.isalnum() else "-" for c in f"{file}-{found.name}")
    return Response(to_svg(found, id_prefix=prefix), media_type=SVG_TYPE)


def _graph(here: Service, file: str, name: str | None) -> Graph:
    """Graph ``name`` of ``file`` (the only one when ``name`` is None), problems and all."""
    graphs = validate_graph(file, name, config=here.settings).file.graphs
    if name is None and len(graphs) == 1:
        return next(iter(graphs.values()))
    if name is not None and name in graphs:
        return graphs[name]
    raise GraphSelectionError(
        f"{Path(file).name} holds {len(graphs)} graphs ({', '.join(graphs)}) — say which "
        "with ?graph=",
        file=Path(file).name,
    )


def _source(here: Service, file: str, name: str | None) -> str | None:
    """``flow.csv::Main`` for a graph in the graphs folder, else None."""
    try:
        relative = Path(file).resolve().relative_to(here.graphs).as_posix()
    except ValueError:
        return None
    return f"{relative}::{name}" if name else relative


# --- the HTML shells ---------------------------------------------------------------------------


@cache
def _assets() -> dict[str, Path]:
    return {p.name: p for p in STATIC.iterdir() if p.is_file() and p.suffix in MEDIA_TYPES}


def _base(request: Request, tail: str) -> str:
    """Where the dashboard is ('' at the root): the request's path up to ``tail``, the part a
    page's own route matched — so links work mounted in another app (``app.mount``) and under
    a prefix (``install(app, prefix=...)``) too."""
    path = str(request.scope.get("path", ""))
    at = path.rfind(tail)
    return path[:at].rstrip("/") if at >= 0 else ""


_NAV = (("jobs", "Jobs", "/"), ("graphs", "Graphs", "/ui/graphs"))


def _page(where: str, page: str, title: str, body: str, job: str | None = None) -> HTMLResponse:
    """A page's HTML: the top bar, ``body``, the API key dialog, and its scripts (``where``:
    the dashboard's base path)."""
    base = escape(where, quote=True)
    version = escape(__version__, quote=True)
    current = "jobs" if page == "job" else page
    active = ' class="active" aria-current="page"'
    nav = "".join(
        f'<a href="{base}{href}"{active if name == current else ""}>{label}</a>'
        for name, label, href in _NAV
    )
    job_attr = f' data-job="{escape(job, quote=True)}"' if job is not None else ""
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · agentmap</title>
<link rel="icon" href="{base}/ui/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{base}/ui/static/dashboard.css?v={version}">
</head>
<body data-page="{page}" data-base="{base}"{job_attr}>
<header class="topbar">
  <a class="brand" href="{base}/"><img src="{base}/ui/static/favicon.svg" alt="" width="22"
    height="22"><span>agentmap</span></a>
  <nav>{nav}<a href="{base}/docs">API</a></nav>
  <span class="spacer"></span>
  <span id="key-state" class="key-state" hidden>API key set ·
    <button type="button" id="forget-key" class="link">forget</button></span>
  <span class="version">v{version}</span>
</header>
<main id="main">
{body}
</main>
<div id="key-dialog" class="overlay" hidden>
  <form id="key-form" class="dialog" autocomplete="off">
    <h2>API key needed</h2>
    <p>This service needs an API key. It is kept in this browser tab only (session storage)
      and sent as <code>Authorization: Bearer</code> with each request.</p>
    <p id="key-problem" class="problem" hidden></p>
    <label for="key-input">API key</label>
    <input id="key-input" name="key" type="password" required spellcheck="false">
    <div class="actions"><button type="submit" class="primary">Use this key</button></div>
  </form>
</div>
<script src="{base}/ui/static/common.js?v={version}"></script>
<script src="{base}/ui/static/{page}.js?v={version}"></script>
</body>
</html>
"""
    return HTMLResponse(html, headers=SECURITY_HEADERS)


_JOBS_BODY = """
<div class="page-head">
  <h1>Jobs</h1>
  <span id="live" class="live" title="Updates as jobs' events arrive">connecting…</span>
</div>
<div class="layout">
  <section class="main-col">
    <form id="filters" class="filters card">
      <label>Status
        <select name="status">
          <option value="">any</option>
          <option>queued</option><option>running</option><option>waiting</option>
          <option>retrying</option><option>completed</option><option>failed</option>
          <option>cancelled</option>
        </select>
      </label>
      <label>Graph <input name="graph" list="graph-names" placeholder="graph name"></label>
      <label>Tag <input name="tag" placeholder="tag"></label>
      <button type="submit">Filter</button>
      <button type="button" id="clear-filters" class="link">clear</button>
    </form>
    <div class="card table-card">
      <table id="jobs" class="table">
        <thead><tr><th>Job</th><th>Graph</th><th>State</th><th>Tags</th><th>Created</th>
          <th class="num">Duration</th></tr></thead>
        <tbody></tbody>
      </table>
      <p id="jobs-empty" class="empty" hidden>No jobs yet — submit one.</p>
      <p id="jobs-problem" class="problem" hidden></p>
      <div class="pager"><button type="button" id="more" hidden>Load more</button></div>
    </div>
  </section>
  <aside class="side-col">
    <form id="submit" class="card submit">
      <h2>Submit a job</h2>
      <label for="submit-graph">Graph</label>
      <select id="submit-graph" name="graph" required></select>
      <label for="submit-inputs">Inputs <span class="hint">JSON object</span></label>
      <textarea id="submit-inputs" name="inputs" rows="6" spellcheck="false">{}</textarea>
      <label for="submit-tags">Tags <span class="hint">comma-separated</span></label>
      <input id="submit-tags" name="tags" placeholder="e.g. nightly, web">
      <div class="row">
        <label>Priority <input name="priority" type="number" value="0" step="1"></label>
        <label>Retries <input name="max_retries" type="number" min="0" step="1"
          placeholder="0"></label>
      </div>
      <p id="submit-problem" class="problem" hidden></p>
      <button type="submit" class="primary">Submit</button>
    </form>
  </aside>
</div>
<datalist id="graph-names"></datalist>
"""

_JOB_BODY = """
<p class="crumbs"><a id="back" href="">Jobs</a> / <span id="crumb-id"></span></p>
<section class="card job-head">
  <div class="job-title">
    <h1 id="job-graph">Job</h1>
    <span id="job-state" class="badge">…</span>
    <span class="spacer"></span>
    <button type="button" id="cancel" class="danger" hidden>Cancel</button>
    <button type="button" id="retry" hidden>Run again</button>
  </div>
  <dl id="job-meta" class="meta"></dl>
  <p id="job-action-problem" class="problem" hidden></p>
</section>
<section id="answer" class="card attention" hidden>
  <h2>Waiting for an answer</h2>
  <div id="questions"></div>
</section>
<section id="errors" class="card error-card" hidden>
  <h2>Error</h2>
  <pre id="error-text"></pre>
</section>
<div class="layout job-layout">
  <section class="card drawing-card">
    <div class="card-head">
      <h2>Graph</h2>
      <span class="legend">
        <span class="key done">done</span><span class="key running">running</span>
        <span class="key waiting">waiting</span><span class="key failed">failed</span>
      </span>
    </div>
    <div id="graph" class="graph-box"><p class="muted">Loading…</p></div>
  </section>
  <section class="card">
    <h2>Nodes</h2>
    <table id="nodes" class="table">
      <thead><tr><th>#</th><th>Node</th><th>Result</th><th class="num">Started</th>
        <th class="num">Duration</th><th class="num">Tokens</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="nodes-empty" class="empty">No node has run yet.</p>
    <div id="usage" class="usage" hidden></div>
  </section>
</div>
<section id="state-card" class="card" hidden>
  <h2>Final state</h2>
  <pre id="final-state" class="json"></pre>
</section>
<section class="card">
  <details id="events-box">
    <summary><h2>Events</h2> <span id="events-count" class="muted"></span></summary>
    <ol id="events" class="events"></ol>
  </details>
</section>
"""

_GRAPHS_BODY = """
<div class="page-head">
  <h1>Graphs</h1>
  <span class="muted">Every graph in the graphs folder, drawn, with the problems validation
    finds (placed by row and cell).</span>
</div>
<p id="graphs-problem" class="problem" hidden></p>
<div id="graphs" class="graphs"><p class="muted">Loading…</p></div>
"""
