"""``orchestrator``: choose the node a run goes to next, from what the request is about.

The candidates are the targets of the node's routing cell (``Billing|Support|Other`` in
Success_Next or Edge) — a choice, not parallel branches — or, with no routing cell, every other
node of the graph (as AgentMap does). Context ``nodes`` narrows them (a list, or AgentMap's
``"A|B"``; ``"all"`` keeps them all), and so does ``node_type`` (AgentMap's ``nodeType`` too):
only nodes of that AgentType. A single candidate is chosen without asking anything.

Strategies — Context ``strategy``, or AgentMap's ``matching_strategy``:

- ``keyword`` (the default; AgentMap's ``algorithm``): the candidate whose name, Description and
  Prompt share the most words with the node's inputs. Its *confidence* is 1.0 when the request
  names exactly one candidate, else the share of the request's words the winner matched (0 on a
  tie or no match).
- ``llm``: the model picks one.
- ``tiered``: the keyword choice when its confidence reaches Context ``confidence_threshold``
  (default 0.8), else the model's.

No match, a tie, or a reply that names no candidate goes to Context ``default`` (AgentMap's
``default_target``); without one the node fails. The choice is the node's output (so it is
tracked and can be stored) and the run goes there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from agentmap.agents.base import Failure, Output, Usage, type_name_of
from agentmap.graph.model import FUNC_PREFIX, Node
from agentmap.llm.base import MODEL_CONTEXT_KEYS, MODEL_IGNORED_KEYS, ModelAgent, text_of
from agentmap.llm.errors import LLMError

STRATEGIES = ("keyword", "llm", "tiered")
STRATEGY_ALIASES = {"algorithm": "keyword"}
"""AgentMap's names for ours."""
DEFAULT_THRESHOLD = 0.8
_COMMON_WORDS = (
    "the and for with you your this that are was were not but have has had from about what "
    "when where which who how can could would should will just into out our its their them "
    "they there here then than also very please need want get got"
)
_STOP_WORDS = frozenset(_COMMON_WORDS.split())  # words that say nothing about a topic


@dataclass(frozen=True, slots=True)
class Choosing:
    """An orchestrator's Context settings, read and checked."""

    strategy: str = "keyword"
    threshold: float = DEFAULT_THRESHOLD
    nodes: tuple[str, ...] | None = None
    node_type: str | None = None
    default: str | None = None

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Choosing:
        """The settings in ``context``; ``LLMError`` names the first bad one."""
        return cls(
            _strategy(context),
            _threshold(context.get("confidence_threshold", DEFAULT_THRESHOLD)),
            _nodes(context.get("nodes")),
            _name(context, "node_type") or _name(context, "nodeType"),
            _name(context, "default") or _name(context, "default_target"),
        )


