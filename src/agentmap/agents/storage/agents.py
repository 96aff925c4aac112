"""The storage agents: ``csv_reader``/``csv_writer``, ``json_reader``/``json_writer`` and
``file_reader``/``file_writer``, with AgentMap's Context keys.

Each setting (``mode``, ``format``, ``document_id``, ``query``, ...) comes from a state field of
that name listed in Input_Fields, else from Context. The file comes from an input or Context
key (``collection``, ``file_path``, and ``path`` for CSV and text files), else from the Prompt
(where AgentMap graphs usually write it; ``{field}`` placeholders are filled). Anything that
goes wrong with the file is the node's failure, routed to Failure_Next.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from agentmap.agents.base import Agent, Failure
from agentmap.agents.storage import documents, tables
from agentmap.agents.storage.files import FileRules, append_bytes, write_atomically
from agentmap.exceptions import AgentError

_LOCATION = ("collection", "file_path", "path")
_FROM_STATE = frozenset({*_LOCATION, "mode", "format", "document_id", "id", "id_field", "query"})
"""Settings a state field may give (which file, which record, how): the others (encoding,
delimiter, indent, newline, chunking) describe the file and come from Context only."""
_TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})
MODES = ("write", "append", "update")
"""How a writer changes its file (AgentMap's ``delete`` is not supported)."""


class StorageAgent(Agent):
    """What every storage agent shares: finding its file, reading its settings, and failing
    with a message instead of raising."""

    file_kind: ClassVar[str] = "file"
    location_keys: ClassVar[tuple[str, ...]] = _LOCATION
    settings_inputs: ClassVar[frozenset[str]] = frozenset()
    """Input_Fields that are settings (``mode``, ``query``), not data to write."""
    context_keys: ClassVar[frozenset[str]] = frozenset()
    choices: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    """Settings with a fixed set of values, checked at validation and when a state gives them."""
    _rules: FileRules | None = None

    def bind(self, graph: Any, settings: Any) -> None:
        self._rules = FileRules.of(settings)

    @property
    def rules(self) -> FileRules:
        """The project folder and file limits (the defaults when the agent was never bound)."""
        if self._rules is None:
            self._rules = FileRules.of(None)
        return self._rules

    def process(self, inputs: Mapping[str, Any]) -> Any:
        try:
            return self.handle(inputs)
        except AgentError as exc:
            return Failure(exc.message)

    def handle(self, inputs: Mapping[str, Any]) -> Any:
        """Do the node's work; raise ``AgentError`` to fail it with that message."""
        raise NotImplementedError

    @classmethod
    def context_problem(cls, context: Mapping[str, Any] | str | None) -> str | None:
        found = super().context_problem(context)
        if found is not None or not isinstance(context, Mapping):
            return found
        for key, allowed in cls.choices.items():
            value = context.get(key)
            wrong = None if value is None else _not_one_of(cls.type_name(), key, value, allowed)
            if wrong is not None:
                return wrong
        if (query := context.get("query")) is not None and not isinstance(query, Mapping):
            return (
                f"query must be an object of column → value, like "
                f'{{"query": {{"status": "open", "limit": 10}}}}, not {query!r}'
            )
        return None

    def setting(self, inputs: Mapping[str, Any], key: str, default: Any = None) -> Any:
        """A setting from the state (when listed in Input_Fields), else Context, else
        ``default``."""
        if key in self.settings_inputs and inputs.get(key) is not None:
            return inputs[key]
        context = self.context if isinstance(self.context, Mapping) else {}
        value = context.get(key)
        return default if value is None else value

    def choice(self, inputs: Mapping[str, Any], key: str, default: str) -> str:
        """A setting that must be one of ``choices[key]``."""
        value = self.setting(inputs, key, default)
        if (wrong := _not_one_of(self.type_name(), key, value, self.choices[key])) is not None:
            raise AgentError(wrong)
        return str(value).strip().lower()

    def where(self, inputs: Mapping[str, Any]) -> Path:
        """The node's file, resolved and allowed."""
        for key in self.location_keys:
            if (written := self.setting(inputs, key)) is not None and str(written).strip():
                return self.rules.locate(str(written).strip(), self.file_kind)
        if written := self.render_prompt(inputs).strip():
            return self.rules.locate(written, self.file_kind)
        raise AgentError(f"{self.name} names no file — {_NAME_A_FILE}")

    def shown(self, path: Path) -> str:
        """How messages name the file."""
        return f"{self.file_kind} {path}"

    def document_id(self, inputs: Mapping[str, Any]) -> Any:
        """Which row or document: ``document_id`` (or ``id``, where it is a setting)."""
        found = self.setting(inputs, "document_id")
        if found is None and "id" in self.context_keys:
            found = self.setting(inputs, "id")
        return found

    def query(self, inputs: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The ``query`` setting, which must be an object."""
        query = self.setting(inputs, "query")
        if query is None or isinstance(query, Mapping):
            return query
        raise AgentError(f"query must be an object of field → value, not {query!r}")

    def data(self, inputs: Mapping[str, Any]) -> tuple[str, Any]:
        """What a writer writes, and the field it came from: the ``data`` input; or the one
        other input; or an object of all of them."""
        given = {k: v for k, v in inputs.items() if k not in self.settings_inputs}
        if "data" in given:
            name, value = "data", given["data"]
        elif len(given) == 1:
            name, value = next(iter(given.items()))
        elif given:
            return "data", given
        else:
            raise AgentError(
                f"{self.name} has nothing to write — list the field to write in Input_Fields"
            )
        if value is None:
            raise AgentError(f"'{name}' is not in the state, so {self.name} has nothing to write")
        return name, value

    def encoding(self, inputs: Mapping[str, Any]) -> str:
        return str(self.setting(inputs, "encoding", "utf-8"))


_NAME_A_FILE = (
    'set Context {"collection": "data/file.csv"}, write the path in Prompt, or list a '
    "'collection' field in Input_Fields"
)


def _not_one_of(agent_type: str, key: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    if str(value).strip().lower() in allowed:
        return None
    hint = ""
    if key == "format" and str(value).lower() == "dataframe":
        hint = " (a DataFrame can't be kept in a run's state, which is saved as JSON)"
    return f"{agent_type} {key} '{value}' is not one of {', '.join(allowed)}{hint}"


class CSVReaderAgent(StorageAgent):
    """Reads rows of a CSV file: all, the ones a query matches, or one by id."""

    agent_type = "csv_reader"
    file_kind = "CSV file"
    context_keys = frozenset(
        {*_LOCATION, "format", "document_id", "id", "id_field", "query", "encoding", "delimiter"}
    )
    settings_inputs = context_keys & _FROM_STATE
    choices: ClassVar[Mapping[str, tuple[str, ...]]] = {"format": ("records", "dict")}

    def handle(self, inputs: Mapping[str, Any]) -> Any:
        path = self.where(inputs)
        options = _csv_options(self, inputs)
        table = tables.parse(self.rules.read_bytes(path, self.file_kind), options, self.shown(path))
        document_id = self.document_id(inputs)
        id_field = self.setting(inputs, "id_field")
        if document_id is not None:
            return tables.find_row(table, document_id, id_field, self.shown(path))
        if query := self.query(inputs):
            table = tables.queried(table, query, self.shown(path))
        return tables.shaped(table, self.choice(inputs, "format", "records"))


class CSVWriterAgent(StorageAgent):
    """Writes rows to a CSV file: replaces it, appends to it, or updates rows by id."""

    agent_type = "csv_writer"
    file_kind = "CSV file"
    context_keys = frozenset(
        {*_LOCATION, "mode", "document_id", "id_field", "encoding", "delimiter"}
    )
    # AgentMap's tutorial writes {"format": "records"}: the shape of the rows given, which is
    # the only shape taken here (a list of records, or one record)
    ignored_context_keys = frozenset({"format"})
    settings_inputs = context_keys & _FROM_STATE
    choices: ClassVar[Mapping[str, tuple[str, ...]]] = {"mode": MODES}

    def handle(self, inputs: Mapping[str, Any]) -> Any:
        path, mode = self.where(inputs), self.choice(inputs, "mode", "append")
        options = _csv_options(self, inputs)
        new = tables.new_rows(*self.data(inputs))
        existed = path.exists()
        old = None
        if existed and mode != "write":
            data = self.rules.read_bytes(path, self.file_kind)
            old = tables.parse(data, options, self.shown(path), as_text=True)
        columns = [*(old.columns if old is not None else ()), *new.columns]
        id_col = tables.id_column([str(c) for c in dict.fromkeys(columns)], None, "")
        id_field = self.setting(inputs, "id_field") or id_col
        if (document_id := self.document_id(inputs)) is not None:
            if len(new) != 1:
                raise AgentError(f"document_id names one row, but {len(new)} rows were given")
            id_field = id_field or "id"
            new[id_field] = document_id
        table = tables.combined(old, new, mode, id_field)
        write_atomically(path, tables.to_bytes(table, options), self.file_kind)
        return _written(path, mode, existed, rows_written=len(new))


class JSONReaderAgent(StorageAgent):
    """Reads a JSON file: all of it, one document by id, a dot path in it, or a query."""

    agent_type = "json_reader"
    aliases = ("json_document_reader",)
    file_kind = "JSON file"
    location_keys = ("collection", "file_path")
    context_keys = frozenset(
        {"collection", "file_path", "path", "format", "document_id", "id", "id_field"}
        | {"query", "encoding"}
    )
    settings_inputs = context_keys & _FROM_STATE
    choices: ClassVar[Mapping[str, tuple[str, ...]]] = {"format": ("raw", "records")}

    def handle(self, inputs: Mapping[str, Any]) -> Any:
        path = self.where(inputs)
        shown = self.shown(path)
        data = _load_json(self, path, inputs)
        if (document_id := self.document_id(inputs)) is not None:
            data = documents.find_document(data, document_id, self._id_field(inputs), shown)
        if inner := self.setting(inputs, "path"):
            data = documents.at_path(data, str(inner), shown)
        if query := self.query(inputs):
            data = documents.filtered(data, query, shown)
        if self.choice(inputs, "format", "raw") == "records" and isinstance(data, Mapping):
            return list(data.values())
        return data

    def _id_field(self, inputs: Mapping[str, Any]) -> str:
        return str(self.setting(inputs, "id_field", "id"))


class JSONWriterAgent(StorageAgent):
    """Writes to a JSON file: replaces it, appends to it, or updates a document or a path."""

    agent_type = "json_writer"
    aliases = ("json_document_writer",)
    file_kind = "JSON file"
    location_keys = ("collection", "file_path")
    context_keys = frozenset(
        {"collection", "file_path", "path", "mode", "document_id", "id", "id_field"}
        | {"encoding", "indent"}
    )
    settings_inputs = context_keys & _FROM_STATE
    choices: ClassVar[Mapping[str, tuple[str, ...]]] = {"mode": MODES}

    def handle(self, inputs: Mapping[str, Any]) -> Any:
        path, mode = self.where(inputs), self.choice(inputs, "mode", "append")
        _, value = self.data(inputs)
        document_id = self.document_id(inputs)
        inner = self.setting(inputs, "path")
        id_field = str(self.setting(inputs, "id_field", "id"))
        existed = path.exists()
        whole = mode == "write" and document_id is None and not inner
        current = _load_json(self, path, inputs) if existed and not whole else None
        if mode == "update":
            if not existed:
                raise AgentError(
                    f"mode 'update' changes an existing file, and {self.shown(path)} does not "
                    "exist — use mode 'write' or 'append' to create it"
                )
            result = documents.updated(
                current, value, document_id, id_field, inner, self.shown(path)
            )
        elif mode == "append":
            result = _appended(current, value, document_id, id_field, inner, self.shown(path))
        else:
            result = documents.written(current, value, document_id, id_field, inner)
        text = json.dumps(result, indent=self._indent(), ensure_ascii=False, default=str) + "\n"
        write_atomically(path, _encoded(text, self.encoding(inputs)), self.file_kind)
        return _written(path, mode, existed, document_id=document_id)

    def _indent(self) -> int | None:
        context = self.context if isinstance(self.context, Mapping) else {}
        indent = context.get("indent", 2)
        return indent if isinstance(indent, int) and not isinstance(indent, bool) else 2


def _appended(
    current: Any, value: Any, document_id: Any, id_field: str, inner: Any, shown: str
) -> Any:
    """Append to the file, or (with a ``path``) to what is at that path inside it."""
    if not inner:
        return documents.appended(current, value, document_id, id_field, shown)
    try:
        there = documents.at_path(current, str(inner), shown)
    except AgentError:
        there = None
    added = documents.appended(there, value, document_id, id_field, shown)
    return documents.with_path(current, str(inner), added)


class FileReaderAgent(StorageAgent):
    """Reads a text file: its text, the text with where it came from, or chunks of it."""

    agent_type = "file_reader"
    context_keys = frozenset(
        {*_LOCATION, "format", "encoding", "should_split", "chunk_size", "chunk_overlap"}
        | {"include_metadata"}
    )
    settings_inputs = context_keys & _FROM_STATE
    choices: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "format": ("default", "text", "raw", "structured")
    }

    @classmethod
    def context_problem(cls, context: Mapping[str, Any] | str | None) -> str | None:
        found = super().context_problem(context)
        if found is not None or not isinstance(context, Mapping):
            return found
        size, overlap = context.get("chunk_size", 1000), context.get("chunk_overlap", 200)
        if not _whole(size) or size < 1 or not _whole(overlap) or not 0 <= overlap < size:
            return (
                "chunk_size must be a whole number above 0 and chunk_overlap one from 0 to "
                f"below chunk_size (they are {size!r} and {overlap!r})"
            )
        return None

    def handle(self, inputs: Mapping[str, Any]) -> Any:
        path = self.where(inputs)
        text = self.rules.read_text(path, self.file_kind, self.encoding(inputs))
        structured = self.choice(inputs, "format", "default") == "structured"
        if not _is_true(self.setting(inputs, "should_split", False)):
            return self._shaped(text, path, structured, None)
        size = int(self.setting(inputs, "chunk_size", 1000))
        overlap = int(self.setting(inputs, "chunk_overlap", 200))
        pieces = chunks(text, size, overlap)
        return [self._shaped(piece, path, structured, n) for n, piece in enumerate(pieces)]

    def _shaped(self, text: str, path: Path, structured: bool, chunk: int | None) -> Any:
        if not structured:
            return text
        if not _is_true(self.setting({}, "include_metadata", True)):
            return {"content": text}
        metadata: dict[str, Any] = {"source": str(path), "size": len(text), "type": "text"}
        if chunk is not None:
            metadata["chunk"] = chunk
        return {"content": text, "metadata": metadata}


def chunks(text: str, size: int, overlap: int) -> list[str]:
    """``text`` cut into pieces of at most ``size`` characters, each starting ``overlap``
    characters before the previous one ended."""
    if not text:
        return []
    step = size - overlap
    return [text[start : start + size] for start in range(0, max(len(text) - overlap, 1), step)]


class FileWriterAgent(StorageAgent):
    """Writes text to a file: replaces it, or appends to it after a blank line."""

    agent_type = "file_writer"
    context_keys = frozenset({*_LOCATION, "mode", "encoding", "newline"})
    settings_inputs = context_keys & _FROM_STATE
    choices: ClassVar[Mapping[str, tuple[str, ...]]] = {"mode": MODES}

    def handle(self, inputs: Mapping[str, Any]) -> Any:
        path, mode = self.where(inputs), self.choice(inputs, "mode", "append")
        _, value = self.data(inputs)
        text = value if isinstance(value, str) else json.dumps(value, indent=2, default=str)
        if (newline := self.setting(inputs, "newline")) is not None:
            text = text.replace("\r\n", "\n").replace("\n", str(newline))
        existed = path.exists()
        encoded = _encoded(text, self.encoding(inputs))
        if mode == "append" and existed and path.stat().st_size > 0:
            append_bytes(path, _encoded("\n\n", self.encoding(inputs)) + encoded, self.file_kind)
        else:  # AgentMap's update of a text file replaces it, as write does
            write_atomically(path, encoded, self.file_kind)
        return _written(path, mode, existed)


def _csv_options(agent: StorageAgent, inputs: Mapping[str, Any]) -> dict[str, str]:
    return {
        "encoding": agent.encoding(inputs),
        "delimiter": str(agent.setting(inputs, "delimiter", ",")),
    }


def _load_json(agent: StorageAgent, path: Path, inputs: Mapping[str, Any]) -> Any:
    text = agent.rules.read_text(path, agent.file_kind, agent.encoding(inputs))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AgentError(
            f"{agent.shown(path)} is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno} — fix the file"
        ) from exc


def _encoded(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding)
    except LookupError:
        raise AgentError(f"unknown encoding '{encoding}' — fix Context 'encoding'") from None
    except UnicodeEncodeError as exc:
        raise AgentError(f"the text can't be written as {encoding} ({exc.reason})") from exc


def _written(path: Path, mode: str, existed: bool, **more: Any) -> dict[str, Any]:
    """A writer's output (AgentMap's result fields): what it did, and where."""
    result = {"success": True, "mode": mode, "file_path": str(path), "created_new": not existed}
    result.update({key: value for key, value in more.items() if value is not None})
    return result


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_true(value: Any) -> bool:
    return value is True or str(value).strip().lower() in _TRUE_WORDS


STORAGE_AGENTS: tuple[type[StorageAgent], ...] = (
    CSVReaderAgent,
    CSVWriterAgent,
    JSONReaderAgent,
    JSONWriterAgent,
    FileReaderAgent,
    FileWriterAgent,
)
