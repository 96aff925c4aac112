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
from starlette.routing import Match

from agentmap.exceptions import (
    AgentMapError,
    GraphFileError,
    GraphRegistrationError,
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
    (GraphRegistrationError, 409, "version-conflict"),
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


def install_errors(app: FastAPI) -> None:
    """Answer agentmap's errors with problem details."""

    @app.exception_handler(AgentMapError)
    async def _agentmap(request: Request, error: AgentMapError) -> JSONResponse:
        return for_error(error)


def install(app: FastAPI) -> None:
    """Answer every error with problem details."""
    install_errors(app)

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
        if error.status_code == 400 and isinstance(error.__cause__, ValueError):
            # FastAPI's 400 for a body it can't even decode (not UTF-8): a bad body, so a 422
            # that names it and says what to send, as every other bad body gets
            message = "not JSON text in UTF-8 — send a JSON object, encoded in UTF-8"
            fields = [{"field": "body", "message": message}]
            return problem(422, "invalid-request", f"body: {message}", errors=fields)
        kind = {
            401: "unauthorized",
            404: "not-found",
            405: "method-not-allowed",
            413: "body-too-large",
        }.get(error.status_code, "http-error")
        detail = str(error.detail)
        allowed = _allowed(request) if error.status_code == 405 else []
        if allowed:
            methods = ", ".join(allowed)
            detail = f"{request.method} is not allowed at {request.url.path} — use {methods}"
        response = problem(error.status_code, kind, detail)
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
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


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed(request: Request) -> list[str]:
    """Every method some route takes at the request's path: the router's 405 names only those
    of the first route it matched (GET /jobs would hide POST /jobs). Each method is tried
    against the routes as the router would, so included routers are searched too."""
    return [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


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
