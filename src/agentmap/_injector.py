"""dependency-injector, imported without the web frameworks it would import on its own.

Its ``containers`` module imports its ``wiring``, which imports FastAPI, Starlette, Werkzeug
and FastDepends when they are installed, to recognise their ``Depends`` markers in functions
it wires. agentmap wires no functions; with the ``server`` extra installed, that import cost
every ``agentmap run`` a FastAPI import (a good share of its start-up). Only ``container.py``
uses what this module gives.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

_WEB_FRAMEWORKS = ("fastapi", "starlette", "werkzeug", "fast_depends")


@contextmanager
def _without_web_frameworks() -> Iterator[None]:
    """A framework not imported yet reads as absent meanwhile (importing it raises
    ImportError, which dependency-injector expects of an absent one); one already imported
    (in the service's own process) is left alone."""
    blocked = [name for name in _WEB_FRAMEWORKS if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


with _without_web_frameworks():
    from dependency_injector import containers, providers

__all__ = ["containers", "providers"]
