"""State values to JSON text and back, exactly: what a checkpoint holds must come back the same.

JSON has no tuple, so a tuple is written as ``{"__tuple__": [...]}`` and read back as a tuple
(and a mapping whose only key is a tag as ``{"__mapping__": [[key, value]]}``, so it reads
back as itself). Anything else JSON can't hold exactly (sets, bytes, objects, non-text mapping
keys) is refused with the key path that holds it — never pickled, never silently turned into
something else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

_ENCODER = json.JSONEncoder(separators=(",", ":"))
TUPLE_TAG = "__tuple__"
MAPPING_TAG = "__mapping__"
_SCALARS = (str, int, float, bool, type(None))
SCALAR_TYPES = frozenset(_SCALARS)  # exact types: a str subclass takes the long way
"""The types of values that are kept as they are (they can't change) and encode as they are."""
_TEXT = frozenset((str,))


class UnsavableValue(ValueError):
    """A value JSON can't hold exactly; ``path`` is where it sits (``report.items[2]``)."""

    def __init__(self, path: str, value: Any) -> None:
        super().__init__(f"'{path}' holds a {type(value).__name__}, which can't be saved as JSON")
        self.path = path
        self.kind = type(value).__name__


def _refuse(value: Any) -> Any:
    """The encoder's answer to a value that isn't a JSON type (callers check values first)."""
    raise UnsavableValue("a value", value)


# json.dumps builds a new encoder for every call (~1 µs, more than encoding a checkpoint takes):
# one C encoder, made once, encodes what is already plain JSON types (no cycle check needed).
_C_ENCODER = (
    c_make_encoder(None, _refuse, encode_basestring_ascii, None, ":", ",", False, False, True)
    if c_make_encoder is not None
    else None
)


def encode_json(value: Any) -> str:
    """Compact JSON text of ``value``, which holds JSON types only (no cycles)."""
    if _C_ENCODER is None:  # a Python built without the C accelerator
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


def dumps(data: Mapping[str, Any]) -> str:
    """``data`` as compact JSON text; ``UnsavableValue`` names the first key JSON can't hold."""
    if type(data) is dict and _flat(data):  # the usual checkpoint: text, numbers, flags
        return encode_json(data)
    return encode_json(_plain_mapping(data, None))


def kept(writes: Mapping[str, Any]) -> Mapping[str, Any]:
    """Keys a node wrote to the state, with their values, ready to be encoded later as they
    are now; ``UnsavableValue`` names a key JSON can't hold, as ``dumps`` does.

    Text, numbers, flags and None can't change, so the usual node's writes are kept as they
    are: no copy, no encoding per node (a page encodes its checkpoints at once). Anything else
    is copied to plain JSON types now, for a later node may change a list in place. They are
    part of a larger mapping when read back (never one whose only key is a tag), and
    ``writes`` itself must be a mapping nobody changes after."""
    for value in writes.values():  # (a loop: quicker than any set test, for a key or two)
        if type(value) not in SCALAR_TYPES:
            return _plain_mapping(writes, None, tagged=False)
    for key in writes:
        if type(key) is not str:
            return _plain_mapping(writes, None, tagged=False)
    return writes


def dumps_value(value: Any, path: str) -> str:
    """One value as JSON text (``path`` names it in an error)."""
    return encode_json(_plain(value, path))


def loads(text: str | None) -> Any:
    """What ``dumps`` wrote, with its tuples back."""
    if text is None:
        return None
    return json.loads(text, object_hook=_tuples)


def _flat(data: dict[Any, Any]) -> bool:
    """Whether ``data`` needs no conversion: text keys (no tag), scalar values only."""
    if len(data) == 1 and next(iter(data)) in (TUPLE_TAG, MAPPING_TAG):
        return False
    return set(map(type, data)) <= _TEXT and set(map(type, data.values())) <= SCALAR_TYPES


def _plain(value: Any, path: str) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        return [_plain(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, tuple):
        return {TUPLE_TAG: [_plain(item, f"{path}[{i}]") for i, item in enumerate(value)]}
    if isinstance(value, Mapping):
        return _plain_mapping(value, path)
    raise UnsavableValue(path, value)


def _plain_mapping(
    value: Mapping[Any, Any], path: str | None, tagged: bool = True
) -> dict[str, Any]:
    """``path`` is None for the state itself, whose keys are paths of their own; ``tagged``:
    a mapping whose only key is a tag is written as a tagged one (to be read back as itself)."""
    plain = {}
    for key, item in value.items():
        if not isinstance(key, str):
            where = f"{path} key {key!r}" if path is not None else f"key {key!r}"
            raise UnsavableValue(where, key)
        if type(item) in SCALAR_TYPES:  # most values: no path to build
            plain[key] = item
        else:
            plain[key] = _plain(item, f"{path}.{key}" if path is not None else key)
    if tagged and len(plain) == 1 and next(iter(plain)) in (TUPLE_TAG, MAPPING_TAG):
        return {MAPPING_TAG: [[key, item] for key, item in plain.items()]}  # else read as a tag
    return plain


def _tuples(data: dict[str, Any]) -> Any:
    if len(data) == 1 and TUPLE_TAG in data:
        return tuple(data[TUPLE_TAG])
    if len(data) == 1 and MAPPING_TAG in data:
        return dict(data[MAPPING_TAG])
    return data
