"""The error responses each route declares in the OpenAPI description, as problem details.

FastAPI documents only a route's success and, for routes with parameters, a 422 whose body is
its own ``{"detail": [...]}`` as ``application/json``. This service answers every error with
RFC 9457 problem details as ``application/problem+json`` (``problems.py``), so a client
generated from ``/openapi.json`` — or schemathesis checking the responses against it — would
be told the wrong shape. Routes declare ``responses=problem_responses(404, 422)`` instead; a
declared 422 also takes the place of FastAPI's own.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentmap.service.problems import MEDIA_TYPE


class FieldError(BaseModel):
    """One field of a request that was refused, and why."""

    field: str = Field(description="Where it is: body.inputs, query.limit, path.run_id ...")
    message: str


class PlacedProblem(BaseModel):
    """One problem of a graph, placed by file, row and spreadsheet cell."""

    message: str
    severity: str = Field(description="error or warning")
    file: str | None = None
    row: int | None = None
    cell: str | None = Field(default=None, description="The spreadsheet cell: E2")
    field: str | None = Field(default=None, description="The column: Success_Next")
    graph: str | None = None
    node: str | None = None


class ProblemDetails(BaseModel):
    """An error, as RFC 9457 problem details: ``detail`` is the message the CLI would print.
    Members beyond the standard four say where the problem is, when that is known."""

    model_config = ConfigDict(extra="allow")  # RFC 9457 lets a problem type add members

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(
        default=None, description="Each refused field of the request (422 invalid-request)"
    )
    problems: list[PlacedProblem] | None = Field(
        default=None, description="Every problem of an invalid graph, placed (422 invalid-graph)"
    )
    file: str | None = None
    row: int | None = None
    column: str | None = None
    graph: str | None = None
    node: str | None = None
    state: str | None = Field(default=None, description="The job's state, for a 409")


WHY: dict[int, str] = {
    401: "An API key is needed (Authorization: Bearer <key>), or the one sent is not accepted",
    404: "Nothing by that id or name",
    409: "Not allowed in the state it is in",
    413: "The request body is over server.max_body_bytes",
    422: "The request is not valid: the detail names the field and how to fix it",
    503: "The run store can't be reached",
}
"""What each error status means, as the OpenAPI description says it."""

_SCHEMA = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route (or router) that may answer with these error statuses."""
    schema = {key: value for key, value in _SCHEMA.items() if key != "$defs"}
    defs = _SCHEMA.get("$defs", {})
    answers: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        answers[status] = {
            "description": WHY[status],
            "content": {MEDIA_TYPE: {"schema": _inlined(schema, defs)}},
        }
        if status == 401:
            answers[status]["headers"] = {"WWW-Authenticate": CHALLENGE}
    return answers


CHALLENGE = {"description": "Bearer: the scheme a key is sent with", "schema": {"type": "string"}}


def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with its references to ``defs`` replaced by what they name: the responses
    are not models FastAPI knows, so nothing would put those definitions in the components."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return _inlined(defs[ref.rsplit("/", 1)[-1]], defs)
        return {key: _inlined(value, defs) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inlined(item, defs) for item in schema]
    return schema
