"""Did-you-mean hints for misspelt names (nodes, agent types, keys, graphs).

A hint is for a slip of the keyboard, not a guess: a wrong one ("did you mean 'echo'?" for
``search``) sends the reader after the wrong fix, while no hint costs nothing. So a candidate
must be close by difflib's measure *and* within a few typing slips of the name — a letter
missed, added, changed or two swapped, at most one per four letters (``summarise`` is three
slips from ``summary``: a different word, not a typo) — or hold the name as a
whole word (``delay`` for ``max_delay``: a key written without its qualifier), or nothing is
said.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

CUTOFF = 0.6
"""difflib's similarity floor for a candidate to be considered at all."""


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (case-insensitively), or ``None`` if none is close.

    >>> closest("dealy", ["delay", "max_delay"])
    'delay'
    >>> closest("search", ["echo", "summary"]) is None
    True
    >>> closest("summarise", ["summary"]) is None
    True
    >>> closest("delay", ["max_delay", "jitter"])
    'max_delay'
    """
    by_folded = {c.casefold(): c for c in candidates}
    folded = name.casefold()
    allowed = max(1, len(folded) // 4)
    for match in difflib.get_close_matches(folded, list(by_folded), n=5, cutoff=CUTOFF):
        if slips(folded, match) <= allowed or folded in re.split(r"[_\-. ]+", match):
            return by_folded[match]
    return None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` — did you mean 'X'?`` when a candidate is close, else an empty string."""
    match = closest(name, candidates)
    return f" — did you mean '{match}'?" if match else ""


def slips(a: str, b: str) -> int:
    """The fewest typing slips that turn ``a`` into ``b``: letters inserted, deleted or changed,
    and neighbours swapped (the optimal string alignment distance).

    >>> slips("ned", "end"), slips("summarise", "summary"), slips("search", "echo")
    (1, 3, 4)
    """
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, previous = previous, current
    return previous[-1]
