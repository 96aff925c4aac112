"""Every error agentmap raises, in one tree.

    AgentMapError                 base: catch this to catch everything agentmap raises
    ├── ConfigError               agentmap_config.yaml or an AGENTMAP_* variable is wrong
    │   └── RetryPolicyError      a retry policy's type or settings are wrong (also a
    │                             ValueError, as RetryPolicy.from_dict raised before)
    ├── GraphError                a graph file can't be used
    │   ├── GraphFileError        the file can't be read at all (missing, not UTF-8, not CSV)
    │   ├── GraphSelectionError   the graph or start node asked for is not in the file
    │   ├── GraphValidationError  the file was read but has problems (all of them listed)
    │   └── GraphRegistrationError a graph id and version already name other content
    ├── StateError                the initial state can't be turned into a state mapping
    ├── AgentError                an agent broke its contract (e.g. a missing output key)
    ├── LLMError                  a model call failed (agentmap.llm.errors; a node failure)
    │   ├── TransientLLMError     ... in a way worth retrying (429, 5xx, connection)
    │   └── CassetteMiss          a replayed run asked what its cassette has no reply for
    ├── RunError                  the run itself went wrong (max_steps, a routing function,
    │   │                         a branch conflict, the run's timeout, an unsavable state value)
    │   ├── RunCancelled          the run was cancelled (Ctrl-C); ``result`` holds the partial run
    │   └── JobFailedError        a job's results were asked for, but it failed or was cancelled
    ├── RunNotFoundError          no stored run has the id asked for
    │   └── JobNotFoundError      ... nor job (also a JobError)
    ├── JobError                  a job can't be made or used as asked (inputs, tags, retry policy)
    │   ├── JobStateError         a job can't do that in its state (answer one not waiting)
    │   └── JobNotFinishedError   a job's results were asked for before it finished
    ├── ResumeError               a stored run can't be resumed (finished, changed, bad answer)
    │   └── AnswerError           a person's answer doesn't fit the question (also a
    │                             ValueError, as answer_value raised before)
    └── StoreError                the run store can't be opened, read or written

Every error carries where it happened (``file``, ``row``, ``column``, ``graph``, ``node``,
whichever apply) and says how to fix it, so the CLI can print one clear line and pick an exit
code from the class alone.

Other libraries' errors are translated by their type, once, where they come in (and chained
with ``raise ... from``): pydantic's in ``pydantic_errors`` (for ``config``, ``graph.model``
and the state schemas of ``state``), YAML's, CSV's and JSON's in each reader (``graph.csv_reader``,
``graph.yaml_reader``, ``graph.workbook_reader``, ``config``, ``prompts``), the databases' in
``store.database.translate_database_error``, the model SDKs' in ``llm.client.translate``, and
``--state``'s in ``cli.run.parse_state``.
``tests/test_error_map.py`` holds the table of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from agentmap.secrets import redact

if TYPE_CHECKING:
    from agentmap.results import ExecutionResult, JobResult


class AgentMapError(Exception):
    """Base of every agentmap error.

    The attributes say where the problem is; any of them may be ``None``. ``hint`` is a next
    step added by whoever catches it and knows more (the CLI adds the resume command).

    The message is redacted (``agentmap.secrets``) as the error is made: it may quote a
    server's or a library's words, and those may hold a key.
    """

    hint: str | None = None

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        graph: str | None = None,
        node: str | None = None,
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.graph = graph
        self.node = node


class ConfigError(AgentMapError):
    """The configuration file or an ``AGENTMAP_*`` variable has a wrong key or value."""


class RetryPolicyError(ConfigError, ValueError):
    """A retry policy can't be built: an unknown ``type``, an unknown or negative setting.

    Also a ``ValueError``: ``RetryPolicy.from_dict`` raised that before, and callers catch it.
    """


class GraphError(AgentMapError):
    """A graph file can't be turned into a runnable graph."""


