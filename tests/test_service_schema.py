"""Every route of a real `agentmap serve`, driven by schemathesis from its own /openapi.json:
generated requests — valid and not — never get a 500, and every answer is one the description
documents (status code, content type, body schema, headers).

Each operation gets a fixed number of generated requests of each kind, from a fixed seed, so a
run is repeatable and takes seconds. The cases come from schemathesis' strategies driven by
Hypothesis directly (``APIOperation.as_strategy``): its pytest plugin reads node ids that
pytest 9 no longer has.

The event streams (GET /events, GET /jobs/{id}/events) are left out: they stream until their
job ends or the client leaves, so a generated call would only wait out its timeout; their
answers are tested in test_job_events.py.
"""

from __future__ import annotations

from pathlib import Path

import httpx2
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.errors import FailureGroup

from test_service import Server, server, service_project

__all__ = ["server", "service_project"]  # the fixtures, used by name

STREAMS = ["/events", "/jobs/{job_id}/events"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES = 15
"""Generated requests per operation and kind (valid, invalid)."""

GENERATED = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same requests on every run
    database=None,  # nothing written into the repository (or anywhere)
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_every_route_answers_generated_requests_as_its_description_says(
    server: Server, tmp_path: Path
) -> None:
    config = schemathesis.Config.from_dict(
        {"request-timeout": 10, "cache": {"enabled": False, "directory": str(tmp_path)}}
    )
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)
    operations = [result.ok() for result in schema.exclude(method="GET", path=STREAMS)
                  .get_all_operations()]  # fmt: skip
    assert len(operations) >= 15, [operation.label for operation in operations]

    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @GENERATED
            @given(case=operation.as_strategy(mode))
            def answered_as_described(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=CHECKS)

            try:
                answered_as_described()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label
                continue  # every request it can be sent is valid: nothing invalid to send
            except (Exception, FailureGroup) as failure:  # every operation's, together
                failures.append(f"{operation.label} ({mode}):\n{failure}")

    assert not failures, "\n\n".join(failures)


def test_odd_input_schemathesis_found_is_a_problem_naming_the_field_never_a_500(
    server: Server,
) -> None:
    raw = {"content-type": "application/json"}
    answers = [
        # a NUL character names no file: the OS refused to look it up (500)
        (server.post("/jobs", json={"graph": "flow\u0000.csv"}), 404, "holds a NUL character"),
        (server.get("/graphs/flow%00.csv"), 404, "holds a NUL character"),
        # numbers the store's 32-bit columns can't hold: the insert overflowed (500)
        (server.post("/jobs", json={"graph": "flow.csv::Hello", "priority": 2**40}), 422,
         "body.priority"),
        (server.post("/jobs", json={"graph": "flow.csv::Hello", "max_retries": 2**40}), 422,
         "body.max_retries"),
        (server.post("/jobs", json={"graph": "flow.csv::Hello",
                                    "retry_policy": {"type": "fixed", "max_retries": 2**40}}),
         422, "body.retry_policy: max_retries must be at most 2147483647"),
        # a lone surrogate is valid JSON but not Unicode: the job was recorded, then every
        # response that had to write its state out failed (500)
        (server.post("/jobs", content=b'{"graph": "flow.csv::Hello", "inputs": {"a": ["\\ud800"]}}',
                     headers=raw), 422, "body.inputs.a: text at [0] is not Unicode"),
        (server.post("/jobs/0badc0de/answer", content=b'{"value": {"x": "\\udc00"}}',
                     headers=raw), 422, "body.value: text at x is not Unicode"),
        # a body that isn't UTF-8 at all: a bare 400 saying only "error parsing the body"
        (server.post("/jobs", content=b'{"graph": "\xff"}', headers=raw), 422,
         "body: not JSON text in UTF-8"),
        # posted text no reader can open: a 404 naming a temporary file the client never saw
        (server.post("/graphs/validate", json={"text": "\u0000\n"}), 422, "body.text"),
    ]  # fmt: skip

    for answer, status, words in answers:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert words in answer.json()["detail"], answer.json()
        assert "agentmap-validate-" not in answer.text


def test_a_method_a_path_does_not_take_is_a_405_naming_every_method_it_does(
    server: Server,
) -> None:
    for method, path, allowed in (
        ("DELETE", "/jobs", "GET, POST"),
        ("PUT", "/graphs/validate", "GET, POST"),  # GET: a graph file named validate
        ("POST", "/runs/stats", "GET"),
    ):
        answer = httpx2.request(method, server.url + path, timeout=30)

        assert answer.status_code == 405 and answer.headers["allow"] == allowed, answer.headers
        assert answer.json()["detail"] == f"{method} is not allowed at {path} — use {allowed}"


def test_an_empty_query_value_is_as_good_as_none(server: Server) -> None:
    made = server.post("/jobs", json={"graph": "flow.csv::Hello", "inputs": {"input": "e"}})
    job_id = made.json()["job"]["id"]

    jobs = server.get("/jobs", params={"cursor": "", "graph": "", "tag": ""})
    runs = server.get("/runs", params={"graph": ""})

    assert jobs.status_code == 200 and [job["id"] for job in jobs.json()["jobs"]] == [job_id]
    assert runs.status_code == 200 and server.get("/runs/stats", params={"graph": ""}).is_success
