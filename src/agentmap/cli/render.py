"""How results, reports and problems look in the terminal. The only place rich draws anything."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentmap.agents.base import Pause, Usage
from agentmap.agents.human import timeout_outcome
from agentmap.exceptions import Problem
from agentmap.graph.loader import ValidationReport
from agentmap.results import ExecutionResult


@cache
def stdout() -> Console:
    """Results go here. No ``:emoji:`` codes: a name or value that holds one (``:x:``) is
    shown as written, and rich's table of emoji is never loaded."""
    return Console(highlight=False, soft_wrap=True, emoji=False)


@cache
def stderr() -> Console:
    """Messages, warnings, errors and logs go here, so stdout stays clean for results."""
    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


SHOWN_PROBLEMS = 50
"""Problems listed before "and N more": a file with thousands of them shows the first."""
SHOWN_CHARACTERS = 1_000
"""The most of one value (or one problem's message) a table or a line shows; --json has all."""


def render_problems(
    errors: Sequence[Problem], warnings: Sequence[Problem] = (), *, every: bool = False
) -> None:
    """The warnings and errors, one per line, errors last so they stay in view — the first
    ``SHOWN_PROBLEMS`` of each unless ``every``."""
    out = stderr()
    for label, style, problems in (
        ("warning ", "yellow", warnings),
        ("error ", "bold red", errors),
    ):
        shown = problems if every else problems[:SHOWN_PROBLEMS]
        for problem in shown:
            out.print(
                Text.assemble((label, style), (problem.place, "bold"), f": {_cut(problem.message)}")
            )
        if len(problems) > len(shown):
            out.print(
                Text(
                    f"… and {len(problems) - len(shown)} more {label.strip()}s — "
                    "`agentmap validate FILE --all-problems` lists every one",
                    style=style,
                )
            )
    if errors:
        count = len(errors)
        stderr().print(
            Text(f"{count} error{'s' if count != 1 else ''}; nothing was run.", style="red")
        )


def render_report(report: ValidationReport, *, every: bool = False) -> None:
    """The outcome of ``agentmap validate`` (``every``: all the problems, however many)."""
    render_problems(report.errors, report.warnings, every=every)
    if report.ok:
        graphs = report.file.graphs
        names = ", ".join(
            f"{name} ({_count(len(graphs[name].nodes), 'node')})" for name in report.checked
        )
        warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
        stdout().print(
            Text.assemble(("✔ ", "green"), f"{report.file.path} is valid{warned}: {names}")
        )


def render_result(result: ExecutionResult, policy: str | None = "handled") -> None:
    """The path a run took, then the final state, and a note on the failures it recovered from
    (or, under ``all_nodes``, why a recovered run still counts as failed)."""
    summary = result.summary
    mark, style = {"succeeded": ("✔", "green"), "failed": ("✘", "red")}.get(
        result.status, ("⏸", "yellow")
    )
    recovered = _recovered(result)
    stdout().print(
        Text.assemble(
            (f"{mark} ", style),
            (result.graph_name, "bold"),
            f" {result.status} after {format_duration(summary.total_duration)} "
            if result.waiting
            else f" {result.status} in {format_duration(summary.total_duration)} ",
            f"({_count(len(summary.execution_path), 'node')}"
            + (f", recovered from {_count(len(recovered), 'failure')})" if recovered else ")"),
        )
    )
    stdout().print(_path_table(result))
    stdout().print(state_table(result.final_state))
    if recovered and result.success:
        stderr().print(
            f"note: {', '.join(recovered)} failed and the graph's failure route was taken; the run "
            "ended on its last node's success",
            style="dim",
        )
    elif recovered and policy == "all_nodes":
        failed = ", ".join(summary.failed_nodes)
        stderr().print(
            f"note: the run recovered, but {failed} failed on the way, and the success policy "
            "all_nodes counts every failure; set execution.success_policy to handled to count a "
            "failure the graph routes as recovered",
            style="dim",
        )


def _recovered(result: ExecutionResult) -> tuple[str, ...]:
    """The failed nodes whose failure the graph routed, when the run did not stop at one."""
    summary = result.summary
    if result.waiting or not summary.final_node_success:
        return ()
    return tuple(n for n in summary.failed_nodes if n in summary.handled_failures)


def render_json_list(documents: list[dict[str, Any]]) -> None:
    """Exactly one JSON document, an array, on stdout."""
    text = json.dumps(documents, indent=2, ensure_ascii=False, default=repr)
    stdout().file.write(text + "\n")
    stdout().file.flush()


def render_json(document: dict[str, Any]) -> None:
    """Exactly one JSON document on stdout; values JSON can't hold are written as their repr."""
    text = json.dumps(document, indent=2, ensure_ascii=False, default=repr)
    stdout().file.write(text + "\n")
    stdout().file.flush()  # --watch prints one document per run; each must arrive whole


