"""Every foreign error agentmap meets becomes one of its own (the tree in ``exceptions.py``).

One row per known foreign error. The error is real — a bad query on a real SQLite file, a real
bad config, real bad YAML, an SDK error built from an HTTP response as the SDKs' own tests build
them — and goes through agentmap's one translation at that boundary. What comes out must be of
the right class of the tree, name the place, hold no pydantic "Value error, ", and, where the
boundary raises, chain the foreign error as its cause (``raise ... from exc``).
"""

from __future__ import annotations

import ast
import contextlib
import csv
import importlib
import json
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import anthropic
import httpx2
import openai
import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from agentmap import Graph, Node, RetryPolicy, load_graph
from agentmap.agents.base import Pause
from agentmap.agents.human import answer_value
from agentmap.cli.app import app
from agentmap.cli.errors import ExitCode, exit_code_for
from agentmap.cli.run import parse_state
from agentmap.config import load_settings, settings_from_dict
from agentmap.exceptions import (
    AgentError,
    AgentMapError,
    AnswerError,
    ConfigError,
    GraphError,
    GraphFileError,
    GraphRegistrationError,
    GraphSelectionError,
    GraphValidationError,
    JobError,
    JobFailedError,
    JobNotFinishedError,
    JobNotFoundError,
    JobStateError,
    ResumeError,
    RetryPolicyError,
    RunCancelled,
    RunError,
    RunNotFoundError,
    StateError,
    StoreError,
)
from agentmap.graph.csv_reader import read_csv_rows
from agentmap.llm.cassette import CassetteMiss, load_cassette
from agentmap.llm.client import translate
from agentmap.llm.errors import LLMError, TransientLLMError
from agentmap.llm.providers import Provider
from agentmap.prompts import PromptCatalog
from agentmap.state import StateAdapterService
from agentmap.store.database import is_missing_table
from agentmap.store.runstore import RunStore

SRC = Path(__file__).resolve().parent.parent / "src" / "agentmap"


class Case(NamedTuple):
    """What ``make`` (run in a fresh project folder) raises — or, for the SDKs, is given."""

    make: Callable[[Path], BaseException]
    expected: type[AgentMapError]
    cause: str | None  # the foreign error's class, chained as ``__cause__``; None: not chained
    place: str  # what the message must name (``{tmp}`` stands for the folder)
    says: str  # the words that tell this failure from the others


def raised(call: Callable[[], object]) -> BaseException:
    """What ``call`` raises (and a failed test if it raises nothing)."""
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")


def write(tmp: Path, name: str, data: str | bytes) -> Path:
    path = tmp / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


# --- the run store: sqlite3, SQLAlchemy with psycopg, and the JSON it holds -------------------


def in_store(fail: Callable[[Path], object]) -> Callable[[Path], BaseException]:
    """What ``fail`` raises inside the store's translation, as every store call runs."""

    def make(tmp: Path) -> BaseException:
        with RunStore.open(f"sqlite:///{tmp / 'runs.db'}") as store:

            def call() -> None:
                with store.translated_errors():
                    fail(tmp)

            return raised(call)

    return make


def query(database: Path | str, sql: str, **connect: Any) -> None:
    """Run ``sql`` on a connection of its own, closed whatever happens."""
    with contextlib.closing(sqlite3.connect(database, **connect)) as connection:
        connection.execute(sql)


def no_such_table(tmp: Path) -> None:
    query(tmp / "other.db", "SELECT * FROM nope")


def not_a_database(tmp: Path) -> None:
    write(tmp, "noise.db", random.Random(7).randbytes(16384))
    query(tmp / "noise.db", "SELECT * FROM sqlite_master")


