"""Asking the person at the terminal, for ``human`` nodes, while the run goes on."""

from __future__ import annotations

import sys

from rich.prompt import Confirm, IntPrompt, Prompt
from rich.text import Text

from agentmap.agents.base import Pause
from agentmap.cli.render import stderr


def can_ask(no_input: bool) -> bool:
    """Ask right away only when a person is there: stdin and stderr are a terminal."""
    return not no_input and sys.stdin.isatty() and sys.stderr.isatty()


def ask(node: str, pause: Pause) -> object:
    """The person's answer to ``pause``: text, approve (True) / reject (False), or a number.

    End of input (Ctrl-D) raises ``EOFError``, which leaves the run waiting.
    """
    console = stderr()
    console.print(Text.assemble(("? ", "bold yellow"), (node, "bold"), f": {pause.question}"))
    if pause.kind == "approval":
        return Confirm.ask("  approve?", console=console)
    if pause.kind == "choice":
        for number, option in enumerate(pause.options, 1):
            console.print(f"  {number}. {option}")
        choices = [str(n) for n in range(1, len(pause.options) + 1)]
        return IntPrompt.ask("  choice", choices=choices, console=console)
    return Prompt.ask("  answer", console=console)
