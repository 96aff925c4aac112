"""Import the user's Python files (custom agents, routing functions) from a configured folder."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

from agentmap.exceptions import AgentError


def import_folder(folder: Path) -> list[ModuleType]:
    """Import every ``*.py`` file in ``folder`` (not ``_private.py`` ones), in name order.

    Files are imported under private module names, freshly each time, so an edited file is
    picked up by the next load. A folder that doesn't exist holds no modules.
    """
    if not folder.is_dir():
        return []
    return [
        import_file(file) for file in sorted(folder.glob("*.py")) if not file.name.startswith("_")
    ]


def import_file(file: Path) -> ModuleType:
    """Import one file; an error while importing it names the file and line."""
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:10]
    name = f"agentmap_user_{digest}_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise AgentError(f"{file}: can't be imported as a Python module", file=str(file))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses, pickling and typing look modules up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        line = _line_in(file, exc)
        where = f"{file}:{line}" if line else str(file)
        raise AgentError(
            f"{where}: importing this module raised {type(exc).__name__}: {exc} — fix the module "
            "(--debug shows the traceback)",
            file=str(file),
            row=line,
        ) from exc
    return module


def _line_in(file: Path, exc: Exception) -> int | None:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return exc.lineno
    target = str(file.resolve())
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == target]
    return lines[-1] if lines else None
