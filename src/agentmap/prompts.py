"""Prompts: inline text with ``{field}`` placeholders, or references to a registry or a file.

A Prompt cell is kept in the graph model exactly as written (so converting a graph between
formats keeps ``prompt:greeting`` a reference); it is resolved to text when checked and when
the node's agent is built.

- ``prompt:name`` — the entry ``name`` of the prompts registry (``paths.prompts``, a YAML
  mapping of name → text).
- ``file:path/to.txt`` — a text file, relative to the graph file's folder.
- ``yaml:path/to.yaml#key.sub`` — the text at a dotted key path of a YAML file (AgentMap's
  syntax for a family of prompts kept in one file), found like a ``file:`` path.
- anything else — the text itself.

``{field}`` is filled from the node's inputs; ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentmap.config import read_yaml_file
from agentmap.exceptions import ConfigError, GraphFileError
from agentmap.security import AllowedPaths
from agentmap.suggest import did_you_mean
from agentmap.userfiles import DEFAULT_MAX_FILE_MB, read_user_file

REGISTRY_PREFIX = "prompt:"
FILE_PREFIX = "file:"
YAML_PREFIX = "yaml:"


class PromptError(ValueError):
    """A prompt reference that can't be resolved, or a template that can't be parsed.

    Internal: validation turns it into a ``Problem`` at the Prompt cell.
    """


class PromptCatalog:
    """The prompts registry, and resolution of Prompt cells to text.

    >>> PromptCatalog({"greet": "Hello {name}"}).resolve("prompt:greet")
    'Hello {name}'
    """

    def __init__(
        self,
        registry: Mapping[str, str] | None = None,
        source: Path | None = None,
        max_file_mb: float = DEFAULT_MAX_FILE_MB,
        allowed: AllowedPaths | None = None,
    ) -> None:
        self._registry = dict(registry or {})
        self._source = source
        self._max_mb = max_file_mb  # for file: prompts (limits.max_file_mb)
        self._allowed = allowed or AllowedPaths(None)  # for file: prompts (security)

    @classmethod
    def load(
        cls,
        path: Path,
        max_file_mb: float = DEFAULT_MAX_FILE_MB,
        allowed: AllowedPaths | None = None,
    ) -> PromptCatalog:
        """Read the registry at ``path``; a missing file is an empty registry.

        A path that is there but is no regular file (a FIFO, a device) is read, to be refused.
        ``allowed`` are the folders ``file:`` prompts may be read from (the registry itself
        is named by the configuration, not by a graph, so it is not checked).
        """
        if not path.exists() or path.is_dir():
            return cls(source=path, max_file_mb=max_file_mb, allowed=allowed)
        data = read_yaml_file(path, "the prompts registry", max_file_mb)
        if data is None:
            data = {}
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ConfigError(
                f"{path}: the prompts registry must map names to text, "
                "e.g. 'greet: Hello {name}'",
                file=str(path),
            )
        registry = {str(k): v for k, v in data.items()}
        return cls(registry, source=path, max_file_mb=max_file_mb, allowed=allowed)

    def resolve(self, cell: str, base_dir: Path | None = None) -> str:
        """The text a Prompt cell stands for; ``PromptError`` says why it can't be resolved."""
        stripped = cell.strip()
        if stripped.startswith(REGISTRY_PREFIX):
            return self._from_registry(stripped[len(REGISTRY_PREFIX) :].strip())
        if stripped.startswith(FILE_PREFIX):
            relative = stripped[len(FILE_PREFIX) :].strip()
            return _from_file(relative, base_dir, self._max_mb, self._allowed)
        if stripped.startswith(YAML_PREFIX):
            reference = stripped[len(YAML_PREFIX) :].strip()
            return _from_yaml(reference, base_dir, self._max_mb, self._allowed)
        return cell

    def _from_registry(self, name: str) -> str:
        if name in self._registry:
            return self._registry[name]
        where = f"the prompts registry {self._source}" if self._source else "the prompts registry"
        if self._source is not None and not self._source.is_file():
            where += " (which does not exist — create it or set paths.prompts)"
        raise PromptError(
            f"no prompt named '{name}' in {where}{did_you_mean(name, self._registry)}"
        )


