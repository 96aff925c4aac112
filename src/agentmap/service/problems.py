"""The service's one error map: every agentmap error a request can cause, as RFC 9457 problem
details with the same placed message the CLI prints, and the status that says whose fault it is.

A client never gets a 500 for what it sent: bad bodies are 422, unknown ids 404, a transition
that is not allowed 409, an unavailable store 503. Only a bug in agentmap is a 500, and its
response says so without the traceback (which goes to the log).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from agentmap.exceptions import (
    AgentMapError,
    GraphFileError,
    GraphSelectionError,
    GraphValidationError,
    JobNotFinishedError,
    JobStateError,
    RunNotFoundError,
    StoreError,
)

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[AgentMapError], int, str], ...] = (
    (RunNotFoundError, 404, "not-found"),  # and JobNotFoundError
    (GraphFileError, 404, "graph-not-found"),
    (GraphSelectionError, 404, "graph-not-found"),
    (JobNotFinishedError, 409, "not-finished"),
    (JobStateError, 409, "not-allowed"),
    (GraphValidationError, 422, "invalid-graph"),
    (StoreError, 503, "store-unavailable"),
    (AgentMapError, 422, "invalid-request"),
)


def problem(status: int, kind: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {
        "type": f"https://agentmap.dev/problems/{kind}",
        "title": kind.replace("-", " "),
    }
    body |= {"status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def for_error(error: AgentMapError) -> JSONResponse:
    """The response for an agentmap error."""
    status, kind = next((s, k) for kind_of, s, k in STATUS if isinstance(error, kind_of))
    extra: dict[str, Any] = {}
    if isinstance(error, GraphValidationError):
        extra["problems"] = [_placed(p) for p in error.problems]
    if isinstance(error, JobNotFinishedError):
        extra["state"] = error.state
    for key in ("file", "row", "column", "graph", "node"):
        value = getattr(error, key, None)
        if value is not None:
            extra[key] = value
    return problem(status, kind, error.message, **extra)


def install(app: FastAPI) -> None:
    """Answer every error with problem details."""

    @app.exception_handler(AgentMapError)
    async def _agentmap(request: Request, error: AgentMapError) -> JSONResponse:
        return for_error(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(part) for part in e["loc"]), "message": e["msg"]}
            for e in error.errors()
        ]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return problem(422, "invalid-request", detail, errors=fields)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        kind = {401: "unauthorized", 404: "not-found", 405: "method-not-allowed"}.get(
            error.status_code, "http-error"
        )
        response = problem(error.status_code, kind, str(error.detail))
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(Exception)
    async def _bug(request: Request, error: Exception) -> JSONResponse:
        logger.exception("internal error serving %s %s", request.method, request.url.path)
        return problem(
            500,
            "internal-error",
            f"internal error: {type(error).__name__} — this is a bug in agentmap; the server "
            "log has the traceback",
        )


def _placed(found: Any) -> dict[str, Any]:
    return {
        "message": found.message,
        "severity": found.severity,
        "file": found.file,
        "row": found.row,
        "cell": found.cell,
        "field": found.field,
        "graph": found.graph,
        "node": found.node,
    }
