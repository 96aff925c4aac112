"""Merging the states of parallel branches where they join, with reducers for shared keys.

Rules (documented in docs/parallel.md):

- A key only one branch changed takes that branch's value; keys no branch changed keep the
  value they had where the branches split.
- Two branches changing the same key to different values is a conflict — a run error — unless
  a reducer is declared for the key (a node's Context ``{"reduce": "append"}`` for its outputs,
  or ``execution.reducers``). A reducer folds the value from before the split (if any) with each
  branch's value, in the order the branches are written in the routing cell.
- ``last_action_success`` is true only if every joining branch's last node succeeded.
- ``error`` collects the errors of the branches that set one, ``"; "``-joined in branch order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agentmap.state import ERROR_KEY, SUCCESS_KEY, State

MISSING: Any = object()


def _append(base: Any, values: list[Any]) -> Any:
    start = [] if base is MISSING else list(base) if isinstance(base, list) else [base]
    return start + values


def _extend(base: Any, values: list[Any]) -> Any:
    result = [] if base is MISSING else list(base) if isinstance(base, list) else [base]
    for value in values:
        if not isinstance(value, list | tuple):  # merge_states makes it a ReducerFailed
            raise TypeError(f"extend needs lists, got a {type(value).__name__}")
        result.extend(value)
    return result


def _merge(base: Any, values: list[Any]) -> Any:
    result = {} if base is MISSING else dict(base)
    for value in values:
        result.update(value)
    return result


def _fold(pick: Callable[[Any, Any], Any]) -> Callable[[Any, list[Any]], Any]:
    def reduce(base: Any, values: list[Any]) -> Any:
        items = values if base is MISSING else [base, *values]
        result = items[0]
        for item in items[1:]:
            result = pick(result, item)
        return result

    return reduce


REDUCERS: dict[str, Callable[[Any, list[Any]], Any]] = {
    "append": _append,
    "extend": _extend,
    "merge": _merge,
    "sum": _fold(lambda a, b: a + b),
    "max": _fold(max),
    "min": _fold(min),
    "last": lambda base, values: values[-1],
}


class MergeError(Exception):
    """Branches' states can't be merged (the runner reports it as a run error)."""


class MergeConflict(MergeError):
    """Two branches wrote one key differently and no reducer says how to combine them."""

    def __init__(self, key: str, heads: Sequence[str]) -> None:
        super().__init__(key, heads)
        self.key = key
        self.heads = tuple(heads)


class ReducerFailed(MergeError):
    """A declared reducer can't combine the values (``extend`` given text, ``sum`` of dicts)."""

    def __init__(self, key: str, reducer: str, reason: str) -> None:
        super().__init__(key, reducer, reason)
        self.key = key
        self.reducer = reducer
        self.reason = reason


def merge_states(
    base: State, branches: Sequence[tuple[str, State]], reducers: dict[str, str]
) -> State:
    """The joined state of ``branches`` (``(head node, state)`` in branch order) split at ``base``.

    Raises ``MergeConflict`` for a key two branches changed without a reducer, and
    ``ReducerFailed`` when a reducer can't combine the values.
    """
    result = base
    for key in _keys(branches):
        if key in (SUCCESS_KEY, ERROR_KEY):
            continue
        before = base.get(key, MISSING)
        changed = [(head, s[key]) for head, s in branches if key in s and not _same(s[key], before)]
        if not changed:
            continue
        if key in reducers:
            try:
                merged = REDUCERS[reducers[key]](before, [v for _, v in changed])
            except (TypeError, ValueError, AttributeError) as exc:
                raise ReducerFailed(key, reducers[key], str(exc)) from exc
            result = result.set(key, merged)
        elif all(_same(value, changed[0][1]) for _, value in changed[1:]):
            result = result.set(key, changed[0][1])
        else:
            raise MergeConflict(key, [head for head, _ in changed])
    return _outcome(result, base, branches)


def _outcome(result: State, base: State, branches: Sequence[tuple[str, State]]) -> State:
    result = result.set(SUCCESS_KEY, all(s.get(SUCCESS_KEY, True) for _, s in branches))
    before = base.get(ERROR_KEY, MISSING)
    errors = [s[ERROR_KEY] for _, s in branches if ERROR_KEY in s and s[ERROR_KEY] is not before]
    unique = [e for i, e in enumerate(errors) if e not in errors[:i]]
    if unique:
        result = result.set(ERROR_KEY, "; ".join(str(e) for e in unique))
    return result


def _keys(branches: Sequence[tuple[str, State]]) -> list[str]:
    seen: dict[str, None] = {}
    for _, state in branches:
        seen.update(dict.fromkeys(state))
    return list(seen)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if a is MISSING or b is MISSING:
        return False
    try:
        return bool(a == b)
    except Exception:
        return False
