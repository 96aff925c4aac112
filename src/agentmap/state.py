"""The run state: adapting what the caller gives, reading agents' inputs, and making new states.

A ``State`` is a persistent mapping: each step makes a new one that shares almost everything
with the last, so a node costs O(log n) however large the state grows, and no state any node or
caller holds is ever changed. Keys iterate in the order they were first written.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, get_origin

import immutables

from agentmap.exceptions import StateError
from agentmap.pydantic_errors import error_key, error_text

logger = logging.getLogger(__name__)

_MISSING = object()

SUCCESS_KEY = "last_action_success"
ERROR_KEY = "error"


class State(Mapping[str, Any]):
    """A read-only mapping; ``set`` returns a new state and leaves this one as it is.

    >>> first = State({"input": "hi"})
    >>> second = first.set("echoed", "hi")
    >>> dict(first), dict(second)
    ({'input': 'hi'}, {'input': 'hi', 'echoed': 'hi'})
    """

    __slots__ = ("_map", "_order")

    _map: immutables.Map[str, Any]
    _order: tuple[Any, ...] | None  # newest key first, as a cons list: (key, older)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._map = immutables.Map(data or {})
        self._order = None
        for key in data or {}:
            self._order = (key, self._order)

    def set(self, key: str, value: Any) -> State:
        """A new state with ``key`` set to ``value``."""
        new = State.__new__(State)
        new._map = self._map.set(key, value)
        new._order = self._order if key in self._map else (key, self._order)
        return new

    def __getitem__(self, key: str) -> Any:
        return self._map[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._map.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._map

    def __len__(self) -> int:
        return len(self._map)

    def __iter__(self) -> Iterator[str]:
        keys: list[str] = []
        link = self._order
        while link is not None:
            keys.append(link[0])
            link = link[1]
        return iter(reversed(keys))

    def __repr__(self) -> str:
        return f"State({dict(self)!r})"


def initial_state(value: Any) -> State:
    """A state from a dict, a pydantic model, an object with ``to_dict()`` or attributes.

    A bare value (text, a number, a list) becomes ``{"input": value}``; ``None`` is empty.

    >>> dict(initial_state("hi"))
    {'input': 'hi'}
    """
    data = _as_mapping(value)
    bad = [key for key in data if not isinstance(key, str)]
    if bad:
        raise StateError(f"state keys must be text; {bad[0]!r} is a {type(bad[0]).__name__}")
    return State(data)


def inputs_of(state: State, fields: tuple[tuple[str, str], ...], node: str) -> dict[str, Any]:
    """A fresh dict of a node's inputs (state key → parameter name); absent keys are None."""
    inputs, get = {}, state._map.get  # (the map's own get: a call less per input)
    for key, param in fields:
        value = get(key, _MISSING)
        if value is _MISSING:
            logger.debug("node %r: input %r is not in the state; passing None", node, key)
            value = None
        inputs[param] = value
    return inputs


def bound_positionally(
    fields: tuple[tuple[str, str], ...], expected_params: Sequence[str] | None
) -> tuple[tuple[str, str], ...]:
    """``fields`` with each unmapped state key handed to the agent's parameter at its position.

    AgentMap's rule for agents that declare ``expected_params``: when no field of the node is
    mapped (``key:param``), the first field goes to the first parameter and so on (fields past
    the last parameter keep their names); with any mapping, unmapped fields keep their names.
    Worked out once per node when the graph is compiled, so runs pay nothing for it.

    >>> bound_positionally((("first_a", "first_a"), ("first_b", "first_b")), ["a", "b"])
    (('first_a', 'a'), ('first_b', 'b'))
    """
    if not expected_params or any(key != param for key, param in fields):
        return fields
    names = tuple(expected_params)
    return tuple(
        (key, names[index] if index < len(names) else key) for index, (key, _) in enumerate(fields)
    )


def updated(state: State, outputs: Mapping[str, Any], success: bool, error: str | None) -> State:
    """A new state with a node's outputs and outcome; ``state`` itself is unchanged.

    ``error`` is only written on failure, so a later error handler can still read it. One new
    state is made, not one per key: every node of every run comes through here.
    """
    hamt, order = state._map, state._order
    for key, value in outputs.items():
        if key not in hamt:
            order = (key, order)
        hamt = hamt.set(key, value)
    if SUCCESS_KEY not in hamt:
        order = (SUCCESS_KEY, order)
        hamt = hamt.set(SUCCESS_KEY, success)
    elif hamt[SUCCESS_KEY] is not success:  # most nodes succeed after one that did: no new map
        hamt = hamt.set(SUCCESS_KEY, success)
    if not success:
        if ERROR_KEY not in hamt:
            order = (ERROR_KEY, order)
        hamt = hamt.set(ERROR_KEY, error)
    new = State.__new__(State)
    new._map, new._order = hamt, order
    return new


