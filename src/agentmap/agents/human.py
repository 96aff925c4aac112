"""Agents that wait for people: ``human`` asks a question, ``suspend`` waits to be resumed.

Both return a ``Pause``; the runner decides what that means. In a terminal the CLI asks at
once. Anywhere else the run stops as ``waiting``, and ``agentmap resume RUN_ID`` answers it.
Context (AgentMap's names): ``interaction_type`` is ``text_input`` (the default, a free
answer), ``approval``, ``choice`` (with ``options``), ``edit`` (the person corrects the node's
input text) or ``conversation`` (a message; ``history`` names a state key keeping the
exchange). ``timeout_seconds`` bounds the wait; ``default_action`` (or AgentMap's other
spelling, ``default_option``) is the answer taken when it runs out.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from agentmap.agents.base import Agent, Failure, Pause, PauseKind
from agentmap.exceptions import AnswerError
from agentmap.outcomes import Output

KINDS: dict[str, PauseKind] = {
    "text_input": "text",
    "text": "text",
    "approval": "approval",
    "choice": "choice",
    "edit": "edit",
    "conversation": "conversation",
}

DEFAULT_KEYS = ("default_action", "default_option")
"""Where AgentMap's Context keeps the answer a timeout takes: its docs say ``default_action``,
its code reads ``default_option``."""

APPROVING = {"approve", "approved", "yes", "true"}
REJECTING = {"reject", "rejected", "no", "false"}
"""How a ``default_action`` written as text approves or rejects."""


AGENTMAP_MESSAGING_KEYS = frozenset(
    key
    for kind in ("suspend", "resume", "graph")
    for key in (f"send_{kind}_message", f"{kind}_message_template", f"{kind}_message_topic")
)
"""AgentMap's Context keys for messages sent to a queue on pausing and resuming (no queues
here: the run's events say the same); accepted with a warning."""


class HumanAgent(Agent):
    """Asks a person its rendered Prompt; the answer becomes the node's output.

    ``approval``: approving succeeds with ``True``, rejecting fails (Failure_Next) with
    ``False``. ``choice``: the chosen option's text. ``text_input``: the text as typed.
    ``edit``: the edited text (approving keeps the text as it was). ``conversation``: the
    message; an empty message (or rejecting) ends the conversation through Failure_Next.
    """

    agent_type = "human"
    context_keys: ClassVar[frozenset[str]] = frozenset(
        {"interaction_type", "options", "timeout_seconds", "history", *DEFAULT_KEYS}
    )
    ignored_context_keys = AGENTMAP_MESSAGING_KEYS

    def state_keys(self) -> tuple[str, ...]:
        """A conversation's ``history`` key, so the exchange so far arrives with the inputs."""
        key = self._settings().get("history")
        return (key,) if self._kind() == "conversation" and isinstance(key, str) and key else ()

    def process(self, inputs: Mapping[str, Any]) -> Pause | Failure:
        context = self._settings()
        kind = self._kind()
        timeout = _seconds(context.get("timeout_seconds"))
        history_key = next(iter(self.state_keys()), None)
        history = inputs.get(history_key) if history_key else None
        if history is not None and not _is_conversation(history):
            return Failure(
                f"state key '{history_key}' does not hold a conversation (a list of "
                '{"role": ..., "content": ...}) — name another key in Context history, or clear it'
            )
        return Pause(
            self.render_prompt(inputs) or f"{self.name}?",
            kind,
            tuple(str(option) for option in context.get("options") or ()),
            draft=_draft(inputs) if kind == "edit" else None,
            timeout=timeout,
            deadline=time.time() + timeout if timeout is not None else None,
            default=next((context[k] for k in DEFAULT_KEYS if context.get(k) is not None), None),
            history_key=history_key,
            history=tuple(history or ()),
        )

    def _settings(self) -> Mapping[str, Any]:
        return self.context if isinstance(self.context, Mapping) else {}

    def _kind(self) -> PauseKind:
        return KINDS[str(self._settings().get("interaction_type", "text_input")).lower()]

    @classmethod
    def context_problem(cls, context: Mapping[str, Any] | str | None) -> str | None:
        if not isinstance(context, Mapping):
            return None
        kind = str(context.get("interaction_type", "text_input")).lower()
        if kind not in KINDS:
            return (
                f"interaction_type {context.get('interaction_type')!r} is not one of "
                "text_input, approval, choice, edit, conversation — fix the Context"
            )
        options = context.get("options")
        if KINDS[kind] == "choice" and (not isinstance(options, list) or len(options) < 2):
            return (
                'a choice needs at least two options: Context {"interaction_type": "choice", '
                '"options": ["yes", "no"]}'
            )
        timeout = context.get("timeout_seconds")
        if timeout is not None and _seconds(timeout) is None:
            return (
                f"timeout_seconds must be a number of seconds above 0, not {timeout!r} — "
                'e.g. {"timeout_seconds": 3600}'
            )
        history = context.get("history")
        if history is not None and (not isinstance(history, str) or not history.strip()):
            return (
                'history names the state key keeping the conversation, e.g. "chat_log", '
                f"not {history!r}"
            )
        return None