def _from_file(relative: str, base_dir: Path | None, max_mb: float, allowed: AllowedPaths) -> str:
    path = (base_dir or Path.cwd()) / relative
    if (refused := allowed.refusal(path, "prompt file")) is not None:
        raise PromptError(refused)
    try:
        data = read_user_file(
            allowed.target(path),
            error=GraphFileError,
            max_mb=max_mb,
            display=f"prompt file {path}",
            what="a prompt",
        )
        return data.decode("utf-8-sig")
    except FileNotFoundError:
        raise PromptError(
            f"prompt file {path} does not exist — the path is relative to the graph file"
        ) from None
    except GraphFileError as exc:  # a FIFO, a device, or too big: validation places it
        raise PromptError(exc.message) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"can't read prompt file {path} ({exc})") from exc


def _from_yaml(reference: str, base_dir: Path | None, max_mb: float, allowed: AllowedPaths) -> str:
    """The text at ``file.yaml#key.path``: keys separated by dots lead into nested mappings."""
    relative, hash_mark, keys = reference.partition("#")
    if not hash_mark or not keys.strip() or not relative.strip():
        raise PromptError(
            f"'yaml:{reference}' needs a file and a key — write yaml:FILE#KEY, e.g. "
            "yaml:prompts/support.yaml#responses.resolved"
        )
    relative = relative.strip()
    path = (base_dir or Path.cwd()) / relative
    data = _parsed_yaml(_from_file(relative, base_dir, max_mb, allowed), path)
    value: Any = data
    walked: list[str] = []
    for key in keys.strip().split("."):
        found = _key_in(value, key)
        if found is _MISSING:
            at = f"under '{'.'.join(walked)}'" if walked else "at its top level"
            there = sorted(str(k) for k in value) if isinstance(value, Mapping) else []
            raise PromptError(
                f"prompt file {path} has no key '{keys.strip()}': nothing named '{key}' {at}"
                f"{did_you_mean(key, there)}"
            )
        value = found
        walked.append(key)
    if not isinstance(value, str | int | float):  # a bool is an int: AgentMap takes it too
        held = {dict: "a mapping", list: "a list", type(None): "nothing"}.get(type(value), "data")
        raise PromptError(
            f"'{keys.strip()}' in prompt file {path} holds {held}, not text — point the key "
            "path at a text value"
        )
    return str(value)


_MISSING: Any = object()


def _key_in(value: Any, key: str) -> Any:
    """``value[key]``, matching keys YAML read as numbers by their text too (``2024: ...``)."""
    if not isinstance(value, Mapping):
        return _MISSING
    if key in value:
        return value[key]
    return next((v for k, v in value.items() if str(k) == key), _MISSING)


def _parsed_yaml(text: str, path: Path) -> Any:
    import yaml  # only paid for by graphs with yaml: prompts

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise PromptError(
            f"prompt file {path} is not valid YAML{line} ({getattr(exc, 'problem', None) or exc})"
            " — fix its syntax"
        ) from exc


def placeholders(template: str) -> tuple[str, ...]:
    """The ``{field}`` names a template uses, in order; ``PromptError`` if it is malformed."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise PromptError(
            f"the prompt has a stray brace ({exc}) — write {{{{ or }}}} for a literal brace"
        ) from exc
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            written = (
                field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            )
            raise PromptError(
                f"'{{{written}}}' is not a plain {{field}} placeholder — use an input's name, "
                "or {{ and }} for literal braces"
            )
        if field not in names:
            names.append(field)
    return tuple(names)


def fill(template: str, values: Mapping[str, Any]) -> str:
    """The template with each ``{field}`` replaced by ``values[field]`` (absent → empty text).

    ``None`` counts as absent: an input the state doesn't hold reaches the agent as ``None``,
    and ``"{approved}{rejected}"`` with one branch taken must not read ``"Nonerejected"``.
    """
    return template.format_map(_Blank(values))


class _Blank(dict[str, Any]):
    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__((k, v) for k, v in values.items() if v is not None)

    def __missing__(self, key: str) -> str:
        return ""
