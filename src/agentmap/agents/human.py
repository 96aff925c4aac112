"""Agents that wait for people: ``human`` asks a question, ``suspend`` waits to be resumed.

Both return a ``Pause``; the runner decides what that means. In a terminal the CLI asks at
once. Anywhere else the run stops as ``waiting``, and ``agentmap resume RUN_ID`` answers it.
Context (AgentMap's names): ``{"interaction_type": "approval"}`` or ``"choice"`` with
``{"options": ["a", "b"]}``; the default is ``text_input``, a free answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentmap.agents.base import Agent, Failure, Pause, PauseKind
from agentmap.exceptions import AnswerError

KINDS: dict[str, PauseKind] = {
    "text_input": "text",
    "text": "text",
    "approval": "approval",
    "choice": "choice",
}


class HumanAgent(Agent):
    """Asks a person its rendered Prompt; the answer becomes the node's output.

    ``approval``: approving succeeds with ``True``, rejecting fails (Failure_Next) with
    ``False``. ``choice``: the chosen option's text. ``text_input``: the text as typed.
    """

    agent_type = "human"

    def process(self, inputs: Mapping[str, Any]) -> Pause:
        context = self.context if isinstance(self.context, Mapping) else {}
        kind = KINDS[str(context.get("interaction_type", "text_input"))]
        options = tuple(str(option) for option in context.get("options") or ())
        question = self.render_prompt(inputs) or f"{self.name}?"
        return Pause(question, kind, options)

    @classmethod
    def context_problem(cls, context: Mapping[str, Any] | str | None) -> str | None:
        if not isinstance(context, Mapping):
            return None
        kind = context.get("interaction_type", "text_input")
        if kind not in KINDS:
            return (
                f"interaction_type {kind!r} is not one of text_input, approval, choice — "
                "fix the Context"
            )
        options = context.get("options")
        if KINDS[kind] == "choice" and (not isinstance(options, list) or len(options) < 2):
            return (
                'a choice needs at least two options: Context {"interaction_type": "choice", '
                '"options": ["yes", "no"]}'
            )
        return None


class SuspendAgent(Agent):
    """Stops the run until it is resumed; ``--value`` (if given) becomes the node's output."""

    agent_type = "suspend"

    def process(self, inputs: Mapping[str, Any]) -> Pause:
        return Pause(self.render_prompt(inputs) or f"{self.name}: waiting to be resumed", "suspend")


def answer_value(pause: Pause, answer: Any) -> Any:
    """The node's return value for a person's ``answer`` to ``pause``.

    ``approval`` takes a bool (rejecting fails the node), ``choice`` an option's number (from
    1) or its text, ``text`` a string, ``suspend`` anything. ``AnswerError`` (a ``ValueError``)
    says what fits.
    """
    if pause.kind == "suspend":
        return answer
    if pause.kind == "approval":
        if not isinstance(answer, bool):
            raise AnswerError("it asks to approve or reject: answer with --approve or --reject")
        return True if answer else Failure("rejected", value=False)
    if pause.kind == "choice":
        numbered = ", ".join(f"{i} = {option}" for i, option in enumerate(pause.options, 1))
        if isinstance(answer, int) and not isinstance(answer, bool):
            if 1 <= answer <= len(pause.options):
                return pause.options[answer - 1]
            raise AnswerError(f"there is no choice {answer}: choose with --choice N ({numbered})")
        if isinstance(answer, str) and answer in pause.options:
            return answer
        raise AnswerError(f"it asks for a choice: answer with --choice N ({numbered})")
    if not isinstance(answer, str):
        raise AnswerError("it asks a question: answer with --value TEXT")
    return answer