class GraphFileError(GraphError):
    """The graph file can't be read: missing, unreadable, wrong encoding, not a table."""


class GraphSelectionError(GraphError):
    """The graph (or start node) asked for does not exist in the file."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or worth a warning) in a graph file, with its place and a fix.

    ``row`` is the row as a spreadsheet shows it (the header is row 1); ``cell`` is the
    spreadsheet cell (``F7``) and ``field`` the column's canonical name (``Success_Next``).
    """

    message: str
    severity: Literal["error", "warning"] = "error"
    file: str | None = None
    row: int | None = None
    cell: str | None = None
    field: str | None = None
    graph: str | None = None
    node: str | None = None

    @property
    def place(self) -> str:
        """``flow.csv:7 F7 Success_Next`` — as much of it as is known."""
        where = self.file or "<graph>"
        if self.row is not None:
            where += f":{self.row}"
        parts = [where]
        if self.cell:
            parts.append(self.cell)
        if self.field:
            parts.append(self.field)
        return " ".join(parts)

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"


class GraphValidationError(GraphError):
    """The graph file has problems; ``problems`` lists every one of them, in file order."""

    def __init__(self, problems: Sequence[Problem], warnings: Sequence[Problem] = ()) -> None:
        self.problems = tuple(problems)
        self.warnings = tuple(warnings)
        first = self.problems[0] if self.problems else None
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(
            header + ":\n" + "\n".join(f"  {p}" for p in self.problems),
            file=first.file if first else None,
            row=first.row if first else None,
            column=first.field if first else None,
            graph=first.graph if first else None,
            node=first.node if first else None,
        )


class GraphRegistrationError(GraphError):
    """A graph can't be registered under the id and version given: they are malformed, or
    already name other content (the message says what changed)."""


class StateError(AgentMapError):
    """The initial state given to a run can't be used as a state mapping."""


class AgentError(AgentMapError):
    """An agent broke its contract: for example it did not return a declared output key."""


class RunError(AgentMapError):
    """The run stopped because of the graph itself, not an agent's failure.

    ``result`` holds what ran before it stopped (path, timings, the state so far).
    """

    def __init__(
        self,
        message: str,
        *,
        graph: str | None = None,
        node: str | None = None,
        result: ExecutionResult | None = None,
    ) -> None:
        super().__init__(message, graph=graph, node=node)
        self.result = result


class RunCancelled(RunError):
    """The run was cancelled — by Ctrl-C or by cancelling its task — before it finished."""


class RunNotFoundError(AgentMapError):
    """No run in the store has the id (or id prefix) asked for."""


class ResumeError(AgentMapError):
    """A stored run can't be resumed as asked: already finished, graph changed, wrong answer."""


class AnswerError(ResumeError, ValueError):
    """A person's answer doesn't fit the question: not yes/no, no such choice, not text.

    Also a ``ValueError``: ``answer_value`` raised that before, and callers catch it.
    """


class StoreError(AgentMapError):
    """The run store can't be used: unreachable, unreadable, corrupt, or from a newer agentmap.

    ``file`` names the store (a path for SQLite, the URL without its password otherwise).
    """


class JobError(AgentMapError):
    """A job can't be created or used as asked: bad inputs, tags or retry policy."""


class JobNotFoundError(JobError, RunNotFoundError):
    """No job in the store has the id (or id prefix) asked for."""


class JobStateError(JobError):
    """A job can't do what was asked in the state it is in (answer a job that isn't waiting)."""


class JobNotFinishedError(JobError):
    """A job's results were asked for before it finished (``state`` says where it is)."""

    def __init__(self, message: str, *, state: str) -> None:
        super().__init__(message)
        self.state = state


class JobFailedError(RunError):
    """A job's results were asked for, but it failed or was cancelled.

    ``job`` holds what its run produced (the state so far, the summary), when it got that far.
    """

    def __init__(self, message: str, *, job: JobResult | None = None) -> None:
        super().__init__(message)
        self.job = job
