"""``agentmap run --trace``: nodes starting and finishing as they happen.

In a terminal it is a live table (one row per node run, updated in place); otherwise plain
lines, one per event, so logs and CI output stay readable.
"""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from agentmap.events import Event, NodeCompleted, NodeFailed, NodeRetrying, NodeStarted


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


class Trace:
    """An event handler that shows node progress on ``stream``; use it as a context manager."""

    def __init__(self, stream: IO[str]) -> None:
        self._console = Console(file=stream, highlight=False, soft_wrap=True, emoji=False)
        self._live: Live | None = None
        self._rows: dict[tuple[str, str, int], list[Any]] = {}

    def __enter__(self) -> Trace:
        if self._console.is_terminal:
            self._live = Live(self._table(), console=self._console, auto_refresh=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._table(), refresh=True)
            self._live.__exit__(None, None, None)

    def __call__(self, event: Event) -> None:
        line = self._line(event)
        if line is None:
            return
        if self._live is None:
            self._console.print(line)
        else:
            self._live.update(self._table(), refresh=True)

    def _line(self, event: Event) -> Text | None:
        if isinstance(event, NodeStarted):
            self._rows[(event.run_id, event.node, event.attempt)] = [event.node, "running", "", ""]
            again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
            return Text.assemble(("▶ ", "cyan"), event.node, again)
        if isinstance(event, NodeCompleted):
            self._finish(event.run_id, event.node, event.attempt, "success", event.duration, "")
            return Text.assemble(("✔ ", "green"), event.node, f" {_ms(event.duration)}")
        if isinstance(event, NodeFailed):
            self._finish(
                event.run_id, event.node, event.attempt, "failure", event.duration, event.error
            )
            return Text.assemble(
                ("✘ ", "red"), event.node, f" {_ms(event.duration)}: {event.error}"
            )
        if isinstance(event, NodeRetrying):
            note = f"retry in {event.delay:g}s"
            self._finish(event.run_id, event.node, event.attempt, note, event.duration, event.error)
            return Text.assemble(
                ("↻ ", "yellow"),
                event.node,
                f" attempt {event.attempt} failed: {event.error}; {note}",
            )
        return None

    def _finish(
        self, run: str, node: str, attempt: int, outcome: str, duration: float, error: str
    ) -> None:
        self._rows[(run, node, attempt)] = [node, outcome, _ms(duration), error]

    def _table(self) -> Table:
        table = Table(title="Trace", title_justify="left", show_edge=False)
        for column in ("Node", "Outcome", "Duration", "Error"):
            table.add_column(column, overflow="fold")
        styles = {"success": "green", "failure": "red", "running": "cyan"}
        for node, outcome, duration, error in self._rows.values():
            table.add_row(node, Text(outcome, styles.get(outcome, "yellow")), duration, error)
        return table
