"""The distribution agentmap is installed as, its extras, and the pip command for one of them.

The command and the import are ``agentmap``, but on PyPI ``agentmap`` is another project
(AgentMap, whose CSV columns this one reads): an install hint naming ``agentmap`` would
install that project. So every install hint is made here, from ``DISTRIBUTION``, and a
test checks that no other text in the repository spells one by hand.
"""

from __future__ import annotations

from typing import NamedTuple

DISTRIBUTION = "agentmap-runner"
"""The name in pyproject.toml's ``[project]``: what pip installs and importlib.metadata knows."""


class Extra(NamedTuple):
    """An optional part of agentmap: the extra that installs it and what it is for.

    ``packages`` are the distributions the extra brings (as pip and importlib.metadata name
    them); tests/test_cli_habits.py checks they are the ones pyproject.toml lists.
    """

    name: str
    packages: tuple[str, ...]
    purpose: str


EXTRAS: tuple[Extra, ...] = (
    Extra(
        "llm",
        ("openai", "anthropic", "google-genai"),
        "model agents: llm, openai, anthropic, google, orchestrator, summary",
    ),
    Extra(
        "server", ("fastapi", "uvicorn", "prometheus-client"), "agentmap serve (the HTTP service)"
    ),
    Extra(
        "postgres", ("sqlalchemy", "psycopg"), "a PostgreSQL run store (storage.url: postgresql://)"
    ),
    Extra(
        "analytics", ("pandas", "pyarrow"), "agentmap runs stats / runs export, --format parquet"
    ),
    Extra("dask", ("distributed",), "jobs and batches on a Dask cluster (jobs.executor: dask)"),
)
"""Every extra but ``test`` (this repository's own) and ``spreadsheet`` (empty: kept so old
install commands still work; pandas and openpyxl are core)."""


def install_hint(*extras: str) -> str:
    """The pip command that installs agentmap with ``extras``.

    >>> install_hint("llm")
    "pip install 'agentmap-runner[llm]'"
    """
    return f"pip install '{DISTRIBUTION}[{','.join(extras)}]'"
