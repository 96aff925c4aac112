"""Asking the person at the terminal, for ``human`` nodes, while the run goes on."""

from __future__ import annotations

import select
import sys
import time

from rich.console import Console
from rich.padding import Padding
from rich.prompt import Confirm, IntPrompt, Prompt
from rich.text import Text

from agentmap.agents.base import Pause
from agentmap.agents.human import timeout_outcome
from agentmap.cli.render import stderr


def can_ask(no_input: bool) -> bool:
    """Ask right away only when a person is there: stdin and stderr are a terminal."""
    return not no_input and sys.stdin.isatty() and sys.stderr.isatty()


def ask(node: str, pause: Pause) -> object:
    """The person's answer to ``pause``: text, approve (True) / reject (False), or a number.

    End of input (Ctrl-D) raises ``EOFError``, which leaves the run waiting; no answer by the
    question's deadline raises ``TimeoutError``, which takes its timeout outcome.
    """
    console = stderr()
    console.print(Text.assemble(("? ", "bold yellow"), (node, "bold"), f": {pause.question}"))
    if pause.deadline is not None:
        left = max(0, round(pause.deadline - time.time()))
        console.print(
            f"  (answer within {left} s; after that {timeout_outcome(pause)})", style="dim"
        )
    if pause.kind == "approval":
        wait_for_line(pause.deadline)
        return Confirm.ask("  approve?", console=console)
    if pause.kind == "choice":
        for number, option in enumerate(pause.options, 1):
            console.print(f"  {number}. {option}")
        choices = [str(n) for n in range(1, len(pause.options) + 1)]
        wait_for_line(pause.deadline)
        return IntPrompt.ask("  choice", choices=choices, console=console)
    if pause.kind == "edit":
        return _edit(console, pause)
    if pause.kind == "conversation":
        wait_for_line(pause.deadline)
        return Prompt.ask(
            "  reply (an empty line ends the conversation)",
            default="",
            show_default=False,
            console=console,
        )
    wait_for_line(pause.deadline)
    return Prompt.ask("  answer", console=console)


def _edit(console: Console, pause: Pause) -> object:
    """The edited text; an empty line keeps the draft as it is (``True``: approved)."""
    console.print(Padding(Text(pause.draft or ""), (0, 0, 0, 4)))
    wait_for_line(pause.deadline)
    edited = Prompt.ask(
        "  edited text (Enter keeps it as it is)", default="", show_default=False, console=console
    )
    return edited if edited else True


def wait_for_line(deadline: float | None) -> None:
    """Wait until a line can be read from stdin, or raise ``TimeoutError`` at ``deadline``.

    A terminal hands over a line only once Enter is pressed, so a person still typing when the
    time runs out has not answered. Where stdin can't be waited on (Windows), the wait has no
    limit.
    """
    if deadline is None:
        return
    try:
        ready, _, _ = select.select([sys.stdin], [], [], max(0.0, deadline - time.time()))
    except (OSError, ValueError):  # no file descriptor to wait on
        return
    if not ready:
        raise TimeoutError
