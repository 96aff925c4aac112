"""``agentmap init``: a new project that runs at once."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from agentmap.config import CONFIG_FILENAME

_FILES = {
    CONFIG_FILENAME: "agentmap_config.yaml",
    "graphs/hello.csv": "hello.csv",
    "agents/README.md": "agents_readme.md",
}


def init_project(directory: str | Path = ".") -> tuple[list[Path], list[Path]]:
    """Write the starter files into ``directory``; return (written, skipped because they exist).

    The project holds a documented config, ``graphs/hello.csv`` and an ``agents/`` folder, and
    ``agentmap run graphs/hello.csv`` works in it straight away. Existing files are never
    overwritten.
    """
    root = Path(directory)
    templates = resources.files("agentmap") / "templates"
    written: list[Path] = []
    skipped: list[Path] = []
    for target, template in _FILES.items():
        path = root / target
        if path.exists():
            skipped.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((templates / template).read_text(encoding="utf-8"), encoding="utf-8")
        written.append(path)
    (root / "functions").mkdir(parents=True, exist_ok=True)
    return written, skipped
