"""Routing functions of graphs/routing.csv (used as func:NAME in routing cells)."""

from collections.abc import Mapping
from typing import Any


def route_by_category(
    state: Mapping[str, Any], success_target: str | None, failure_target: str | None
) -> str:
    """Billing, Bug or Other, after the category Classify wrote."""
    return {"billing": "Billing", "bug": "Bug"}.get(state["category"], "Other")


def until_zero(
    state: Mapping[str, Any], success_target: str | None, failure_target: str | None
) -> str:
    """Loop back to Tick until count reaches zero, then go to Done."""
    return "Tick" if state["count"] > 0 else "Done"
