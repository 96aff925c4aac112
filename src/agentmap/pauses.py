"""A node that asks a person (``Pause``): answered now by ``ask``, or its branch parks and the
run stops as ``waiting`` until ``resume_run`` brings the answer.

A question with a deadline (``timeout_seconds``) that runs out takes its timeout outcome
instead (``agents.human.timeout_value``): ``ask`` raising ``TimeoutError`` says the person let
the time pass."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from agentmap.agents.human import answer_value, timed_out, timeout_value
from agentmap.outcomes import Pause

NO_ANSWER: Any = object()
"""No answer was given (``None`` is an answer a ``suspend`` node may get)."""

Ask = Callable[[str, Pause], Any]
"""Asks a person now: gets the node and its ``Pause``, returns the answer (see ``answer_value``);
raises ``EOFError`` when nobody is there after all, ``TimeoutError`` when ``pause.deadline``
passed with no answer."""


class Parked(Exception):
    """A node paused and nobody can answer now: its branch waits (internal to the engine)."""

    def __init__(self, pause: Pause, child_run: str | None = None) -> None:
        self.pause = pause
        self.child_run = child_run


async def answer(ask: Ask | None, node: str, pause: Pause) -> Any:
    """The node's value from a person asked right now, or ``Parked`` when nobody can be."""
    if pause.kind != "suspend" and timed_out(pause):
        return timeout_value(pause)
    if ask is None or pause.kind == "suspend":
        raise Parked(pause)
    try:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # driven without a loop: nothing else runs meanwhile
            reply = ask(node, pause)
        else:  # other branches go on while the person thinks
            reply = await loop.run_in_executor(None, ask, node, pause)
    except EOFError:  # nobody answered after all (end of input): wait for a resume
        raise Parked(pause) from None
    except TimeoutError:  # the time to answer ran out: the default (or failure) stands
        return timeout_value(pause)
    return answer_value(pause, reply)
