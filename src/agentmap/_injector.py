"""dependency-injector, imported without the web frameworks and YAML it would import on its own.

Its ``containers`` module imports its ``wiring``, which imports FastAPI, Starlette, Werkzeug
and FastDepends when they are installed, to recognise their ``Depends`` markers in functions
it wires. agentmap wires no functions; with the ``server`` extra installed, that import cost
every ``agentmap run`` a FastAPI import (a good share of its start-up). Its ``providers`` and
``containers`` also import PyYAML for ``Configuration.from_yaml``, which agentmap never calls
(``agentmap.config`` reads the config file, importing PyYAML only when there is one): that was
a tenth of a plain run's start-up. Only ``container.py`` uses what this module gives.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

_UNUSED = ("fastapi", "starlette", "werkzeug", "fast_depends", "yaml")


@contextmanager
def _without_unused_imports() -> Iterator[None]:
    """A package not imported yet reads as absent meanwhile (importing it raises ImportError,
    which dependency-injector expects of an absent one); one already imported (in the
    service's own process, say) is left alone."""
    blocked = [name for name in _UNUSED if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


with _without_unused_imports():
    from dependency_injector import containers, providers

__all__ = ["containers", "providers"]
