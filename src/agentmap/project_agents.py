"""Where in a project an agent type is defined, found without importing anything.

An unknown agent type in a graph is usually one the project defines in a folder the agents
folder doesn't cover (a graph run from ``graphs/``, agents kept in ``lib/``). Advising
``agentmap scaffold`` then would write a second copy; this finds the first, so validation can
say where it is and scaffolding can leave it alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from agentmap.agentmap_compat import PROJECT_CONFIG
from agentmap.agents.base import type_name_of


def defined_elsewhere(agent_type: str, root: Path, exclude: Path | None = None) -> Path | None:
    """A Python file under ``root`` (not under ``exclude``) that defines agent type
    ``agent_type`` — as an ``Agent`` class or an ``@agent("name")`` function — if there is one.

    Read as text, never imported: it only decides whether to advise ``agentmap scaffold``, which
    would otherwise write a second copy of an agent the project already has elsewhere.
    """
    wanted = type_name_of(agent_type)
    for file in _python_files(root, exclude):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for match in _DEFINITION.finditer(text):
            name = match.group("cls") or match.group("named") or match.group("fn") or ""
            if type_name_of(name) == wanted:
                return file
    return None


_DEFINITION = re.compile(
    r"^class\s+(?P<cls>\w+)\s*\([^)]*Agent[^)]*\)"
    r"|^@agent\(\s*(?:name\s*=\s*)?[\"'](?P<named>[^\"']+)[\"']"
    r"|^@agent(?:\(\s*\))?\s*\n(?:async\s+)?def\s+(?P<fn>\w+)",
    re.MULTILINE,
)
_SKIPPED_FOLDERS = frozenset({"node_modules", "site-packages", "__pycache__", "venv", "env"})
_MAX_FILES = 2_000


def _python_files(root: Path, exclude: Path | None) -> Iterator[Path]:
    """The project's own ``*.py`` files, breadth first, skipping virtualenvs and hidden folders,
    and at most ``_MAX_FILES`` of them (a validation must not crawl a home folder)."""
    folders, seen = [root], 0
    while folders:
        folder = folders.pop(0)
        if exclude is not None and folder == exclude:
            continue
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name in _SKIPPED_FOLDERS:
                continue
            if entry.is_dir() and not entry.is_symlink():
                folders.append(entry)
            elif entry.suffix == ".py" and entry.is_file():
                seen += 1
                if seen > _MAX_FILES:
                    return
                yield entry


def project_root(start: Path) -> Path | None:
    """The folder of the project ``start`` is in: the nearest one upward holding
    ``agentmap_config.yaml`` or ``.git``; None when there is neither (no project to search)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_CONFIG).is_file() or (folder / ".git").exists():
            return folder
    return None


def scaffold_advice(agent_type: str, graph_file: Path | None, command: str) -> str:
    """How to fix an unknown agent type: where the project already defines it, if it does (so
    nobody scaffolds a duplicate), else ``command`` (the ``agentmap scaffold`` advice)."""
    root = project_root(graph_file.parent) if graph_file is not None else None
    found = defined_elsewhere(agent_type, root) if root is not None else None
    if found is None:
        return command
    return (
        f"the project defines it in {found}, outside the custom agents folder in use — run "
        "agentmap from the project's folder (or below it), or set paths.custom_agents to that "
        "file's folder"
    )
