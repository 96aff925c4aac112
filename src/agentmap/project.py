"""``agentmap init``: a new project, from a template, that runs at once."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from agentmap.config import CONFIG_FILENAME
from agentmap.exceptions import AgentMapError


@dataclass(frozen=True, slots=True)
class Template:
    """Files a template adds (project path → file in agentmap/templates) and how to run it."""

    files: dict[str, str]
    run: str


TEMPLATES = {
    "hello": Template(
        {"graphs/hello.csv": "hello.csv"},
        """agentmap run graphs/hello.csv --state '{"input": "hi"}'""",
    ),
    "branching": Template(
        {"graphs/branching.csv": "branching.csv"},
        """agentmap run graphs/branching.csv --state '{"approved": "yes"}'""",
    ),
    "error-handling": Template(
        {
            "graphs/error_handling.csv": "error_handling.csv",
            "agents/data_processing.py": "data_processing.py",
        },
        """agentmap run graphs/error_handling.csv --state '{"data": "1,x,3"}'""",
    ),
}
_COMMON = {CONFIG_FILENAME: "agentmap_config.yaml", "agents/README.md": "agents_readme.md"}


@dataclass(frozen=True, slots=True)
class InitResult:
    """Files written, files kept because they existed, and the command to run next."""

    written: tuple[Path, ...]
    skipped: tuple[Path, ...]
    next_command: str


def init_project(directory: str | Path = ".", template: str = "hello") -> InitResult:
    """Write a template's files into ``directory`` (created if missing); never overwrite a file.

    Every template brings a documented ``agentmap_config.yaml``, ``agents/`` and
    ``functions/``, and runs straight away with ``next_command`` (run inside ``directory``).
    ``.gitignore`` gets the run store's folder, ``.agentmap/`` (added to an existing file).
    """
    if template not in TEMPLATES:
        from agentmap.exceptions import ConfigError
        from agentmap.suggest import did_you_mean

        raise ConfigError(
            f"--template: no template named '{template}'{did_you_mean(template, TEMPLATES)} "
            f"(templates: {', '.join(TEMPLATES)})"
        )
    root = Path(directory)
    source = resources.files("agentmap") / "templates"
    written: list[Path] = []
    skipped: list[Path] = []
    try:
        for target, name in {**_COMMON, **TEMPLATES[template].files}.items():
            path = root / target
            if path.exists():
                skipped.append(path)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
            written.append(path)
        (root / "functions").mkdir(parents=True, exist_ok=True)
        if _ignore_run_store(root / ".gitignore"):
            written.append(root / ".gitignore")
    except OSError as exc:
        raise AgentMapError(
            f"can't create the project in {root}: {exc.strerror} ({exc.filename}) — choose a "
            "folder that doesn't exist yet or is a folder you can write to",
            file=str(root),
        ) from exc
    return InitResult(tuple(written), tuple(skipped), TEMPLATES[template].run)


STORE_IGNORE = ".agentmap/"


def _ignore_run_store(gitignore: Path) -> bool:
    """Add the run store's folder to ``.gitignore`` (made if missing); True if it changed."""
    text = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if any(
        line.strip() in (STORE_IGNORE, ".agentmap", "/.agentmap/") for line in text.splitlines()
    ):
        return False
    separator = "" if not text or text.endswith("\n") else "\n"
    note = "# agentmap's run store (run history and checkpoints) stays local\n"
    gitignore.write_text(f"{text}{separator}{note}{STORE_IGNORE}\n", encoding="utf-8")
    return True
