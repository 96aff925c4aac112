"""``tool_agent``: call one of the functions of a Python file, chosen for the request at hand.

A node names the file in Tool_Source (a ``.py`` file, or a folder whose top-level ``.py``
files are all read) and the functions it may call in Available_Tools (``add|multiply``; blank:
every public function the file defines). Which one runs:

1. a node with one tool calls it;
2. else the state key ``tool`` names it (``--state '{"tool": "multiply", ...}'``);
3. else Context ``strategy`` chooses (AgentMap's ``matching_strategy`` too), as an
   ``orchestrator`` chooses a node: ``keyword`` (AgentMap's ``algorithm``) picks the tool
   whose name and description share the most words with the request (the Prompt, its
   placeholders filled, and the inputs), ``llm`` asks the model, ``tiered`` takes the words'
   choice when it is sure enough (Context ``confidence_threshold``, default 0.8), else asks
   the model. Without a strategy nothing is guessed (no model is paid for unasked): the node
   fails and says how to choose.

The tool's parameters are filled from the node's inputs by name; required parameters no input
names take the inputs no parameter names, in Input_Fields order (AgentMap's habit:
``reverse(text)`` called from a node whose input is ``upper_text``). Values are converted to
the parameters' annotations as LangChain's ``@tool`` does (``"3"`` for ``a: int`` is 3). What
the tool returns is the node's output; a tool that raises fails the node with its message.

Functions LangChain's ``@tool`` made into tool objects are read too (their ``name``,
``description`` and ``func``): an AgentMap tool module runs unchanged where langchain-core is
installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from agentmap.agents.base import Failure, Output, Usage
from agentmap.agents.toolbox import SELECTOR, TOOL_TYPE, Tool, node_tools
from agentmap.exceptions import AgentError
from agentmap.graph.model import Graph, Node
from agentmap.llm.base import MODEL_CONTEXT_KEYS, MODEL_IGNORED_KEYS, ModelAgent, text_of
from agentmap.llm.orchestrator import Choosing, choosing_problem, keyword_match, named_choice
from agentmap.security import AllowedPaths
from agentmap.suggest import did_you_mean

STRATEGY_KEYS = frozenset({"strategy", "matching_strategy"})
"""Context keys that choose how a tool is picked (ours, and AgentMap's name for it)."""


class ToolAgent(ModelAgent):
    """Calls one function of its Tool_Source file, chosen among its Available_Tools.

    See the module docstring for how the tool is chosen and called.
    """

    agent_type = TOOL_TYPE
    context_keys: ClassVar[frozenset[str] | None] = MODEL_CONTEXT_KEYS | {
        *STRATEGY_KEYS,
        "confidence_threshold",
    }
    ignored_context_keys: ClassVar[frozenset[str]] = MODEL_IGNORED_KEYS

    @classmethod
    def context_problem(cls, context: Mapping[str, Any] | str | None) -> str | None:
        """A bad strategy or threshold, found before the run."""
        return choosing_problem(context)

    def __init__(
        self,
        name: str,
        prompt: str = "",
        context: Mapping[str, Any] | str | None = None,
        description: str = "",
    ) -> None:
        super().__init__(name, prompt, context, description)
        self.tools: dict[str, Tool] = {}
        self.order: tuple[str, ...] = ()

    def bind(self, graph: Any, settings: Any) -> None:
        """Load the node's tools once, when the graph is compiled (validation found them)."""
        super().bind(graph, settings)
        node = graph.nodes.get(self.name) if isinstance(graph, Graph) else None
        if node is None:
            raise AgentError(f"tool_agent '{self.name}' is not a node of a graph", node=self.name)
        allowed = AllowedPaths.of(settings) if settings is not None else AllowedPaths(None)
        self.tools = node_tools(graph, node, allowed)
        self.order = tuple(param for _, param in node.inputs)

    def state_keys(self) -> tuple[str, ...]:
        """The ``tool`` key, so a run can name the tool to call."""
        return (SELECTOR,)

    async def respond(self, inputs: Mapping[str, Any]) -> Output:
        """Choose a tool, call it, and return what it returned."""
        tool, usage = await self._choose(inputs)
        if isinstance(tool, Failure):
            return Output(tool, usage=usage)
        arguments = {k: v for k, v in inputs.items() if k != SELECTOR or k in self.order}
        self.logger.info("calling tool %r", tool.name)
        try:
            value = await tool.call(arguments, self.order)
        except AgentError as error:  # the inputs don't fit the tool's parameters
            return Output(Failure(str(error)), usage=usage)
        except Exception as exc:  # the user's function: any error is the node's failure
            self.logger.info("tool %r raised", tool.name, exc_info=True)
            message = f"tool '{tool.name}' raised {type(exc).__name__}: {exc}"
            return Output(Failure(message), usage=usage)
        return Output(value, usage=usage)

    async def _choose(self, inputs: Mapping[str, Any]) -> tuple[Tool | Failure, Usage | None]:
        if len(self.tools) == 1:
            return next(iter(self.tools.values())), None
        named = inputs.get(SELECTOR)
        if named not in (None, ""):
            return self._named(str(named)), None
        if not STRATEGY_KEYS & self.options.keys():
            return Failure(
                f"{self.name} has several tools ({', '.join(self.tools)}) and nothing chooses "
                f"one — put the tool's name in the state key '{SELECTOR}', or set Context "
                '"strategy" to "keyword", "llm" or "tiered"'
            ), None
        settings = Choosing.from_context(self.options)
        request = self._request(inputs)
        if settings.strategy != "llm":
            candidates = {name: _as_node(tool) for name, tool in self.tools.items()}
            choice, confidence = keyword_match(request, candidates)
            if settings.strategy == "keyword" or confidence >= settings.threshold:
                return (self.tools[choice] if choice else self._unmatched()), None
            self.logger.info("keyword choice %r is not sure enough: asking the model", choice)
        choice, reply, usage = await self._ask_model(request)
        if choice is None:
            names = ", ".join(self.tools)
            return Failure(
                f"the model chose {reply!r}, which is not one of the tools ({names})"
            ), usage
        return self.tools[choice], usage

    def _named(self, name: str) -> Tool | Failure:
        tool = self.tools.get(name.strip())
        if tool is not None:
            return tool
        hint = did_you_mean(name, self.tools)
        return Failure(
            f"the state key '{SELECTOR}' names '{name}', which is not a tool of {self.name}"
            f"{hint} (its tools: {', '.join(self.tools)})"
        )

    def _unmatched(self) -> Failure:
        return Failure(
            f"no tool of {self.name} ({', '.join(self.tools)}) matches the request by its words "
            f"— name the tool in the state key '{SELECTOR}', describe the "
            'tools in Available_Tools (add("adds two numbers")), or use the "llm" strategy'
        )

    def _request(self, inputs: Mapping[str, Any]) -> str:
        """What the node is asked: its Prompt (placeholders filled) and its inputs' values."""
        asked = self.render_prompt(inputs) if self.prompt else ""
        return "\n\n".join(p for p in (asked, text_of(inputs, skip=(SELECTOR,))) if p)

    async def _ask_model(self, request: str) -> tuple[str | None, str, Usage]:
        """The tool the model names, its raw reply, and the tokens it took."""
        listing = "\n".join(f"- {n}: {t.description or n}" for n, t in self.tools.items())
        system = (
            "You choose the one tool that does what the request asks, among these:\n"
            f"{listing}\n"
            "Reply with the name of the tool and nothing else."
        )
        completion = await self.ask(
            [{"role": "user", "content": request or self.name}], system=system, stream=False
        )
        return named_choice(completion.text, list(self.tools)), completion.text, completion.usage


def _as_node(tool: Tool) -> Node:
    """A tool as the candidate ``keyword_match`` compares words with."""
    return Node(name=tool.name, description=tool.description)
