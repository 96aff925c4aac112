"""Did-you-mean hints for misspelt names (nodes, agent types, keys, graphs)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (case-insensitively), or ``None`` if none is close."""
    by_folded = {c.casefold(): c for c in candidates}
    match = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[match[0]] if match else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` — did you mean 'X'?`` when a candidate is close, else an empty string."""
    match = closest(name, candidates)
    return f" — did you mean '{match}'?" if match else ""
