"""JSON documents as data: find a document by id, follow a dot path, filter, and change one.

Plain functions on what ``json.loads`` returns, so the agents only read and write files. A
document store is a JSON object keyed by id (AgentMap's layout) or a list of objects with an
id field; both work here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from agentmap.exceptions import AgentError

QUERY_OPTIONS = frozenset({"limit", "offset", "sort", "order"})
"""Keys of a ``query`` that shape the result rather than match a field."""


def same_value(found: Any, wanted: Any) -> bool:
    """Whether a stored value matches a wanted one, as a person means it: ``7`` matches
    ``"7"`` and ``7.0`` (a CSV column or a state value may hold either)."""
    if found == wanted:
        return True
    if isinstance(found, bool) or isinstance(wanted, bool) or found is None or wanted is None:
        return str(found).casefold() == str(wanted).casefold()
    if str(found) == str(wanted):
        return True
    try:
        a, b = float(found), float(wanted)
    except (TypeError, ValueError):
        return False
    return not math.isnan(a) and a == b


def find_document(data: Any, document_id: Any, id_field: str, where: str) -> Any:
    """The document with that id: a key of an object, or the item of a list whose
    ``id_field`` holds it."""
    if isinstance(data, Mapping):
        key = str(document_id)
        if key in data:
            return data[key]
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, Mapping) and same_value(item.get(id_field), document_id):
                return item
    raise AgentError(f"no document with id {document_id!r} in {where}")


def at_path(data: Any, path: str, where: str) -> Any:
    """The value at a dot path (``users.0.name``: a key, then a list index, then a key)."""
    current = data
    for step in _steps(path):
        if isinstance(current, Mapping) and step in current:
            current = current[step]
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            raise AgentError(f"{where} has nothing at path '{path}' (no '{step}')")
    return current


def with_path(data: Any, path: str, value: Any) -> Any:
    """``data`` with ``value`` put at the dot path, making objects along the way."""
    steps = _steps(path)
    root: Any = data if isinstance(data, (dict, list)) else {}
    current = root
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if following is None:
            _put(current, step, value, path)
        else:
            child = _get(current, step)
            if not isinstance(child, (dict, list)):
                child = {}
                _put(current, step, child, path)
            current = child
    return root


def filtered(data: Any, query: Mapping[str, Any], where: str) -> list[Any]:
    """The items (of a list, or the values of an object) whose fields match ``query``, then
    sorted (``sort``, ``order``) and cut (``offset``, ``limit``)."""
    items = list(data.values()) if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise AgentError(f"{where} holds {type(data).__name__}, not a list to query")
    matches = [item for item in items if _matches(item, query)]
    if (field := query.get("sort")) is not None:
        present: list[Any] = []
        absent: list[Any] = []
        for item in matches:
            (present if field in item else absent).append(item)
        descending = str(query.get("order", "asc")).lower() == "desc"
        present.sort(key=lambda item: _sort_key(item[field]), reverse=descending)
        matches = present + absent
    return cut(matches, query)


def cut(items: list[Any], query: Mapping[str, Any]) -> list[Any]:
    """``items`` from ``offset`` on, at most ``limit`` of them."""
    offset, limit = query.get("offset"), query.get("limit")
    start = offset if isinstance(offset, int) and offset > 0 else 0
    end = start + limit if isinstance(limit, int) and limit > 0 else None
    return items[start:end]


def appended(current: Any, value: Any, document_id: Any, id_field: str, where: str) -> Any:
    """``current`` with ``value`` added: to the end of a list, merged into an object, or under
    its id. A file that doesn't exist yet (``current`` None) becomes a list of records."""
    if document_id is not None:
        return _put_document(current, value, document_id, id_field)
    if current is None:
        return list(value) if isinstance(value, list) else [value]
    if isinstance(current, list):
        return current + value if isinstance(value, list) else [*current, value]
    if isinstance(current, dict) and isinstance(value, Mapping):
        return {**current, **value}
    raise AgentError(
        f"can't append {type(value).__name__} to {where}, which holds "
        f"{type(current).__name__} — use mode 'write' to replace it"
    )


def written(current: Any, value: Any, document_id: Any, id_field: str, path: str | None) -> Any:
    """What mode ``write`` leaves: the whole file replaced, or just one document or path."""
    if document_id is not None:
        document = value if path is None else with_path(None, path, value)
        return _put_document(current, document, document_id, id_field)
    return value if path is None else with_path(current, path, value)


def updated(
    current: Any, value: Any, document_id: Any, id_field: str, path: str | None, where: str
) -> Any:
    """What mode ``update`` leaves: fields of an existing document (or the whole file)
    changed. The document must exist; objects merge, anything else is replaced."""
    if document_id is None:
        return with_path(current, path, value) if path else _merged(current, value)
    document = find_document(current, document_id, id_field, where)
    changed = with_path(document, path, value) if path else _merged(document, value)
    return _put_document(current, changed, document_id, id_field)


def _merged(old: Any, new: Any) -> Any:
    return {**old, **new} if isinstance(old, Mapping) and isinstance(new, Mapping) else new


def _put_document(current: Any, document: Any, document_id: Any, id_field: str) -> Any:
    """``current`` with ``document`` stored under its id (replacing one with the same id)."""
    if isinstance(current, list):
        if isinstance(document, Mapping) and id_field not in document:
            document = {id_field: document_id, **document}
        for index, item in enumerate(current):
            if isinstance(item, Mapping) and same_value(item.get(id_field), document_id):
                return [*current[:index], document, *current[index + 1 :]]
        return [*current, document]
    store = dict(current) if isinstance(current, Mapping) else {}
    store[str(document_id)] = document
    return store


def _matches(item: Any, query: Mapping[str, Any]) -> bool:
    if not isinstance(item, Mapping):
        return False
    for field, wanted in query.items():
        if field in QUERY_OPTIONS:
            continue
        if field not in item:
            return False
        found = item[field]
        if isinstance(wanted, list):
            if not any(same_value(found, choice) for choice in wanted):
                return False
        elif not same_value(found, wanted):
            return False
    return True


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text, each in its own order, so mixed values still sort."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def _steps(path: str) -> list[str]:
    steps = [step for step in path.strip().split(".") if step]
    if not steps:
        raise AgentError(f"path '{path}' names nothing — write keys joined by dots: users.0.name")
    return steps


def _get(container: Any, step: str) -> Any:
    if isinstance(container, dict):
        return container.get(step)
    if isinstance(container, list) and step.isdigit() and int(step) < len(container):
        return container[int(step)]
    return None


def _put(container: Any, step: str, value: Any, path: str) -> None:
    if isinstance(container, dict):
        container[step] = value
    elif isinstance(container, list) and step.isdigit() and int(step) <= len(container):
        if int(step) == len(container):
            container.append(value)
        else:
            container[int(step)] = value
    else:
        raise AgentError(f"can't put a value at path '{path}': '{step}' is not in the list")
