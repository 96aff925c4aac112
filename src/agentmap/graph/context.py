"""What a Context cell means: a JSON object, ``key=value; ...`` pairs, or plain text.

Shared by every graph format so a Context means the same whichever file it was written in.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

_PAIR = r"\s*[A-Za-z_][\w.-]*\s*=[^;=]*"
_PAIRS = re.compile(rf"^{_PAIR}(;{_PAIR})*;?\s*$")
_BRACED_PAIRS = re.compile(rf"^\{{({_PAIR}(;{_PAIR})*;?\s*)\}}$")
"""AgentMap's ``{workflow=::Sub}``: pairs in braces (never JSON: a JSON key is quoted)."""


class ContextError(ValueError):
    """A Context cell that looks structured but isn't valid (message says how to fix it)."""


def parse_context(text: str) -> dict[str, Any] | str | None:
    """A dict for JSON ``{...}`` (or AgentMap's ``{'k': 'v'}``) and ``k=v; k2=v2`` (also in
    braces, as AgentMap writes ``{workflow=::Sub}``); else text.

    Values of ``k=v`` pairs stay text, like every other cell. A cell starting with ``{`` that is
    not a valid object raises ``ContextError`` — it is never silently kept as text.

    >>> parse_context("model=gpt-4o; temperature=0.2")
    {'model': 'gpt-4o', 'temperature': '0.2'}
    >>> parse_context("Sends the weekly report")
    'Sends the weekly report'
    """
    stripped = text.strip()
    if not stripped:
        return None
    if (braced := _BRACED_PAIRS.match(stripped)) is not None:
        return _pairs(braced.group(1))
    if stripped.startswith("{"):
        return _json_object(stripped)
    if _PAIRS.match(stripped):
        return _pairs(stripped)
    return text


def _pairs(text: str) -> dict[str, Any]:
    pairs = (part.split("=", 1) for part in text.split(";") if part.strip())
    return {key.strip(): value.strip() for key, value in pairs}


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except RecursionError as exc:  # json's C parser gives up on very deep nesting this way
        raise ContextError(
            "Context is JSON nested too deeply to read — flatten it (a few levels are plenty)"
        ) from exc
    except json.JSONDecodeError as exc:
        try:  # AgentMap documents {'key': 'value'}; accept it, but only as a whole dict.
            literal = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            literal = None
        if isinstance(literal, dict) and all(isinstance(k, str) for k in literal):
            return literal
        raise ContextError(
            f"Context starts with '{{' but is not valid JSON ({exc.msg} at character "
            f'{exc.pos + 1}) — fix the JSON, e.g. {{"key": "value"}}'
        ) from exc
    if not isinstance(value, dict):
        raise ContextError("Context starts with '{' but is not a JSON object")
    return value