class OrchestratorAgent(ModelAgent):
    """Picks the next node among its candidates; see the module docstring.

    Context: ``strategy`` / ``matching_strategy`` (``keyword`` | ``llm`` | ``tiered``),
    ``confidence_threshold``, ``nodes``, ``node_type``, ``default`` / ``default_target``, and for
    the model the settings of an ``llm`` node (``llm_type`` names its provider).
    """

    agent_type = "orchestrator"
    context_keys: ClassVar[frozenset[str] | None] = MODEL_CONTEXT_KEYS | {
        "strategy",
        "matching_strategy",
        "confidence_threshold",
        "nodes",
        "node_type",
        "nodeType",
        "default",
        "default_target",
    }
    ignored_context_keys: ClassVar[frozenset[str]] = MODEL_IGNORED_KEYS | {"selection_criteria"}

    @classmethod
    def context_problem(cls, context: Mapping[str, Any] | str | None) -> str | None:
        """A bad strategy, threshold, ``nodes`` or ``default`` setting, found before the run."""
        return choosing_problem(context)

    async def respond(self, inputs: Mapping[str, Any]) -> Output:
        """The chosen node's name, as the output and as the next node."""
        settings = Choosing.from_context(self.options)
        candidates = self._candidates(settings)
        default = self._default(settings, candidates)
        choice, why, usage = await self._choose(settings, inputs, candidates)
        choice = choice or default
        if choice is None:
            names = ", ".join(candidates)
            return Output(Failure(f"{why} ({names}) — declare Context default"), usage=usage)
        self.logger.info("routing to %r", choice)
        return Output(choice, usage=usage, next=choice)

    async def _choose(
        self, settings: Choosing, inputs: Mapping[str, Any], candidates: Mapping[str, Node]
    ) -> tuple[str | None, str, Usage | None]:
        """The candidate chosen (None: none), why none was, and the tokens the model took."""
        if len(candidates) == 1:
            return next(iter(candidates)), "", None
        if settings.strategy != "llm":
            choice, confidence = keyword_match(text_of(inputs), candidates)
            if settings.strategy == "keyword" or confidence >= settings.threshold:
                return choice, "no candidate matched", None
            self.logger.info(
                "keyword choice %r has confidence %.2f, below %.2g: asking the model",
                choice,
                confidence,
                settings.threshold,
            )
        choice, reply, usage = await self._ask_model(inputs, candidates)
        return choice, f"the model chose {reply!r}, which is not one of them", usage

    def _candidates(self, settings: Choosing) -> dict[str, Node]:
        """The nodes to choose among, by name, in the order written."""
        targets = self._targets()
        listed = list(settings.nodes) if settings.nodes is not None else targets
        outside = [name for name in listed if name not in targets]
        if outside:
            where = (
                "targets of the routing cell — list every candidate there too (Success_Next: A|B|C)"
                if self._cell()
                else "nodes of this graph"
            )
            raise LLMError(f"Context nodes {', '.join(outside)} are not {where}")
        if settings.node_type is not None:
            wanted = type_name_of(settings.node_type)
            listed = [n for n in listed if type_name_of(self.graph.nodes[n].agent_type) == wanted]
        if not listed:
            raise LLMError(
                f"no nodes to choose from: none is of node_type {settings.node_type!r}"
                if settings.node_type is not None
                else "no nodes to choose from — the graph has no other node"
            )
        return {name: self.graph.nodes[name] for name in listed}

    def _targets(self) -> list[str]:
        """The node names of the routing cell (Edge, else Success_Next); with no cell, every
        other node of the graph."""
        targets = self._cell()
        if any(t.startswith(FUNC_PREFIX) for t in targets):
            raise LLMError("an orchestrator routes itself: its routing cell must list node names")
        return targets or [name for name in self.graph.nodes if name != self.name]

    def _cell(self) -> list[str]:
        if self.graph is None:
            raise LLMError("an orchestrator chooses among the nodes of its graph, but has none")
        me: Node | None = self.graph.nodes.get(self.name)
        cell = (me.edge or me.success_next or "") if me is not None else ""
        return [t.strip() for t in cell.split("|") if t.strip()]

    def _default(self, settings: Choosing, candidates: Mapping[str, Node]) -> str | None:
        default = settings.default
        if default is not None and default not in candidates:
            names = ", ".join(candidates)
            raise LLMError(f"Context default {default!r} is not one of the candidates ({names})")
        return default

    async def _ask_model(
        self, inputs: Mapping[str, Any], candidates: Mapping[str, Node]
    ) -> tuple[str | None, str, Usage]:
        """The candidate the model names, its raw reply, and the tokens it took."""
        listing = "\n".join(
            f"- {name}: {node.description or node.prompt or name}"
            for name, node in candidates.items()
        )
        system = (
            "You route a request to exactly one of these options:\n"
            f"{listing}\n"
            "Reply with the name of the option and nothing else."
        )
        request = self.render_prompt(inputs) if self.prompt else text_of(inputs)
        completion = await self.ask(
            [{"role": "user", "content": request}], system=system, stream=False
        )
        choice = named_choice(completion.text, list(candidates))
        if choice is None:
            self.logger.warning("the model's choice %r is not a candidate", completion.text)
        return choice, completion.text, completion.usage


