"""Routing functions for ``func:name`` cells, found in the functions folder."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agentmap.exceptions import AgentError
from agentmap.modules import import_folder

RoutingFunction = Callable[[Mapping[str, Any], str | None, str | None], str | None]
"""``name(state, success_target, failure_target) -> next node name`` (``None`` ends the run)."""


class FunctionCatalog:
    """The public functions defined in the functions folder's modules, by name."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self._functions = dict(functions or {})

    @classmethod
    def discover(cls, folder: Path) -> FunctionCatalog:
        """Every public top-level function of every module in ``folder``."""
        found: dict[str, tuple[Callable[..., Any], str]] = {}
        for module in import_folder(folder):
            for name, value in vars(module).items():
                if name.startswith("_") or not inspect.isfunction(value):
                    continue
                if value.__module__ != module.__name__:
                    continue
                if name in found:
                    raise AgentError(
                        f"function '{name}' is defined twice: in {found[name][1]} and in "
                        f"{module.__file__} — rename one",
                        file=module.__file__,
                    )
                found[name] = (value, str(module.__file__))
        return cls({name: fn for name, (fn, _) in found.items()})

    def names(self) -> list[str]:
        """Every function name, sorted."""
        return sorted(self._functions)

    def get(self, name: str) -> Callable[..., Any] | None:
        """The function called ``name``, if there is one."""
        return self._functions.get(name)

    def signature_problem(self, name: str) -> str | None:
        """Why ``name`` can't be called as ``name(state, success_target, failure_target)``."""
        function = self._functions[name]
        try:
            inspect.signature(function).bind(None, None, None)
        except TypeError:
            return (
                f"function '{name}' must accept (state, success_target, failure_target); "
                f"its signature is {name}{inspect.signature(function)}"
            )
        return None