def _path_table(result: ExecutionResult) -> Table:
    summary = result.summary
    tokens = summary.usage is not None  # a Tokens column only for runs that called models
    table = Table(title="Execution path", title_justify="left", show_edge=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("Node", style="bold")
    table.add_column("Outcome")
    table.add_column("Duration", justify="right")
    if tokens:
        table.add_column("Tokens", justify="right")
    table.add_column("Error", overflow="fold")
    for index, record in enumerate(summary.node_results, 1):
        outcome = Text("success", "green") if record.success else Text("failure", "red")
        usage = [_usage(record.usage)] if tokens else []
        cells: list[Text | str] = [
            str(index),
            record.node,
            outcome,
            format_duration(record.duration),
        ]
        cells += usage
        table.add_row(*cells, record.error or "")
    blank = [""] * (2 if tokens else 1)
    if not summary.node_results:  # execution.tracking.enabled is off: the path is all there is
        for index, node in enumerate(summary.execution_path, 1):
            table.add_row(str(index), node, "", "", *blank)
    waiting = {w.node for w in result.waiting}
    for node in summary.unfinished:  # the run stopped while these ran (or asked a person)
        label = "waiting" if node in waiting else "interrupted"
        table.add_row("", node, Text(label, "yellow"), "", *blank)
    if tokens:
        table.caption = f"Total tokens (prompt + completion): {_usage(summary.usage)}"
        table.caption_justify = "left"
    return table


def _usage(usage: Usage | None) -> str:
    """``120 + 35`` (prompt + completion tokens), with the cost when prices are configured."""
    if usage is None:
        return ""
    text = f"{usage.prompt_tokens} + {usage.completion_tokens}"
    return text + (f" (${usage.cost:.4f})" if usage.cost is not None else "")


def state_table(state: dict[str, Any], title: str = "Final state") -> Table:
    """A run's state as a key/value table."""
    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column("Key", style="bold")
    table.add_column("Value", overflow="fold")
    for key, value in state.items():
        table.add_row(key, format_value(value))
    return table


def format_value(value: Any) -> Text:
    """A state value for a table cell: text as it is, anything else as JSON (else its repr);
    a long one cut at ``SHOWN_CHARACTERS`` (a table of a 50 MB value would take minutes)."""
    if isinstance(value, str):
        return Text(_cut(value))
    try:
        return Text(_cut(json.dumps(value, ensure_ascii=False)))
    except (TypeError, ValueError):
        return Text(_cut(repr(value)))


def _cut(text: str) -> str:
    if len(text) <= SHOWN_CHARACTERS:
        return text
    more = len(text) - SHOWN_CHARACTERS
    return f"{text[:SHOWN_CHARACTERS]}… ({more:,} more characters; --json shows all)"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def format_duration(seconds: float) -> str:
    """Seconds in the unit that reads best: ``85 µs``, ``12.3 ms``, ``4.56 s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def resume_command(run_id: str, config: Path | None) -> str:
    """``agentmap resume RUN_ID``, with the ``--config`` the run was given (shell-quoted)."""
    command = f"agentmap resume {run_id}"
    return command + f" --config {shlex.quote(str(config))}" if config is not None else command


def render_questions(
    console: Console, questions: Sequence[Mapping[str, Any]], resume: str | None
) -> None:
    """What a waiting run asks (``Waiting.to_dict()`` shapes) and the commands that answer it."""
    for question in questions:
        console.print(
            Text.assemble("  ", (str(question["node"]), "bold"), f": {question['question']}")
        )
        for number, option in enumerate(question.get("options") or (), 1):
            console.print(f"    {number}. {option}")
        if question.get("deadline") is not None:
            console.print(f"    {_deadline(question)}", style="dim")
    if resume is None or not questions:
        return
    first = questions[0]
    node = f" --node {shlex.quote(str(first['node']))}" if len(questions) > 1 else ""
    console.print("answer with:")
    for flags in answer_flags(str(first.get("kind", "text"))):
        console.print(f"  {resume}{node} {flags}".rstrip())


def answer_flags(kind: str) -> tuple[str, ...]:
    """The ``agentmap resume`` flags that answer a question of ``kind``, one line each."""
    return {
        "approval": ("--approve", "--reject"),
        "choice": ("--choice N",),
        "edit": ("--value 'the edited text'", "--approve   # keep it as it is"),
        "conversation": ("--value 'a message'", "--reject    # end the conversation"),
        "suspend": ("", "--value '...'"),
    }.get(kind, ("--value '...'",))


def _deadline(question: Mapping[str, Any]) -> str:
    """When a question stops taking answers, and what happens then."""
    pause = Pause.from_dict(question)
    when = datetime.fromtimestamp(float(question["deadline"]), tz=UTC)
    return f"answer by {when:%Y-%m-%d %H:%M:%S} UTC; after that {timeout_outcome(pause)}"
