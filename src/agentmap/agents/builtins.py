"""The agent types every graph can use without writing code."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from agentmap.agents.base import Agent, Failure
from agentmap.agents.human import HumanAgent, SuspendAgent

_FALSE_WORDS = frozenset({"", "0", "false", "no", "n", "off", "fail", "failure", "none", "null"})


class DefaultAgent(Agent):
    """Returns a short description of what it was asked (a placeholder while you design)."""

    agent_type = "default"
    quick = True

    def process(self, inputs: Mapping[str, Any]) -> str:
        asked = self.render_prompt(inputs) or "(no prompt)"
        shown = ", ".join(f"{key}={value!r}" for key, value in inputs.items())
        return f"{self.name} was asked: {asked}" + (f" (inputs: {shown})" if shown else "")


class EchoAgent(Agent):
    """Returns its single input's value, or a mapping of its inputs when there are several."""

    agent_type = "echo"
    quick = True

    def process(self, inputs: Mapping[str, Any]) -> Any:
        if len(inputs) == 1:
            return next(iter(inputs.values()))
        return dict(inputs) if inputs else None


class SuccessAgent(Agent):
    """Always succeeds."""

    agent_type = "success"
    quick = True

    def process(self, inputs: Mapping[str, Any]) -> str:
        return f"{self.name} succeeded"


class FailureAgent(Agent):
    """Always fails, without raising; the Prompt (if any) is the error message."""

    agent_type = "failure"
    quick = True

    def process(self, inputs: Mapping[str, Any]) -> Failure:
        return Failure(self.render_prompt(inputs) or f"{self.name} failed (failure agent)")


class BranchingAgent(Agent):
    """Succeeds or fails on one input's value, so a graph can branch on data.

    Context ``{"field": "approved", "equals": "yes"}`` picks the input and the value that means
    success; without ``field`` the first input decides, and without ``equals`` its truth decides
    (``false``, ``no``, ``0``, empty and the like are false, case-insensitively).
    """

    agent_type = "branching"
    quick = True

    def process(self, inputs: Mapping[str, Any]) -> Any:
        condition = self.context if isinstance(self.context, Mapping) else {}
        field = condition.get("field") or next(iter(inputs), None)
        if field is None:
            return Failure(f"{self.name} has no input to branch on — list one in Input_Fields")
        if field not in inputs:
            return Failure(f"{self.name} branches on '{field}', which is not among its inputs")
        value = inputs[field]
        decided = value == condition["equals"] if "equals" in condition else _truthy(value)
        return value if decided else Failure(f"{self.name}: '{field}' is {value!r}", value=value)


class InputAgent(Agent):
    """Asks the person at the terminal: the prompt goes to stderr so stdout stays clean."""

    agent_type = "input"

    def process(self, inputs: Mapping[str, Any]) -> Any:
        sys.stderr.write(f"{self.render_prompt(inputs) or self.name + ':'} ")
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not line:
            return Failure(f"{self.name}: no answer — standard input is closed")
        return line.rstrip("\r\n")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() not in _FALSE_WORDS
    return bool(value)


BUILTIN_AGENTS: tuple[type[Agent], ...] = (
    DefaultAgent,
    EchoAgent,
    SuccessAgent,
    FailureAgent,
    BranchingAgent,
    InputAgent,
    HumanAgent,
    SuspendAgent,
)
