"""``orchestrator``: choose the node a run goes to next, from what the request is about.

The candidates are the targets of the node's routing cell (``Billing|Support|Other`` in
Success_Next or Edge) — a choice, not parallel branches — or the subset of them listed in
Context ``nodes``. The ``keyword`` strategy (the default) picks the candidate whose name,
Description and Prompt share the most words with the node's inputs; Context
``"strategy": "llm"`` asks the model to pick one. No match, a tie, or a reply that names no
candidate goes to Context ``default``; without one the node fails. The choice is the node's
output (so it is tracked and can be stored) and the run goes there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agentmap.agents.base import Failure, Output, Usage
from agentmap.graph.model import FUNC_PREFIX, Node
from agentmap.llm.base import ModelAgent, text_of
from agentmap.llm.errors import LLMError

STRATEGIES = ("keyword", "llm")
_COMMON_WORDS = (
    "the and for with you your this that are was were not but have has had from about what "
    "when where which who how can could would should will just into out our its their them "
    "they there here then than also very please need want get got"
)
_STOP_WORDS = frozenset(_COMMON_WORDS.split())  # words that say nothing about a topic


class OrchestratorAgent(ModelAgent):
    """Picks the next node among its routing cell's targets; see the module docstring.

    Context: ``strategy`` (``keyword`` | ``llm``), ``nodes`` (a subset of the targets),
    ``default`` (where to go when nothing matches), and for ``llm`` the model settings of an
    ``llm`` node.
    """

    agent_type = "orchestrator"

    async def respond(self, inputs: Mapping[str, Any]) -> Output:
        """The chosen node's name, as the output and as the next node."""
        candidates = self._candidates()
        default = self._default(candidates)
        strategy = self.options.get("strategy", "keyword")
        usage: Usage | None = None
        if strategy == "keyword":
            choice, why = keyword_choice(text_of(inputs), candidates), "no candidate matched"
        elif strategy == "llm":
            choice, reply, usage = await self._ask_model(inputs, candidates)
            why = f"the model chose {reply!r}, which is not one of them"
        else:
            raise LLMError(f"Context strategy must be one of {', '.join(STRATEGIES)}: {strategy!r}")
        choice = choice or default
        if choice is None:
            names = ", ".join(candidates)
            error = f"{why} ({names}) — declare Context default"
            return Output(Failure(error), usage=usage)
        self.logger.info("routing to %r", choice)
        return Output(choice, usage=usage, next=choice)

    def _candidates(self) -> dict[str, Node]:
        """The nodes to choose among, by name, in the order written."""
        targets = self._targets()
        listed = self.options.get("nodes", targets)
        if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
            raise LLMError(f"Context nodes must be a list of node names, not {listed!r}")
        if not listed:
            raise LLMError("no nodes to choose from — list them in Success_Next (A|B|C) or Edge")
        outside = [name for name in listed if name not in targets]
        if outside:
            raise LLMError(
                f"Context nodes {', '.join(outside)} are not targets of the routing cell — "
                "list every candidate there too (Success_Next: A|B|C)"
            )
        return {name: self.graph.nodes[name] for name in listed}

    def _targets(self) -> list[str]:
        """The node names in this node's routing cell (Edge, else Success_Next)."""
        if self.graph is None:
            raise LLMError("an orchestrator chooses among the nodes of its graph, but has none")
        me: Node | None = self.graph.nodes.get(self.name)
        cell = (me.edge or me.success_next or "") if me is not None else ""
        targets = [t.strip() for t in cell.split("|") if t.strip()]
        if any(t.startswith(FUNC_PREFIX) for t in targets):
            raise LLMError("an orchestrator routes itself: its routing cell must list node names")
        return targets

    def _default(self, candidates: Mapping[str, Node]) -> str | None:
        default = self.options.get("default")
        if default is not None and default not in candidates:
            names = ", ".join(candidates)
            raise LLMError(f"Context default {default!r} is not one of the candidates ({names})")
        return default if isinstance(default, str) else None

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


def keyword_choice(text: str, candidates: Mapping[str, Node]) -> str | None:
    """The candidate sharing the most words with ``text``; None on no match or a tie.

    A candidate's words are those of its name, Description and Prompt; plurals and tenses
    count as one word (``charged`` matches ``charges``).
    """
    asked = _stems(text)
    scores = {
        name: len(asked & _stems(f"{name} {node.description} {node.prompt}"))
        for name, node in candidates.items()
    }
    best = max(scores.values(), default=0)
    winners = [name for name, score in scores.items() if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def named_choice(reply: str, names: list[str]) -> str | None:
    """The name a model's reply gives: the whole reply, or the only name it mentions."""
    cleaned = reply.strip().strip("`'\".:!*").strip().casefold()
    for name in names:
        if name.casefold() == cleaned:
            return name
    mentioned = [
        name for name in names if re.search(rf"\b{re.escape(name.casefold())}\b", reply.casefold())
    ]
    return mentioned[0] if len(mentioned) == 1 else None


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