def to_dict(state: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict copy of ``state``, for results and output."""
    return {key: state[key] for key in state}


class StateAdapterService:
    """The state functions of this module as a service, for code written against that name.

    ``adapt_initial_state``, ``extract_value`` and ``update_state`` are the calls AgentMap's
    state-management guide shows; ``update_state`` returns a new state rather than changing
    the one it is given, since no state a node or caller holds ever changes here.
    """

    def initial_state(self, value: Any) -> State:
        """See ``initial_state``."""
        return initial_state(value)

    def adapt_initial_state(self, state: Any, schema: type | None = None) -> State:
        """``state`` as a run's initial state (see ``initial_state``), checked by ``schema``.

        ``schema`` may be a pydantic model class or a dataclass: the state must fit it, and the
        fields it leaves out get the schema's defaults (keys the schema doesn't know are kept,
        for agents may read them). ``None``, ``dict`` or another mapping type checks nothing.

        >>> dict(StateAdapterService().adapt_initial_state("hi"))
        {'input': 'hi'}
        """
        adapted = initial_state(state)
        kind = get_origin(schema) or schema  # dict[str, Any] → dict
        if schema is None or (isinstance(kind, type) and issubclass(kind, Mapping)):
            return adapted
        return State({**adapted, **_checked(dict(adapted), schema)})

    def extract_value(self, state: Any, key: str, default: Any = None) -> Any:
        """``state[key]`` — of a mapping, or an object's attribute — or ``default`` if absent."""
        if isinstance(state, Mapping):
            return state.get(key, default)
        return getattr(state, key, default)

    def update_state(self, state: Any, key: str, value: Any) -> State:
        """A new state with ``key`` set to ``value``; ``state`` itself is left as it was."""
        if not isinstance(key, str):
            raise StateError(f"state keys must be text; {key!r} is a {type(key).__name__}")
        current = state if isinstance(state, State) else initial_state(state)
        return current.set(key, value)

    def inputs(
        self, state: State | Mapping[str, Any], fields: tuple[tuple[str, str], ...], node: str
    ) -> dict[str, Any]:
        """See ``inputs_of`` (a plain mapping is read as a state)."""
        current = state if isinstance(state, State) else initial_state(state)
        return inputs_of(current, fields, node)

    def get_inputs(
        self,
        state: Any,
        input_fields: Sequence[str],
        expected_params: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """The inputs an agent gets from ``state`` for Input_Fields written as AgentMap lists
        them (``["a", "user:name"]``), bound by position to ``expected_params`` as a node's
        are (see ``bound_positionally``); absent keys are None.

        >>> StateAdapterService().get_inputs({"x": 1, "y": 2}, ["x", "y"], ["a", "b"])
        {'a': 1, 'b': 2}
        """
        fields = tuple(_field_pair(str(spec)) for spec in input_fields if str(spec).strip())
        current = state if isinstance(state, State) else initial_state(state)
        return inputs_of(current, bound_positionally(fields, expected_params), "")

    def updated(
        self,
        state: State | Mapping[str, Any],
        outputs: Mapping[str, Any],
        success: bool,
        error: str | None,
    ) -> State:
        """See ``updated`` (a plain mapping is read as a state)."""
        current = state if isinstance(state, State) else initial_state(state)
        return updated(current, outputs, success, error)

    def to_dict(self, state: State) -> dict[str, Any]:
        """See ``to_dict``."""
        return to_dict(state)


def _field_pair(spec: str) -> tuple[str, str]:
    """``"user:name"`` → ``("user", "name")``; ``"a"`` → ``("a", "a")``."""
    key, _, param = (part.strip() for part in spec.partition(":"))
    return key, param or key


def _checked(data: dict[str, Any], schema: type) -> dict[str, Any]:
    """``data`` as ``schema`` (a pydantic model or a dataclass) reads it, defaults filled in."""
    name = getattr(schema, "__name__", repr(schema))
    validate = getattr(schema, "model_validate", None)
    if callable(validate):  # a pydantic model
        from pydantic import ValidationError

        try:
            return dict(validate(data).model_dump())
        except ValidationError as exc:
            problems = "; ".join(
                f"{error_key(e) or 'the state'}: {error_text(e)}" for e in exc.errors()
            )
            raise StateError(f"the state does not fit schema {name}: {problems}") from exc
    if dataclasses.is_dataclass(schema):
        known = {f.name for f in dataclasses.fields(schema) if f.init}
        try:
            instance = schema(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:  # a field without a default is missing
            raise StateError(f"the state does not fit schema {name}: {exc}") from exc
        return {f.name: getattr(instance, f.name) for f in dataclasses.fields(instance)}
    raise StateError(
        f"schema {name} is neither a pydantic model nor a dataclass — pass one of those, or "
        "None to check nothing"
    )


def _as_mapping(value: Any) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    if callable(getattr(value, "model_dump", None)):  # pydantic v2
        return dict(value.model_dump())
    if callable(getattr(value, "to_dict", None)):
        result = value.to_dict()
        if not isinstance(result, Mapping):
            raise StateError(
                f"{type(value).__name__}.to_dict() returned a "
                f"{type(result).__name__}, not a mapping"
            )
        return result
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, str | bytes | int | float | complex | list | tuple | set | frozenset):
        return {"input": value}
    attributes = getattr(value, "__dict__", None)
    if attributes is not None:
        return {k: v for k, v in attributes.items() if not k.startswith("_")}
    return {"input": value}
