"""The docs describe what exists: columns, config keys and example commands are checked here."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from agentmap.cli.app import app
from agentmap.config import Settings
from agentmap.graph.columns import _ALIASES, COLUMNS, fold
from helpers import REPO_STORE

REPO = Path(__file__).resolve().parent.parent
DOCS = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]


def _table_after(path: Path, marker: str) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    rows = []
    for line in lines[start + 3 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_column_reference_lists_every_column_and_alias_the_loader_accepts() -> None:
    rows = _table_after(REPO / "docs" / "graphs.md", "columns-table")
    documented = {row[0]: {a.strip() for a in row[1].split(",") if a.strip()} for row in rows}
    assert list(documented) == list(COLUMNS)
    for column, aliases in documented.items():
        accepted = {key for key, value in _ALIASES.items() if value == column} - {fold(column)}
        assert {fold(alias) for alias in aliases} == accepted, column


def _leaf_defaults(instance: BaseModel, prefix: str = "") -> dict[str, Any]:
    leaves: dict[str, Any] = {}
    for name, field in type(instance).model_fields.items():
        if field.exclude:
            continue
        value = getattr(instance, name)
        if isinstance(value, BaseModel):
            leaves.update(_leaf_defaults(value, f"{prefix}{name}."))
        else:
            leaves[f"{prefix}{name}"] = value
    return leaves


def test_configuration_reference_lists_every_key_with_its_default() -> None:
    rows = _table_after(REPO / "docs" / "configuration.md", "keys-table")
    documented = {row[0].strip("`"): row[1].strip("`") for row in rows}
    defaults = _leaf_defaults(Settings())
    assert set(documented) == set(defaults)
    for key, value in defaults.items():
        shown = (
            {True: "true", False: "false", None: "null"}.get(value, str(value))
            if isinstance(value, bool | type(None))
            else json.dumps(value)
            if isinstance(value, tuple | dict)
            else str(value)
        )
        assert documented[key] == shown.replace('"', ""), key


def _doc_commands() -> list[tuple[str, str]]:
    commands = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"```(?:bash|console)\n(.*?)```", text, flags=re.S):
            for line in block.splitlines():
                line = line.removeprefix("$ ").split("  #")[0].strip()
                if line.startswith("agentmap ") and "completion" not in line:
                    commands.append((path.name, line))
    return commands


@pytest.mark.parametrize(("doc", "command"), _doc_commands())
def test_every_documented_command_runs(
    doc: str, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("AGENTMAP_STORAGE__URL", REPO_STORE["url"])
    result = CliRunner().invoke(app, shlex.split(command)[1:])
    assert result.exit_code == 0, f"{doc}: {command}\n{result.output}"


def test_documented_commands_were_found() -> None:
    assert len(_doc_commands()) >= 6


@pytest.mark.parametrize("command", ["run", "validate", "scaffold", "init", "graph"])
def test_every_command_has_help_text(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines[1].strip()) > 15  # the command's one-line description


@pytest.mark.parametrize(
    ("template", "example"),
    [
        ("hello.csv", "graphs/hello.csv"),
        ("branching.csv", "graphs/branching.csv"),
        ("error_handling.csv", "graphs/error_handling.csv"),
        ("data_processing.py", "agents/data_processing.py"),
        ("agentmap_config.yaml", "agentmap_config.yaml"),
    ],
)
def test_init_templates_are_the_repository_examples(template: str, example: str) -> None:
    """`agentmap init` writes the same files the repository runs and tests."""
    written = REPO / "src" / "agentmap" / "templates" / template
    assert written.read_text(encoding="utf-8") == (REPO / example).read_text(encoding="utf-8")