def locked(tmp: Path) -> None:
    with contextlib.closing(sqlite3.connect(tmp / "busy.db", isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        query(tmp / "busy.db", "BEGIN IMMEDIATE", isolation_level=None, timeout=0)


def a_folder(tmp: Path) -> None:
    (tmp / "folder.db").mkdir()
    query(tmp / "folder.db", "SELECT 1 FROM sqlite_master")


def read_only(tmp: Path) -> None:
    query(tmp / "ro.db", "CREATE TABLE t (x)")
    query(f"file:{tmp / 'ro.db'}?mode=ro", "CREATE TABLE u (x)", uri=True)


def closed(tmp: Path) -> None:
    connection = sqlite3.connect(tmp / "closed.db")
    connection.close()
    connection.execute("SELECT 1")


def refused(tmp: Path) -> None:
    pytest.importorskip("psycopg")
    import sqlalchemy as sa

    sa.create_engine("postgresql+psycopg://u:p@127.0.0.1:1/db", poolclass=sa.NullPool).connect()


def server_error(sqlstate: str, message: str) -> Callable[[Path], None]:
    """A driver error as SQLAlchemy hands it on: in its DBAPIError, with ``.orig`` inside."""

    def fail(tmp: Path) -> None:
        psycopg = pytest.importorskip("psycopg")
        import sqlalchemy as sa

        wrapper = sa.exc.ProgrammingError if sqlstate == "42P01" else sa.exc.OperationalError
        raise wrapper("SELECT 1", {}, psycopg.errors.lookup(sqlstate)(message))

    return fail


def damaged_record(tmp: Path) -> None:
    json.loads('{"input": "hi"')  # what reading a run whose stored state was cut short meets


STORE = "{tmp}/runs.db"
STORE_CASES = {
    "sqlite-no-such-table": Case(
        in_store(no_such_table),
        StoreError,
        "sqlite3.OperationalError",
        STORE,
        "failed: no such table: nope",
    ),
    "sqlite-not-a-database": Case(
        in_store(not_a_database),
        StoreError,
        "sqlite3.DatabaseError",
        STORE,
        "is not a readable agentmap run store (file is not a database) — it was left as it is",
    ),
    "sqlite-busy": Case(
        in_store(locked),
        StoreError,
        "sqlite3.OperationalError",
        STORE,
        "stayed locked for 30s (database is locked) — another process holds it",
    ),
    "sqlite-cant-open": Case(
        in_store(a_folder),
        StoreError,
        "sqlite3.OperationalError",
        STORE,
        "can't open the run store",
    ),
    "sqlite-read-only": Case(
        in_store(read_only),
        StoreError,
        "sqlite3.OperationalError",
        STORE,
        "can't open the run store",
    ),
    "sqlite-no-error-code": Case(
        in_store(closed),
        StoreError,
        "sqlite3.ProgrammingError",
        STORE,
        "failed: Cannot operate on a closed database.",
    ),
    "sqlalchemy-connection-refused": Case(
        in_store(refused),
        StoreError,
        "sqlalchemy.exc.OperationalError",
        STORE,
        "can't use the run store",
    ),
    "psycopg-undefined-table": Case(
        in_store(server_error("42P01", 'relation "x" does not exist')),
        StoreError,
        "sqlalchemy.exc.ProgrammingError",
        STORE,
        'failed: relation "x" does not exist',
    ),
    "psycopg-bad-password": Case(
        in_store(server_error("28P01", "password authentication failed")),
        StoreError,
        "sqlalchemy.exc.OperationalError",
        STORE,
        "the server refused the run store",
    ),
    "psycopg-no-such-database": Case(
        in_store(server_error("3D000", 'database "x" does not exist')),
        StoreError,
        "sqlalchemy.exc.OperationalError",
        STORE,
        "the server refused the run store",
    ),
    "psycopg-lock-not-available": Case(
        in_store(server_error("55P03", "could not obtain lock")),
        StoreError,
        "sqlalchemy.exc.OperationalError",
        STORE,
        "is busy (could not obtain lock)",
    ),
    "json-damaged-record": Case(
        in_store(damaged_record),
        StoreError,
        "json.JSONDecodeError",
        STORE,
        "holds a damaged record (not JSON: Expecting ',' delimiter)",
    ),
}


# --- configuration: pydantic, YAML, encodings ----------------------------------------------------


def config_file(text: str | bytes) -> Callable[[Path], BaseException]:
    return lambda tmp: raised(lambda: load_settings(write(tmp, "agentmap_config.yaml", text)))


def settings(data: dict[str, object]) -> Callable[[Path], BaseException]:
    return lambda tmp: raised(lambda: settings_from_dict(data))


def prompts_file(text: str | bytes) -> Callable[[Path], BaseException]:
    return lambda tmp: raised(lambda: PromptCatalog.load(write(tmp, "prompts.yaml", text)))


CONFIG_CASES = {
    "pydantic-value-error": Case(
        settings({"execution": {"retry": {"type": "linear"}}}),
        ConfigError,
        "pydantic.ValidationError",
        "execution.retry",
        "retry type must be one of fixed, exponential (got 'linear')",
    ),
    "pydantic-custom-error": Case(
        settings({"storage": {"url": "sqlite://"}}),
        ConfigError,
        "pydantic.ValidationError",
        "storage.url",
        "an in-memory SQLite store forgets every run",
    ),
    "pydantic-type-error": Case(
        settings({"execution": {"max_steps": "many"}}),
        ConfigError,
        "pydantic.ValidationError",
        "execution.max_steps",
        "Input should be a valid integer",
    ),
    "pydantic-unknown-key": Case(
        settings({"execution": {"max_step": 5}}),
        ConfigError,
        "pydantic.ValidationError",
        "execution.max_step",
        "unknown key 'execution.max_step' — remove it or fix its spelling — did you mean",
    ),
    "yaml-marked-error": Case(
        config_file("execution:\n  max_steps: [1\n"),
        ConfigError,
        "yaml.MarkedYAMLError",
        "{tmp}/agentmap_config.yaml:3",
        "not valid YAML",
    ),
    "yaml-reader-error": Case(
        config_file("execution:\n  max_steps: \x07\n"),
        ConfigError,
        "yaml.reader.ReaderError",
        "{tmp}/agentmap_config.yaml:2",
        "not valid YAML (character #x0007 is not allowed: ",
    ),
    "config-not-utf8": Case(
        config_file(b"logging:\n  format: \xe9\n"),
        ConfigError,
        "UnicodeDecodeError",
        "{tmp}/agentmap_config.yaml",
        "is not UTF-8 text (invalid continuation byte at byte 19) — save it as UTF-8",
    ),
    "prompts-yaml-marked-error": Case(
        prompts_file("greet: 'Hello\n"),
        ConfigError,
        "yaml.MarkedYAMLError",
        "{tmp}/prompts.yaml:2",
        "not valid YAML (found unexpected end of stream) — fix the syntax at that line",
    ),
    "prompts-not-utf8": Case(
        prompts_file(b"greet: H\xe9llo\n"),
        ConfigError,
        "UnicodeDecodeError",
        "{tmp}/prompts.yaml",
        "the prompts registry is not UTF-8 text",
    ),
}


# --- graph files and the graph model -------------------------------------------------------------


def csv_cell_over_the_limit(tmp: Path) -> BaseException:
    """A real ``csv.Error``: a cell longer than the csv module's field limit (made small here;
    the reader raises the limit, so that one call is kept from doing it)."""
    path = write(tmp, "flow.csv", "GraphName,Node,Prompt\nG,Start,short\nG,End," + "x" * 64 + "\n")
    real_limit = csv.field_size_limit
    before = real_limit(32)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(csv, "field_size_limit", lambda *_: 32)
            return raised(lambda: read_csv_rows(path, "flow.csv"))
    finally:
        real_limit(before)


def graph_file(name: str, data: str | bytes) -> Callable[[Path], BaseException]:
    def make(tmp: Path) -> BaseException:
        write(tmp, name, data)
        return raised(lambda: load_graph(name))

    return make


GRAPH_CASES = {
    "csv-error": Case(
        csv_cell_over_the_limit,
        GraphFileError,
        "_csv.Error",
        "flow.csv:3",
        "not readable as CSV (field larger than field limit (32))",
    ),
    "csv-not-utf8": Case(
        graph_file("flow.csv", b"GraphName,Node,Prompt\nG,Start,hi\nG,End,caf\xe9\n"),
        GraphFileError,
        "UnicodeDecodeError",
        "flow.csv:3",
        "the file is not UTF-8: byte 0xE9",
    ),
    "csv-bad-utf16": Case(
        graph_file("flow.csv", b"\xff\xfeG\x00,\x00\x00\xd8"),
        GraphFileError,
        "UnicodeDecodeError",
        "flow.csv",
        "starts with a UTF-16 byte-order mark but is not valid UTF-16",
    ),
    "yaml-marked-error": Case(
        graph_file("flow.yaml", "graphs:\n  Main:\n    nodes: [\n"),
        GraphValidationError,
        None,  # a problem of the file, reported with the others
        "flow.yaml:4",
        "not valid YAML",
    ),
    "yaml-reader-error": Case(
        graph_file("flow.yaml", "graphs:\n  Main:\n    nodes: \x07\n"),
        GraphValidationError,
        None,
        "flow.yaml:3",
        "not valid YAML: character #x0007 is not allowed (",
    ),
    "yaml-not-utf8": Case(
        graph_file("flow.yaml", b"graphs:\n  M\xe9in: {}\n"),
        GraphFileError,
        "UnicodeDecodeError",
        "flow.yaml:2",
        "the file is not UTF-8 text (byte 0xe9 at offset 11)",
    ),
    "json-decode-error": Case(
        graph_file("flow.json", '{"graphs": {"Main": }}'),
        GraphValidationError,
        None,
        "flow.json:1",
        "not valid JSON: Expecting value at column 21",
    ),
    "json-context-cell": Case(
        graph_file("flow.csv", 'GraphName,Node,Context\nG,Start,"{""retry"": }"\n'),
        GraphValidationError,
        None,
        "flow.csv:2 C2 Context",
        "Context starts with '{' but is not valid JSON (Expecting value at character 11)",
    ),
    "workbook-not-a-zip": Case(
        graph_file("flow.ods", random.Random(7).randbytes(512)),
        GraphFileError,
        "zipfile.BadZipFile",
        "flow.ods",
        "not a readable .ods workbook (BadZipFile: File is not a zip file)",
    ),
    "pydantic-node-field": Case(
        lambda tmp: raised(lambda: Node(name="Start", inputs="input")),  # type: ignore[arg-type]
        GraphValidationError,
        "pydantic.ValidationError",
        "inputs: node 'Start'",
        "Input should be a valid tuple (got 'input')",
    ),
    "pydantic-graph-field": Case(
        lambda tmp: raised(lambda: Graph(name="Main", nodes={}, entry=1)),  # type: ignore[arg-type]
        GraphValidationError,
        "pydantic.ValidationError",
        "entry: graph 'Main'",
        "Input should be a valid string (got 1)",
    ),
}


# --- state, retry policies, answers --------------------------------------------------------------


def state_file(data: bytes) -> Callable[[Path], BaseException]:
    def make(tmp: Path) -> BaseException:
        write(tmp, "state.json", data)
        return raised(lambda: parse_state("@state.json"))

    return make


class StateSchema(BaseModel):
    """A schema ``StateAdapterService.adapt_initial_state`` checks a state with."""

    user_input: str


@dataclass
class StateRecord:
    user_input: str


def adapted(schema: type) -> Callable[[Path], BaseException]:
    adapter = StateAdapterService()
    return lambda tmp: raised(lambda: adapter.adapt_initial_state({"input": "hi"}, schema))


INPUT_CASES = {
    "state-schema-pydantic": Case(
        adapted(StateSchema),
        StateError,
        "pydantic.ValidationError",
        "schema StateSchema: user_input",
        "Field required",
    ),
    "state-schema-dataclass": Case(
        adapted(StateRecord),
        StateError,
        "TypeError",
        "schema StateRecord",
        "missing 1 required positional argument: 'user_input'",
    ),
    "state-json-decode-error": Case(
        state_file(b'{"input": }'),
        StateError,
        "json.JSONDecodeError",
        "--state @state.json",
        "not valid JSON (Expecting value at line 1 column 11)",
    ),
    "state-not-utf8": Case(
        state_file(b'{"input": "caf\xe9"}'),
        StateError,
        "UnicodeDecodeError",
        "--state @state.json",
        "not UTF-8 text (invalid continuation byte at byte 14) — save it as UTF-8",
    ),
    "state-too-deep": Case(
        state_file(b"[" * 100_000),
        StateError,
        "RecursionError",
        "--state @state.json",
        "nested too deeply to read",
    ),
    "retry-setting-not-a-number": Case(
        lambda tmp: raised(lambda: RetryPolicy.from_dict({"type": "fixed", "delay": "soon"})),
        RetryPolicyError,
        "ValueError",
        "delay",
        "delay must be a number, 0 or more (got 'soon')",
    ),
    "retry-setting-unknown": Case(
        lambda tmp: raised(lambda: RetryPolicy.from_dict({"type": "fixed", "dealy": 1})),
        RetryPolicyError,
        None,
        "'dealy'",
        "did you mean 'delay'?",
    ),
}


# --- model SDKs: openai and anthropic, and the cassette a run replays ---------------------------

KEY = "sk-test-secret"
OPENAI = Provider("openai", "openai", "gpt-4o-mini", key_setting="llm.openai.api_key")
ANTHROPIC = Provider("anthropic", "anthropic", "claude-haiku-4-5", key_env="ANTHROPIC_API_KEY")


def sdk_status(sdk: object, kind: str, status: int, provider: Provider) -> Callable[..., LLMError]:
    """``translate`` of the SDK's status error, built from a response as the SDK builds it."""

    def make(tmp: Path) -> LLMError:
        request = httpx2.Request("POST", "https://api.example.com/v1/chat")
        body = {"error": {"message": f"{kind} from the server"}}
        response = httpx2.Response(status, request=request, json=body)
        error = getattr(sdk, kind)(f"Error code: {status}", response=response, body=body)
        translated = translate(error, sdk, provider, KEY)  # type: ignore[arg-type]
        assert translated is not None
        return translated

    return make


def sdk_error(sdk: object, error: Exception, provider: Provider) -> Callable[..., LLMError]:
    def make(tmp: Path) -> LLMError:
        translated = translate(error, sdk, provider, KEY)  # type: ignore[arg-type]
        assert translated is not None
        return translated

    return make


def cassette(data: bytes) -> Callable[[Path], BaseException]:
    return lambda tmp: raised(lambda: load_cassette(write(tmp, "calls.jsonl", data)))


REQUEST = httpx2.Request("POST", "https://api.example.com/v1/chat")
LLM_CASES = {
    "openai-rate-limited": Case(
        sdk_status(openai, "RateLimitError", 429, OPENAI),
        TransientLLMError,
        None,
        "openai (gpt-4o-mini)",
        "rate limited (HTTP 429: RateLimitError from the server)",
    ),
    "openai-bad-key": Case(
        sdk_status(openai, "AuthenticationError", 401, OPENAI),
        LLMError,
        None,
        "openai (gpt-4o-mini)",
        "authentication failed (HTTP 401: AuthenticationError from the server) — check the API "
        "key (llm.openai.api_key)",
    ),
    "openai-bad-request": Case(
        sdk_status(openai, "BadRequestError", 400, OPENAI),
        LLMError,
        None,
        "openai (gpt-4o-mini)",
        "request refused (HTTP 400",
    ),
    "openai-connection-error": Case(
        sdk_error(openai, openai.APIConnectionError(request=REQUEST), OPENAI),
        TransientLLMError,
        None,
        "openai (gpt-4o-mini)",
        "can't connect to its default endpoint",
    ),
    "anthropic-server-error": Case(
        sdk_status(anthropic, "InternalServerError", 500, ANTHROPIC),
        TransientLLMError,
        None,
        "anthropic (claude-haiku-4-5)",
        "server error (HTTP 500: InternalServerError from the server)",
    ),
    "anthropic-timeout": Case(
        sdk_error(anthropic, anthropic.APITimeoutError(request=REQUEST), ANTHROPIC),
        LLMError,
        None,
        "anthropic (claude-haiku-4-5)",
        "no reply within 60s (timed out)",
    ),
    "reply-not-json": Case(
        sdk_error(openai, raised(lambda: json.loads("<html>")), OPENAI),  # type: ignore[arg-type]
        LLMError,
        None,
        "openai (gpt-4o-mini)",
        "malformed reply (Expecting value: line 1 column 1 (char 0))",
    ),
    "cassette-not-utf8": Case(
        cassette(b'{"request": "caf\xe9"}\n'),
        LLMError,
        "UnicodeDecodeError",
        "{tmp}/calls.jsonl",
        "is not UTF-8 text (invalid continuation byte at byte 16) — record the cassette again",
    ),
    "cassette-not-json": Case(
        cassette(b"{not json\n"),
        LLMError,
        "json.JSONDecodeError",
        "{tmp}/calls.jsonl line 1",
        "is not a recorded exchange (not JSON: Expecting property name",
    ),
}

CASES = {
    f"{group}:{name}": case
    for group, cases in (
        ("store", STORE_CASES),
        ("config", CONFIG_CASES),
        ("graph", GRAPH_CASES),
        ("input", INPUT_CASES),
        ("llm", LLM_CASES),
    )
    for name, case in cases.items()
}


def _class(dotted: str) -> type[BaseException]:
    module, _, name = dotted.rpartition(".")
    found = getattr(importlib.import_module(module or "builtins"), name)
    assert isinstance(found, type) and issubclass(found, BaseException)
    return found


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_foreign_error_becomes_an_agentmap_error_naming_the_place(
    project: Path, case: Case
) -> None:
    error = case.make(project)
    assert type(error) is case.expected, f"{type(error).__name__}: {error}"
    assert "Value error, " not in error.message
    assert case.place.format(tmp=project) in error.message
    assert case.says in error.message
    if case.cause is not None:
        assert isinstance(error.__cause__, _class(case.cause))


def test_a_store_error_names_the_store_in_its_file_attribute(project: Path) -> None:
    error = STORE_CASES["sqlite-not-a-database"].make(project)
    assert isinstance(error, StoreError)
    assert error.file == str(project / "runs.db")


@pytest.mark.parametrize(
    ("make", "missing"),
    [
        pytest.param(no_such_table, True, id="sqlite-no-such-table"),
        pytest.param(not_a_database, False, id="sqlite-not-a-database"),
        pytest.param(locked, False, id="sqlite-busy"),
        pytest.param(server_error("42P01", "no relation"), True, id="psycopg-undefined-table"),
        pytest.param(server_error("28P01", "bad password"), False, id="psycopg-bad-password"),
    ],
)
def test_a_missing_table_is_told_by_its_error_code(
    tmp_path: Path, make: Callable[[Path], None], missing: bool
) -> None:
    error = raised(lambda: make(tmp_path))
    assert is_missing_table(error) is missing  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        pytest.param(
            b"GraphName,Node\rG,Start\rG,End\r",
            [["GraphName", "Node"], ["G", "Start"], ["G", "End"]],
            id="old-mac-line-ends",
        ),
        pytest.param(
            b"GraphName,Node," + b"x" * 200_000 + b"\nG,Start,\n",
            [["GraphName", "Node", "x" * 200_000], ["G", "Start", ""]],
            id="header-longer-than-csvs-default-limit",
        ),
    ],
)
def test_sniffing_the_delimiter_lets_no_csv_error_out(
    tmp_path: Path, data: bytes, rows: list[list[str]]
) -> None:
    before = csv.field_size_limit(128 * 1024)  # csv's default, as a fresh process has it
    try:
        assert read_csv_rows(write(tmp_path, "flow.csv", data), "flow.csv") == rows
    finally:
        csv.field_size_limit(before)