def keyword_match(text: str, candidates: Mapping[str, Node]) -> tuple[str | None, float]:
    """The candidate that best matches ``text``, and how sure that is (0 to 1).

    Sure (1.0) when ``text`` names exactly one candidate. Otherwise the candidate sharing the
    most words with ``text`` — a candidate's words are those of its name, Description and
    Prompt; plurals and tenses count as one word (``charged`` matches ``charges``) — with the
    share of ``text``'s words it matched; no match or a tie is ``(None, 0.0)``.
    """
    named = [name for name in candidates if _mentions(text, name)]
    if len(named) == 1:
        return named[0], 1.0
    asked = _stems(text)
    scores = {
        name: len(asked & _stems(f"{name} {node.description} {node.prompt}"))
        for name, node in candidates.items()
    }
    best = max(scores.values(), default=0)
    winners = [name for name, score in scores.items() if score == best]
    if best == 0 or len(winners) > 1:
        return None, 0.0
    return winners[0], best / len(asked)


def named_choice(reply: str, names: list[str]) -> str | None:
    """The name a model's reply gives: the whole reply, or the only name it mentions."""
    cleaned = reply.strip().strip("`'\".:!*").strip().casefold()
    for name in names:
        if name.casefold() == cleaned:
            return name
    mentioned = [name for name in names if _mentions(reply, name)]
    return mentioned[0] if len(mentioned) == 1 else None


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name.casefold())}\b", text.casefold()) is not None


def _strategy(context: Mapping[str, Any]) -> str:
    ours, theirs = context.get("strategy"), context.get("matching_strategy")
    if ours is not None and theirs is not None and ours != theirs:
        raise LLMError(
            f"Context strategy {ours!r} and matching_strategy {theirs!r} disagree — keep one"
        )
    value = ours if ours is not None else theirs if theirs is not None else "keyword"
    strategy = STRATEGY_ALIASES.get(value, value) if isinstance(value, str) else value
    if strategy not in STRATEGIES:
        key = "strategy" if ours is not None else "matching_strategy"
        names = ", ".join([*STRATEGIES, *STRATEGY_ALIASES])
        raise LLMError(f"Context {key} must be one of {names}: {value!r}")
    return str(strategy)


def _threshold(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    raise LLMError(f"Context confidence_threshold must be a number from 0 to 1, not {value!r}")


def _nodes(value: Any) -> tuple[str, ...] | None:
    """Context ``nodes``: a list of names, AgentMap's ``"A|B"``, or ``"all"`` (None: all)."""
    if value is None or (isinstance(value, str) and value.strip().casefold() == "all"):
        return None
    if isinstance(value, str) and value.strip():
        return tuple(part.strip() for part in value.split("|") if part.strip())
    if isinstance(value, list) and value and all(isinstance(n, str) for n in value):
        return tuple(value)
    raise LLMError(f'Context nodes must be a list of node names (or "A|B"), not {value!r}')


def _name(context: Mapping[str, Any], key: str) -> str | None:
    value = context.get(key)
    if value is None or (isinstance(value, str) and value):
        return value
    raise LLMError(f"Context {key} must be a node name, not {value!r}")


def _stems(text: str) -> set[str]:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)  # BillingDesk → Billing Desk
    words = re.findall(r"[^\W_]+", spaced.casefold())
    return {_stem(word) for word in words if len(word) > 2 and word not in _STOP_WORDS}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def choosing_problem(context: Mapping[str, Any] | str | None) -> str | None:
    """What is wrong with a Context's choosing settings (strategy, threshold, ``nodes``,
    ``default``), found before the run; shared by the agents that choose (orchestrator, tools)."""
    if not isinstance(context, Mapping):
        return None
    try:
        Choosing.from_context(context)
    except LLMError as error:
        return str(error)
    return None
