"""The agent types every graph can use without writing code.

Each declares ``__slots__`` (none of them keeps attributes beyond the base class's, but
``BranchingAgent``'s rules): a graph holds an agent per node, and a ``__dict__`` each would
cost 40 bytes per node.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from agentmap.agents.base import Agent, Failure
from agentmap.agents.branch_rules import BRANCH_KEYS, branch_rules
from agentmap.agents.human import HumanAgent, SuspendAgent


class DefaultAgent(Agent):
    """Returns a short description of what it was asked (a placeholder while you design)."""

    __slots__ = ()
    agent_type = "default"
    quick = True
    # context_keys stays None: a placeholder's Context is for the agent that will replace it.

    def process(self, inputs: Mapping[str, Any]) -> str:
        asked = self.render_prompt(inputs) or "(no prompt)"
        shown = ", ".join(f"{key}={value!r}" for key, value in inputs.items())
        return f"{self.name} was asked: {asked}" + (f" (inputs: {shown})" if shown else "")


class EchoAgent(Agent):
    """Returns its Prompt filled from the inputs when the Prompt has a ``{``; else its single
    input's value, or a mapping of its inputs when there are several (as AgentMap's echo)."""

    __slots__ = ()
    agent_type = "echo"
    quick = True
    context_keys = frozenset()

    def process(self, inputs: Mapping[str, Any]) -> Any:
        if "{" in self.prompt:  # AgentMap's test: any brace makes the Prompt a template
            return self.render_prompt(inputs)
        if len(inputs) == 1:
            return next(iter(inputs.values()))
        return dict(inputs) if inputs else None


class SuccessAgent(Agent):
    """Always succeeds."""

    __slots__ = ()
    agent_type = "success"
    quick = True
    context_keys = frozenset()

    def process(self, inputs: Mapping[str, Any]) -> str:
        return f"{self.name} succeeded"


class FailureAgent(Agent):
    """Always fails, without raising; the Prompt (if any) is the error message."""

    __slots__ = ()
    agent_type = "failure"
    quick = True
    context_keys = frozenset()

    def process(self, inputs: Mapping[str, Any]) -> Failure:
        return Failure(self.render_prompt(inputs) or f"{self.name} failed (failure agent)")


class BranchingAgent(Agent):
    """Succeeds or fails on one input's value, so a graph can branch on data.

    Context picks the input and what its values mean, in our words or AgentMap's:
    ``field`` (or ``success_field``) names the input, else the first one decides;
    ``equals`` is the one value meaning success; or ``success_values`` / ``failure_values``
    list values (compared as text, ignoring case); ``default_result`` decides a value in
    neither list; ``fallback_fields`` are read when the field is missing (``branch_rules.py``).
    """

    __slots__ = ("rules",)
    agent_type = "branching"
    quick = True
    context_keys = frozenset({"field", "equals", *BRANCH_KEYS})  # BRANCH_KEYS: AgentMap's

    def __init__(
        self,
        name: str,
        prompt: str = "",
        context: Mapping[str, Any] | str | None = None,
        description: str = "",
    ) -> None:
        super().__init__(name, prompt, context, description)
        # Read once: the agent serves every run of its graph. A bad Context (validation
        # refuses it; a graph built in code may not be validated) fails each run, saying why.
        self.rules = branch_rules(context if isinstance(context, Mapping) else {})

    @classmethod
    def context_problem(cls, context: Mapping[str, Any] | str | None) -> str | None:
        rules = branch_rules(context) if isinstance(context, Mapping) else None
        return rules if isinstance(rules, str) else None

    def process(self, inputs: Mapping[str, Any]) -> Any:
        rules = self.rules
        if isinstance(rules, str):
            return Failure(f"{self.name}: {rules}")
        field = rules.field or next(iter(inputs), None)
        found = rules.find(inputs, field)
        if found is None:
            return self._nothing_found(inputs, field, rules.default)
        name, value = found
        if rules.decide(value):
            return value
        return Failure(f"{self.name}: '{name}' is {value!r}", value=value)

    def _nothing_found(
        self, inputs: Mapping[str, Any], field: str | None, default: bool | None
    ) -> Any:
        """No value to test: ``default_result`` decides, else the node fails saying why."""
        if default is not None:
            return None if default else Failure(f"{self.name}: no value to branch on")
        if field is None:
            return Failure(f"{self.name} has no input to branch on — list one in Input_Fields")
        if field not in inputs:
            return Failure(f"{self.name} branches on '{field}', which is not among its inputs")
        return Failure(f"{self.name}: '{field}' is None", value=None)


class InputAgent(Agent):
    """Asks the person at the terminal: the prompt goes to stderr so stdout stays clean."""

    __slots__ = ()
    agent_type = "input"
    context_keys = frozenset()

    def process(self, inputs: Mapping[str, Any]) -> Any:
        sys.stderr.write(f"{self.render_prompt(inputs) or self.name + ':'} ")
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not line:
            return Failure(f"{self.name}: no answer — standard input is closed")
        return line.rstrip("\r\n")


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
