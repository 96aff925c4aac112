"""AgentMap's ``BaseAgent``, so custom agents written for AgentMap run here without edits.

An AgentMap project's agents start with ``from agentmap.agents.base_agent import BaseAgent``,
take AgentMap's constructor arguments (``name, prompt, context, logger,
execution_tracking_service, state_adapter_service``), log with ``self.log_info(...)`` and read
``self.context``, ``self.input_fields`` and ``self.output_field``. ``BaseAgent`` is an ``Agent``
that accepts all of that, so discovery finds such classes in the agents folder like any other.

What AgentMap injects and agentmap does not (an LLM or storage service, a tracker) is reachable
under the same names but fails with a message that says what to do instead — never an
``AttributeError`` in the middle of a run.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import yaml

from agentmap.agents.base import Agent, Output, type_name_of
from agentmap.exceptions import AgentError
from agentmap.state import StateAdapterService

__all__ = ["DECLARATIONS_FILE", "BaseAgent"]

DECLARATIONS_FILE = "custom_agents.yaml"
"""Where an AgentMap project declares its custom agent types, beside the agents."""

TRACE = 5
"""The level of ``log_trace`` (AgentMap's level below debug)."""

_DECLARED = "__agentmap_declared_type__"
"""Set on a class whose type name came from ``custom_agents.yaml``, so its subclasses don't
inherit that name (two classes answering to one type would be refused)."""

_HOOKED = "__agentmap_hooked__"
"""Marks a ``process`` wrapped to call ``_pre_process`` and ``_post_process`` around it."""

_IN_HOOKS: ContextVar[bool] = ContextVar("agentmap_base_agent_in_hooks", default=False)
"""Set while a wrapped ``process`` runs, so one reached through ``super().process`` runs the
hooks once, not once per class."""

_shared_state_adapter = StateAdapterService()


class BaseAgent(Agent):
    """An agent written for AgentMap: subclass it and implement ``process(self, inputs)``.

    ``expected_params`` names the inputs ``process`` reads; a node whose Input_Fields use no
    ``key:param`` mapping hands its fields to them by position (``first_a|first_b`` →
    ``addend_a``, ``addend_b``). The type name comes from the class name (``AdderAgent`` →
    ``adder``) unless ``custom_agents.yaml`` beside the module declares another for the class.

    >>> class AdderAgent(BaseAgent):
    ...     expected_params = ["addend_a", "addend_b"]
    ...     def process(self, inputs):
    ...         return inputs["addend_a"] + inputs["addend_b"]
    >>> AdderAgent("Add", "").process({"addend_a": 3, "addend_b": 4})
    7
    """

    expected_params: ClassVar[Sequence[str] | None] = None

    def __init__(
        self,
        name: str,
        prompt: str = "",
        context: Mapping[str, Any] | str | None = None,
        logger: logging.Logger | None = None,
        execution_tracking_service: Any = None,
        state_adapter_service: Any = None,
        execution_tracker_service: Any = None,
        telemetry_service: Any = None,
        description: str = "",
    ) -> None:
        """AgentMap's arguments, in AgentMap's order; ``description`` is the Description
        column, which agentmap passes (AgentMap put it in ``context``)."""
        super().__init__(name, prompt or "", None, description)
        self.context: dict[str, Any] = _context_dict(context)
        self.prompt_template = self.prompt
        self.input_fields: list[str] = _field_list(self.context.get("input_fields"))
        self.output_field: str | None = self.context.get("output_field") or None
        self.output_fields: list[str] = _split(self.output_field)
        self.description = description or str(self.context.get("description") or "")
        self._logger = logger
        self._execution_tracking_service = execution_tracking_service or execution_tracker_service
        self._state_adapter_service = state_adapter_service
        self._telemetry_service = telemetry_service
        self._llm_service: Any = None
        self._storage_service: Any = None
        self._current_execution_tracker: Any = None
        self._log_prefix = f"[{type(self).__name__}:{name}]"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_expected_params(cls)
        _take_declared_type(cls)
        _accept_description(cls)
        _wrap_hooks(cls)

    def bind(self, graph: Any, settings: Any) -> None:
        """Fill in what AgentMap put in ``context`` from its node: ``input_fields``,
        ``output_field``, ``description`` and ``graph_name`` (the Context column's own keys
        win, as in AgentMap)."""
        node = getattr(graph, "nodes", {}).get(self.name)
        if node is None:
            return
        fields = [key if key == param else f"{key}:{param}" for key, param in node.inputs]
        output = "|".join(node.outputs) or None
        found = {
            "input_fields": fields,
            "output_field": output,
            "description": node.description or "",
            "is_custom": True,
            "graph_name": graph.name,
            "output_validation": "warn",
        }
        self.context = {**found, **self.context}
        self.input_fields = _field_list(self.context.get("input_fields"))
        self.output_field = self.context.get("output_field") or None
        self.output_fields = _split(self.output_field)
        self.description = self.description or str(self.context.get("description") or "")

    def run(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Run the agent alone on ``state`` and return the state updates, as AgentMap's
        ``run`` does (its Input_Fields read, ``expected_params`` bound, the hooks called).
        A graph never calls this: it calls ``process``. An exception propagates."""
        adapter = self.state_adapter_service
        inputs = adapter.get_inputs(state, self.input_fields, self.expected_params)
        output = self.process(inputs)
        if inspect.isawaitable(output):
            output = asyncio.run(_awaited(output))
        return _state_updates(output, self.output_fields)

    def invoke(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """``run``, by LangGraph's name."""
        return self.run(state)

    # --- logging: to agentmap's logger for the node, never printed -----------------------------

    @property
    def logger(self) -> logging.Logger:
        """The logger the agent was given, else ``agentmap.agent.<node name>``."""
        return self._logger or logging.getLogger(f"agentmap.agent.{self.name}")

    def log(self, level: str, message: str, *args: Any, **kwargs: Any) -> None:
        """Log ``message`` at ``level`` (debug, info, warning, error or trace; other names log
        at info), prefixed with the class and node, as AgentMap's agents do."""
        number = TRACE if level == "trace" else logging.getLevelName(str(level).upper())
        if not isinstance(number, int):
            number = logging.INFO
        self.logger.log(number, f"{self._log_prefix} {message}", *args, **kwargs)

    def log_trace(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.log("trace", message, *args, **kwargs)

    def log_debug(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.log("debug", message, *args, **kwargs)

    def log_info(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.log("info", message, *args, **kwargs)

    def log_warning(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.log("warning", message, *args, **kwargs)

    def log_error(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.log("error", message, *args, **kwargs)

    # --- AgentMap's services: what has a meaning here, and a clear word for what hasn't --------

    @property
    def state_adapter_service(self) -> Any:
        """The one given, else agentmap's ``StateAdapterService`` (``extract_value``,
        ``update_state``, ...)."""
        return self._state_adapter_service or _shared_state_adapter

    @property
    def execution_tracking_service(self) -> Any:
        """The one given; agentmap gives none, as it tracks every node itself."""
        if self._execution_tracking_service is None:
            raise AgentError(
                f"agent '{self.name}' asked for execution_tracking_service, which agentmap does "
                "not give agents: every node is tracked for you (result.execution_summary) — "
                "remove the call",
                node=self.name,
            )
        return self._execution_tracking_service

    @property
    def llm_service(self) -> Any:
        """The service ``configure_llm_service`` set; agentmap sets none itself."""
        if self._llm_service is None:
            raise AgentError(
                f"agent '{self.name}' asked for llm_service, which agentmap does not give custom "
                "agents — put an LLM node (AgentType openai, anthropic, google, llm) before this "
                "one and take its Output_Field as an input, or call the model's SDK yourself",
                node=self.name,
            )
        return self._llm_service

    @property
    def storage_service(self) -> Any:
        """The service ``configure_storage_service`` set; agentmap sets none itself."""
        if self._storage_service is None:
            raise AgentError(
                f"agent '{self.name}' asked for storage_service, which agentmap does not give "
                "custom agents — read or write with a storage node (csv_reader, json_writer, "
                "file_reader, ...) before or after this one, or open the file yourself",
                node=self.name,
            )
        return self._storage_service

    def configure_llm_service(self, llm_service: Any) -> None:
        """Give the agent an LLM service (host code or a test may; agentmap never does)."""
        self._llm_service = llm_service

    def configure_storage_service(self, storage_service: Any) -> None:
        """Give the agent a storage service (host code or a test may; agentmap never does)."""
        self._storage_service = storage_service

    def set_execution_tracker(self, tracker: Any) -> None:
        """Kept for code that calls it; agentmap's tracking doesn't read it."""
        self._current_execution_tracker = tracker

    @property
    def current_execution_tracker(self) -> Any:
        """The tracker ``set_execution_tracker`` was given (agentmap gives none)."""
        return self._current_execution_tracker

    def get_service_info(self) -> dict[str, Any]:
        """What the agent was given, for debugging (AgentMap's shape, without protocols)."""
        info: dict[str, Any] = {
            "agent_name": self.name,
            "agent_type": type(self).__name__,
            "services": {
                "logger_available": True,
                "execution_tracker_available": self._execution_tracking_service is not None,
                "state_adapter_available": True,
                "llm_service_configured": self._llm_service is not None,
                "storage_service_configured": self._storage_service is not None,
                "telemetry_service_available": self._telemetry_service is not None,
            },
            "configuration": {
                "input_fields": self.input_fields,
                "output_field": self.output_field,
                "output_fields": self.output_fields,
                "description": self.description,
            },
        }
        child = self._get_child_service_info()
        for key, value in (child or {}).items():
            if isinstance(value, Mapping) and isinstance(info.get(key), dict):
                info[key].update(value)
            else:
                info[key] = value
        return info

    def _get_child_service_info(self) -> dict[str, Any] | None:
        """Override to add to ``get_service_info``."""
        return None

    def _pre_process(self, state: Any, inputs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """AgentMap's hook before ``process``: may change the inputs. ``state`` is the node's
        inputs, read-only (an agent here is handed its inputs, not the whole state)."""
        return state, inputs

    def _post_process(self, state: Any, inputs: dict[str, Any], output: Any) -> tuple[Any, Any]:
        """AgentMap's hook after ``process``: may change the output, or return
        ``{"state_updates": {...}}`` to write several state keys (``__next_node`` picks the
        next node)."""
        return state, output


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _state_updates(output: Any, keys: Sequence[str]) -> dict[str, Any]:
    """What ``output`` writes to the state: its Output_Field(s) and any other updates."""
    updates: dict[str, Any] = {}
    if isinstance(output, Output):
        updates, output = dict(output.updates), output.value
    elif isinstance(output, Mapping) and "state_updates" in output:
        return dict(output["state_updates"] or {})
    if len(keys) == 1:
        updates[keys[0]] = output
    elif keys and isinstance(output, Mapping):
        updates.update({key: output.get(key) for key in keys})
    return updates


def _context_dict(context: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """The Context as AgentMap hands it to agents: a dict; text that isn't a mapping is kept
    under ``"context"``, as AgentMap does."""
    if context is None or context == "":
        return {}
    if isinstance(context, str):
        return {"context": context}
    return dict(context)


def _field_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return _split(value.replace(",", "|"))
    if isinstance(value, Sequence):
        return [str(item) for item in value]
    return []


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split("|") if part.strip()]


def _check_expected_params(cls: type[BaseAgent]) -> None:
    """A list of names, or nothing: anything else would bind inputs to nonsense names."""
    params = cls.expected_params
    if params is None:
        return
    if isinstance(params, str) or not isinstance(params, Sequence):
        raise AgentError(
            f"{cls.__name__}.expected_params must be a list of input names, like "
            f'["addend_a", "addend_b"], not {params!r}'
        )
    bad = [p for p in params if not isinstance(p, str) or not p.strip()]
    if bad:
        raise AgentError(
            f"{cls.__name__}.expected_params holds {bad[0]!r}, which is not an input name — "
            "list names as text"
        )


def _take_declared_type(cls: type[BaseAgent]) -> None:
    """Give ``cls`` the type ``custom_agents.yaml`` beside its module declares for it.

    Only when the declared name differs from the one the class name gives (AgentMap's examples
    agree with it: ``adder`` → ``AdderAgent``) and the class sets no ``agent_type`` of its own.
    A subclass doesn't inherit its parent's declared name.
    """
    if "agent_type" in vars(cls):
        return
    if any(getattr(base, _DECLARED, False) for base in cls.__mro__[1:]):
        cls.agent_type = None
    declared = _declared_type(cls)
    if declared is not None and declared != type_name_of(cls.__name__):
        cls.agent_type = declared
        setattr(cls, _DECLARED, True)


def _declared_type(cls: type) -> str | None:
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file).parent / DECLARATIONS_FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    declarations = _declarations(str(path), stamp)
    return declarations.get((Path(file).stem, cls.__name__)) or declarations.get(("", cls.__name__))


@functools.lru_cache(maxsize=32)
def _declarations(path: str, stamp: int) -> dict[tuple[str, str], str]:
    """``custom_agents.yaml``'s ``agents``: (module file stem, class name) → type name.

    ``stamp`` (the file's modification time) keys the cache, so an edited file is read again.
    A file that can't be read is ignored with a warning: the class names still give types.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        logging.getLogger(__name__).warning(
            "%s can't be read (%s): its agent declarations are ignored, class names give the types",
            path,
            exc,
        )
        return {}
    agents = data.get("agents") if isinstance(data, Mapping) else None
    found: dict[tuple[str, str], str] = {}
    for type_name, declaration in (agents if isinstance(agents, Mapping) else {}).items():
        class_path = _class_path(declaration)
        if class_path:
            module, _, name = class_path.rpartition(".")
            found.setdefault((module.rpartition(".")[2], name), type_name_of(str(type_name)))
    return found


def _class_path(declaration: Any) -> str | None:
    """Where a declaration names its class: the text itself, or its ``class_path``,
    ``class``, ``module`` or ``implementation.class`` (AgentMap reads all of them)."""
    if isinstance(declaration, str):
        return declaration.strip() or None
    if not isinstance(declaration, Mapping):
        return None
    implementation = declaration.get("implementation")
    nested = implementation.get("class") if isinstance(implementation, Mapping) else None
    for value in (*(declaration.get(k) for k in ("class_path", "class", "module")), nested):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _accept_description(cls: type[BaseAgent]) -> None:
    """Let a constructor written to AgentMap's signature (no ``description``, no ``**kwargs``,
    as AgentMap's scaffold writes it) be built the way agentmap builds agents."""
    init = vars(cls).get("__init__")
    if init is None:
        return
    parameters = inspect.signature(init).parameters.values()
    if any(p.name == "description" or p.kind is p.VAR_KEYWORD for p in parameters):
        return
    cls.__init__ = _without_description(init)  # type: ignore[method-assign]


def _without_description(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(self: BaseAgent, *args: Any, description: str = "", **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if description and not getattr(self, "description", ""):
            self.description = description

    return __init__


def _wrap_hooks(cls: type[BaseAgent]) -> None:
    """Make ``cls.process`` call ``_pre_process`` and ``_post_process`` around it, as AgentMap's
    run does, when the class overrides either (AgentMap's scaffold writes both)."""
    if cls._pre_process is BaseAgent._pre_process and cls._post_process is BaseAgent._post_process:
        return
    process = cls.process
    if getattr(process, _HOOKED, False):
        return  # a parent's process already calls the hooks, which resolve on the instance
    cls.process = _hooked(process)  # type: ignore[method-assign]


def _hooked(process: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(process):

        @functools.wraps(process)
        async def hooked_async(self: BaseAgent, inputs: Mapping[str, Any]) -> Any:
            if _IN_HOOKS.get():
                return await process(self, inputs)
            token = _IN_HOOKS.set(True)
            try:
                state, given = _before(self, inputs)
                return _after(self, state, given, await process(self, given))
            finally:
                _IN_HOOKS.reset(token)

        setattr(hooked_async, _HOOKED, True)
        return hooked_async

    @functools.wraps(process)
    def hooked(self: BaseAgent, inputs: Mapping[str, Any]) -> Any:
        if _IN_HOOKS.get():
            return process(self, inputs)
        token = _IN_HOOKS.set(True)
        try:
            state, given = _before(self, inputs)
            return _after(self, state, given, process(self, given))
        finally:
            _IN_HOOKS.reset(token)

    setattr(hooked, _HOOKED, True)
    return hooked


def _before(agent: BaseAgent, inputs: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    state, given = agent._pre_process(MappingProxyType(dict(inputs)), dict(inputs))
    if not isinstance(given, Mapping):
        raise AgentError(
            f"{type(agent).__name__}._pre_process must return (state, inputs) with inputs a "
            f"dict, but returned a {type(given).__name__} for the inputs",
            node=agent.name,
        )
    return state, dict(given)


def _after(agent: BaseAgent, state: Any, inputs: dict[str, Any], output: Any) -> Any:
    """The output ``_post_process`` makes, with AgentMap's ``{"state_updates": {...}}``
    written as an ``Output``: the Output_Field's value, the other keys as updates."""
    _, output = agent._post_process(state, inputs, output)
    if not (isinstance(output, Mapping) and "state_updates" in output):
        return output
    updates = dict(output["state_updates"] or {})
    chosen = updates.pop("__next_node", None)
    keys = agent.output_fields
    value = updates.get(keys[0]) if len(keys) == 1 else updates if keys else None
    return Output(value, updates=updates, next=chosen if isinstance(chosen, str) else None)
