"""How a ``branching`` node decides: the rules its Context sets, in our words or AgentMap's.

``field`` (AgentMap: ``success_field``) names the input to test, else the first input does.
``equals`` is the one value meaning success, compared exactly (a number or boolean as its
text, so ``200`` in a ``k=v`` Context matches the number 200). Otherwise the value is looked
up, as text and ignoring case and surrounding spaces, in ``success_values`` then
``failure_values`` — each a list, or text with the values separated by commas. A value in
neither list succeeds or fails by its truth if it is a number or boolean, else by
``default_result`` (default: succeed). A field absent from the state (``None``) is missing:
``fallback_fields`` are tried in turn, and with none found ``default_result`` decides if it
is given, else the node fails.

>>> rules = branch_rules({"success_values": "200,OK", "failure_values": ["ERROR"]})
>>> rules.decide(200), rules.decide("ok"), rules.decide("error"), rules.decide("pending")
(True, True, False, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

SUCCESS_WORDS = frozenset({"true", "yes", "y", "t", "1", "success", "succeed"})
"""Values meaning success when Context lists none (AgentMap's list)."""

FAILURE_WORDS = frozenset(
    {"false", "no", "n", "f", "0", "fail", "failure", "off", "none", "null", ""}
)
"""Values meaning failure when Context lists none: AgentMap's list and ours (``off``,
``none``, ``null``, empty text)."""

FALLBACK_FIELDS = ("should_succeed", "succeed", "branch", "input")
"""The inputs read when the field is missing and Context names no ``fallback_fields``
(AgentMap's)."""

BRANCH_KEYS = frozenset(
    {"success_field", "success_values", "failure_values", "default_result", "fallback_fields"}
)
"""AgentMap's Context keys for its branching agent."""


class BranchRules(NamedTuple):
    """What a ``branching`` node's Context asks for; see the module docstring."""

    field: str | None = None
    equals: tuple[Any] | None = None  # (value,) when Context has ``equals``: it may be None
    success: frozenset[str] = SUCCESS_WORDS
    failure: frozenset[str] = FAILURE_WORDS
    default: bool | None = None  # None: not given
    fallbacks: tuple[str, ...] = FALLBACK_FIELDS

    def find(self, inputs: Mapping[str, Any], field: str | None) -> tuple[str, Any] | None:
        """The input to test and its value: ``field``, else the first fallback that is set."""
        names = self.fallbacks if field is None else (field, *self.fallbacks)
        for name in names:
            if inputs.get(name) is not None:
                return name, inputs[name]
        return None

    def decide(self, value: Any) -> bool:
        """Whether ``value`` means success."""
        if self.equals is not None:
            wanted = self.equals[0]
            text = as_text(value, fold=False)
            return bool(value == wanted) or (text is not None and text == as_text(wanted, False))
        text = as_text(value)
        if text is not None and text in self.success:
            return True
        if text is not None and text in self.failure:
            return False
        if isinstance(value, (bool, int, float)):
            return bool(value)
        if self.default is not None or isinstance(value, str):
            return self.default is not False
        return bool(value)  # an empty list or mapping fails, unless default_result says


def as_text(value: Any, fold: bool = True) -> str | None:
    """A scalar as the text it compares as (``None`` for anything else).

    >>> as_text(" Yes "), as_text(True), as_text(200.0), as_text([1])
    ('yes', 'true', '200', None)
    """
    if isinstance(value, str):
        return value.strip().casefold() if fold else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return None


def branch_rules(context: Mapping[str, Any]) -> BranchRules | str:
    """The rules a Context sets, or what is wrong with it (to fix in the Context)."""
    problem = _problem(context)
    if problem is not None:
        return problem
    named = [context[key].strip() for key in ("field", "success_field") if key in context]
    return BranchRules(
        field=named[0] if named else None,
        equals=(context["equals"],) if "equals" in context else None,
        success=_texts(context["success_values"]) if "success_values" in context else SUCCESS_WORDS,
        failure=_texts(context["failure_values"]) if "failure_values" in context else FAILURE_WORDS,
        default=_truth(context.get("default_result")),
        fallbacks=tuple(
            item.strip() for item in _items(context.get("fallback_fields", FALLBACK_FIELDS))
        ),
    )


def _problem(context: Mapping[str, Any]) -> str | None:
    """What is wrong with a Context's branching keys, if anything."""
    for key in ("field", "success_field"):
        if key in context and not _is_name(context[key]):
            return f"{key} must name an input, not {context[key]!r}"
    if len({context[k].strip() for k in ("field", "success_field") if k in context}) > 1:
        return "field and success_field name different inputs — keep one"
    for key in ("success_values", "failure_values"):
        if key in context and any(as_text(item) is None for item in _items(context[key])):
            return (
                f"{key} must list text, numbers or booleans (a list, or text with the values "
                f"separated by commas), not {context[key]!r}"
            )
    fallbacks = context.get("fallback_fields", ())
    if not all(_is_name(item) for item in _items(fallbacks)):
        return f"fallback_fields must list input names, not {fallbacks!r}"
    default = context.get("default_result")
    if default is not None and _truth(default) is None:
        return f"default_result must be true or false, not {default!r}"
    if "equals" in context and ("success_values" in context or "failure_values" in context):
        return "equals is the one value meaning success — give it, or the value lists, not both"
    if "success_values" in context and "failure_values" in context:
        both = _texts(context["success_values"]) & _texts(context["failure_values"])
        if both:
            return f"{min(both)!r} is in both success_values and failure_values — keep it in one"
    return None


def _items(value: Any) -> Sequence[Any]:
    """A list as written: a JSON list, text with the values separated by commas, or one value."""
    if isinstance(value, str):
        return [part for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        return value
    return [value]


def _texts(value: Any) -> frozenset[str]:
    return frozenset(text for text in map(as_text, _items(value)) if text is not None)


def _truth(value: Any) -> bool | None:
    """``default_result`` as a bool (``true``, ``no``, 1 ...), or None if it is none of them."""
    text = as_text(value)
    if text in SUCCESS_WORDS:
        return True
    return False if text in FAILURE_WORDS - {"", "none", "null"} else None


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