def test_a_bad_retry_policy_is_still_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^retry type must be one of fixed, exponential"):
        RetryPolicy.from_dict({"type": "linear"})


def test_a_bad_answer_is_a_resume_error_and_still_a_value_error() -> None:
    with pytest.raises(ValueError) as caught:
        answer_value(Pause("Ship it?", "approval"), "yes")
    assert isinstance(caught.value, AnswerError)
    assert isinstance(caught.value, ResumeError)
    assert caught.value.message == "it asks to approve or reject: answer with --approve or --reject"


def test_a_config_error_from_a_variable_exits_2_without_pydantics_words(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project, "flow.csv", "GraphName,Node,AgentType\nG,Start,echo\n")
    monkeypatch.setenv("AGENTMAP_EXECUTION__RETRY", '{"type": "linear", "delay": 1}')
    result = CliRunner().invoke(app, ["run", "flow.csv"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: AGENTMAP_EXECUTION__RETRY: execution.retry: retry type must be one of fixed, "
        "exponential (got 'linear') (got {'type': 'linear', 'delay': 1})\n"
    )


# --- exit codes: every class of the tree has one -----------------------------------------------

EXIT_CODES: dict[type[AgentMapError], ExitCode] = {
    AgentMapError: ExitCode.BAD_INPUT,
    ConfigError: ExitCode.BAD_INPUT,
    RetryPolicyError: ExitCode.BAD_INPUT,
    GraphError: ExitCode.BAD_INPUT,
    GraphFileError: ExitCode.BAD_INPUT,
    GraphSelectionError: ExitCode.BAD_INPUT,
    GraphValidationError: ExitCode.BAD_INPUT,
    GraphRegistrationError: ExitCode.BAD_INPUT,
    StateError: ExitCode.BAD_INPUT,
    AgentError: ExitCode.BAD_INPUT,
    LLMError: ExitCode.BAD_INPUT,
    TransientLLMError: ExitCode.BAD_INPUT,
    CassetteMiss: ExitCode.BAD_INPUT,
    RunError: ExitCode.FAILED,
    RunCancelled: ExitCode.CANCELLED,
    RunNotFoundError: ExitCode.BAD_INPUT,
    ResumeError: ExitCode.BAD_INPUT,
    AnswerError: ExitCode.BAD_INPUT,
    StoreError: ExitCode.STORE,
    JobError: ExitCode.BAD_INPUT,
    JobNotFoundError: ExitCode.BAD_INPUT,
    JobStateError: ExitCode.BAD_INPUT,
    JobNotFinishedError: ExitCode.NOT_FINISHED,
    JobFailedError: ExitCode.FAILED,
}


def _tree(root: type[AgentMapError]) -> set[type[AgentMapError]]:
    return {root}.union(*(_tree(child) for child in root.__subclasses__()))


def test_every_class_of_the_tree_has_an_exit_code() -> None:
    assert _tree(AgentMapError) == set(EXIT_CODES)


@pytest.mark.parametrize(
    ("kind", "code"), EXIT_CODES.items(), ids=lambda v: getattr(v, "__name__", str(v))
)
def test_exit_code_of(kind: type[AgentMapError], code: ExitCode) -> None:
    assert exit_code_for(kind.__new__(kind)) == code


# --- no bare ValueError or TypeError reaches a user --------------------------------------------

INTERNAL_RAISES = {
    "reducers.py": "the extend reducer's TypeError joins the ones Python raises for other "
    "reducers (a sum of dicts); merge_states turns each into ReducerFailed, the runner into a "
    "RunError",
    "templates/data_processing.py": "the example agent `agentmap init` writes into a project: "
    "an agent's exception is a node failure (routed to Failure_Next), which it shows",
}
"""Files allowed a bare ``raise ValueError``/``TypeError``, and why no user meets it."""


def _bare_raises(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised_name = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised_name, ast.Name) and raised_name.id in ("ValueError", "TypeError"):
                lines.append(node.lineno)
    return lines


def test_no_bare_value_or_type_error_is_raised_to_users() -> None:
    found = {
        path.relative_to(SRC).as_posix(): lines
        for path in sorted(SRC.rglob("*.py"))
        if (lines := _bare_raises(path))
    }
    assert {file: lines for file, lines in found.items() if file not in INTERNAL_RAISES} == {}
    assert set(found) == set(INTERNAL_RAISES), "an allowed file raises none any more: drop it"