class SuspendAgent(Agent):
    """Stops the run until it is resumed; ``--value`` (if given) becomes the node's output."""

    agent_type = "suspend"
    context_keys = frozenset()
    ignored_context_keys = AGENTMAP_MESSAGING_KEYS | {"reason", "external_ref"}

    def process(self, inputs: Mapping[str, Any]) -> Pause:
        return Pause(self.render_prompt(inputs) or f"{self.name}: waiting to be resumed", "suspend")


def answer_value(pause: Pause, answer: Any) -> Any:
    """The node's return value for a person's ``answer`` to ``pause``.

    ``approval`` takes a bool (rejecting fails the node), ``choice`` an option's number (from
    1) or its text, ``text`` a string, ``edit`` the edited string (``True``: keep the draft),
    ``conversation`` a message (empty, or ``False``: end it), ``suspend`` anything.
    ``AnswerError`` (a ``ValueError``) says what fits.
    """
    if pause.kind == "suspend":
        return answer
    if pause.kind == "approval":
        if not isinstance(answer, bool):
            raise AnswerError("it asks to approve or reject: answer with --approve or --reject")
        return True if answer else Failure("rejected", value=False)
    if pause.kind == "choice":
        return _chosen(pause, answer)
    if pause.kind == "edit":
        return _edited(pause, answer)
    if pause.kind == "conversation":
        return _replied(pause, answer)
    if not isinstance(answer, str):
        raise AnswerError("it asks a question: answer with --value TEXT")
    return answer


def timed_out(pause: Pause, now: float | None = None) -> bool:
    """Whether ``pause``'s time to answer has run out."""
    return pause.deadline is not None and (time.time() if now is None else now) >= pause.deadline


def timeout_value(pause: Pause) -> Any:
    """The node's value once the time to answer ran out: its default answer, when that is
    an answer to the question; otherwise the node fails, so Failure_Next handles it (AgentMap's
    examples name a route as the default: ``"default_action": "escalate"``)."""
    taken = _default_taken(pause)
    if taken is not _NO_DEFAULT:
        return taken
    why = f"no answer within {_format_seconds(pause.timeout)} (timeout_seconds)"
    if pause.default is not None:
        why += f"; the default {pause.default!r} is not an answer to this question"
    return Failure(why)


def timeout_outcome(pause: Pause) -> str:
    """What happens when ``pause``'s time runs out, in words (for messages)."""
    if _default_taken(pause) is _NO_DEFAULT:
        return "the node fails (Failure_Next)"
    return f"its default {pause.default!r} is taken"


_NO_DEFAULT: Any = object()


def _default_taken(pause: Pause) -> Any:
    """The value the default answer gives, or ``_NO_DEFAULT`` when there is none that fits."""
    if pause.default is None:
        return _NO_DEFAULT
    try:
        return answer_value(pause, _as_answer(pause, pause.default))
    except AnswerError:
        return _NO_DEFAULT


def _chosen(pause: Pause, answer: Any) -> str:
    numbered = ", ".join(f"{i} = {option}" for i, option in enumerate(pause.options, 1))
    if isinstance(answer, int) and not isinstance(answer, bool):
        if 1 <= answer <= len(pause.options):
            return pause.options[answer - 1]
        raise AnswerError(f"there is no choice {answer}: choose with --choice N ({numbered})")
    if isinstance(answer, str) and answer in pause.options:
        return answer
    raise AnswerError(f"it asks for a choice: answer with --choice N ({numbered})")


def _edited(pause: Pause, answer: Any) -> str:
    if answer is True:  # approved as it stands
        return pause.draft or ""
    if not isinstance(answer, str):
        raise AnswerError(
            "it asks to edit a text: answer with --value TEXT (the edited text), or --approve "
            "to keep it as it is"
        )
    return answer


def _replied(pause: Pause, answer: Any) -> Any:
    if answer is False or (isinstance(answer, str) and not answer.strip()):
        return Failure("the conversation ended")
    if not isinstance(answer, str):
        raise AnswerError(
            "it asks for a message: answer with --value TEXT, or --reject to end the conversation"
        )
    if pause.history_key is None:
        return answer
    exchange = [
        *(dict(message) for message in pause.history),
        {"role": "assistant", "content": pause.question},
        {"role": "user", "content": answer},
    ]
    return Output(answer, updates={pause.history_key: exchange})


def _as_answer(pause: Pause, default: Any) -> Any:
    """A ``default_action`` as the answer it stands for: ``approve`` / ``reject`` are the
    approval itself (and approving an edit keeps the draft)."""
    if pause.kind in ("approval", "edit") and isinstance(default, str):
        word = default.strip().lower()
        if word in APPROVING:
            return True
        if word in REJECTING and pause.kind == "approval":
            return False
    return default


def _seconds(value: Any) -> float | None:
    """``timeout_seconds`` as a positive, finite number of seconds, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "the time allowed"
    shown = int(seconds) if float(seconds).is_integer() else seconds
    return f"{shown} second{'' if shown == 1 else 's'}"


def _draft(inputs: Mapping[str, Any]) -> str:
    """The text an ``edit`` shows: the input ``original`` (AgentMap's name), else the first."""
    value = inputs["original"] if "original" in inputs else next(iter(inputs.values()), None)
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _is_conversation(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(m, Mapping)
        and isinstance(m.get("role"), str)
        and isinstance(m.get("content"), str)
        for m in value
    )
