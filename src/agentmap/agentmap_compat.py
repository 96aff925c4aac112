"""Reading a config file written for AgentMap, so an AgentMap project runs without edits.

AgentMap's ``agentmap_config.yaml`` shares our file name and some keys (``paths.custom_agents``,
``execution.tracking``, ``llm.openai.model``, ``llm.google``) but also holds many we have no use
for (``memory``, a logging dictConfig's handlers). Refusing them would stop every command in such
a project, so a file that is recognisably AgentMap's is translated instead: keys with a meaning
here are mapped, the rest are ignored with one warning each that names the file and the key.
Our own format keeps refusing unknown keys, so a typo there is still an error.

``env:NAME`` (AgentMap's way to read a value from the environment) works in both formats for an
``api_key``; in an AgentMap file it works for every value that is kept.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agentmap.exceptions import ConfigError

PROJECT_CONFIG = "agentmap_config.yaml"
"""The name of a project's config file (``config.CONFIG_FILENAME``, which is this: config
imports this module, so it can't be imported back)."""

log = logging.getLogger(__name__)

ENV_REFERENCE = "env:"

_AGENTMAP_TOP_LEVEL = frozenset(
    {
        "csv_path",
        "autocompile",
        "storage_config_path",
        "memory",
        "routing",
        "prompts",
        "telemetry",
        "messaging",
    }
)
"""Top-level keys only AgentMap's format has: one of them makes a file AgentMap's."""
_AGENTMAP_PATHS = frozenset({"csv_repository", "custom_tools", "metadata_bundles", "cache"})
_AGENTMAP_LLM = frozenset({"resilience"})
_DICTCONFIG_KEYS = frozenset({"version", "handlers", "formatters", "root", "loggers"})

_WHY_IGNORED = {
    "autocompile": "graphs are read from their files on every run, there is nothing to compile",
    "storage_config_path": "the storage config it names is not read: csv_/json_/file_ agents "
    "take a relative path from the project folder, not from its base directories or collections",
    "prompts.directory": "a file: prompt is read relative to its graph file's folder",
    "paths.custom_tools": "a tool_agent's tools come from the file its Tool_Source column "
    "names (AgentMap itself only creates this folder)",
    "llm.resilience": "retries are set with execution.retry, for every node",
    "routing.complexity_analysis": "complexity comes from task_types' complexity_keywords",
    "routing.cost_optimization": "routing picks by preference and complexity only",
    "routing.fallback": "a node names its fallback_provider / fallback_model in its Context",
    "routing.activities": "routing picks by task type and complexity",
    "routing.performance": "routing decisions are not cached: each is a few dictionary lookups",
    "routing.provider_capabilities": "no prompt caching or vision requests are made here",
}

_warned: set[tuple[str, str]] = set()
"""(file, key) pairs already warned about in this process: a command loads settings more than
once, and one warning per ignored key is enough."""


def is_agentmap_format(data: Mapping[str, Any]) -> bool:
    """Whether ``data`` (a config file's mapping) is written in AgentMap's format.

    Decided by keys that exist only there, so a misspelt key in our own format is still refused
    (with a suggestion) rather than taken as a sign of the other format.
    """
    if _AGENTMAP_TOP_LEVEL & data.keys():
        return True
    paths, llm, logs = data.get("paths"), data.get("llm"), data.get("logging")
    return (
        (isinstance(paths, Mapping) and bool(_AGENTMAP_PATHS & paths.keys()))
        or (isinstance(llm, Mapping) and bool(_AGENTMAP_LLM & llm.keys()))
        or (isinstance(logs, Mapping) and bool(_DICTCONFIG_KEYS & logs.keys()))
    )


def from_agentmap(data: Mapping[str, Any], schema: type[BaseModel], file: Path) -> dict[str, Any]:
    """Our settings mapping for AgentMap settings ``data`` read from ``file``.

    Mapped: ``paths.csv_repository`` (else ``csv_path``'s folder) → ``paths.graphs``,
    ``prompts.registry_file`` → ``paths.prompts``, a logging dictConfig's root level and format
    → ``logging``, ``routing`` → ``llm.routing`` (its ``enabled``, ``routing_matrix`` and
    ``task_types``); every key ``schema`` knows is kept as it is (and validated as usual). Each
    other key is dropped with a warning naming ``file`` and the key.
    """
    source = copy.deepcopy(dict(data))
    ignored: list[str] = []
    paths = _mapping(source.get("paths"))
    target: dict[str, Any] = {"paths": {}}
    graphs = paths.pop("csv_repository", None)
    csv_path = source.pop("csv_path", None)
    if graphs is None and isinstance(csv_path, str) and csv_path:
        graphs = str(Path(csv_path).parent)
    if graphs is not None:
        target["paths"]["graphs"] = graphs
    prompts = source.pop("prompts", None)
    if isinstance(prompts, dict):
        if "registry_file" in prompts:
            target["paths"]["prompts"] = prompts.pop("registry_file")
        ignored += [f"prompts.{key}" for key in prompts]
    elif prompts is not None:
        ignored.append("prompts")
    logs = source.get("logging")
    if isinstance(logs, dict) and _DICTCONFIG_KEYS & logs.keys():
        source["logging"] = _from_dictconfig(source.pop("logging"), ignored)
    routing = source.pop("routing", None)
    policy = _at(source, "execution", "success_policy")
    if isinstance(policy, dict) and policy.get("custom_function") == "":
        policy["custom_function"] = None  # AgentMap's template writes "" for "none"
    kept = _known(source, schema, "", ignored)
    for key, value in target["paths"].items():
        kept.setdefault("paths", {})[key] = value
    if isinstance(routing, dict):
        llm_schema = _section(_section(schema, "llm"), "routing")
        kept.setdefault("llm", {})["routing"] = _known(routing, llm_schema, "routing.", ignored)
    elif routing is not None:
        ignored.append("routing")
    for key in ignored:
        _warn_ignored(file, key)
    try:
        return dict(_resolve_env(kept, ""))
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}", file=str(file)) from None


def resolve_key_references(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with each provider's ``api_key: "env:NAME"`` turned into ``api_key_env: NAME``.

    The variable is then read when the provider is called, as ``api_key_env`` always is: a
    project whose file names keys for several providers runs with only the ones it calls set,
    and a missing one is reported by the call that needs it, naming the variable.
    ``env:NAME:fallback`` uses the fallback as the key while NAME is unset.
    """
    result = dict(data)
    llm = result.get("llm")
    if not isinstance(llm, Mapping):
        return result
    llm = dict(llm)
    builtin = ("openai", "anthropic", "google")
    sections = [name for name in builtin if isinstance(llm.get(name), Mapping)]
    for name in sections:
        llm[name] = _key_reference(llm[name])
    providers = llm.get("providers")
    if isinstance(providers, Mapping):
        llm["providers"] = {
            name: _key_reference(p) if isinstance(p, Mapping) else p
            for name, p in providers.items()
        }
    result["llm"] = llm
    return result


def _key_reference(provider: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(provider)
    key = result.get("api_key")
    if not isinstance(key, str) or not key.startswith(ENV_REFERENCE):
        return result
    name, sep, fallback = key[len(ENV_REFERENCE) :].partition(":")
    if sep and not os.environ.get(name):
        result["api_key"] = fallback
    else:
        del result["api_key"]
        result["api_key_env"] = name
    return result


def _from_dictconfig(config: dict[str, Any], ignored: list[str]) -> dict[str, Any]:
    """Our ``logging`` section from a logging dictConfig: the root logger's level (else the first
    handler's) and the format of the formatter its first handler uses."""
    handlers = _mapping(config.get("handlers"))
    root = _mapping(config.get("root"))
    names = root.get("handlers") or list(handlers)
    first = _mapping(handlers.get(names[0]) if isinstance(names, list) and names else None)
    level = root.get("level") or first.get("level")
    formatters = _mapping(config.get("formatters"))
    formatter = formatters.get(str(first.get("formatter"))) or next(iter(formatters.values()), None)
    result: dict[str, Any] = {}
    if isinstance(level, str):
        result["level"] = "DEBUG" if level.upper() == "TRACE" else level
    if isinstance(formatter, dict) and isinstance(formatter.get("format"), str):
        result["format"] = formatter["format"]
    for key in config:
        if key not in ("version", "root", "formatters"):
            ignored.append(f"logging.{key}")  # handlers (a log file), loggers, file_path, ...
    return result


def _section(schema: type[BaseModel], name: str) -> type[BaseModel]:
    """The settings class of section ``name`` of ``schema``."""
    section = schema.model_fields[name].annotation
    assert isinstance(section, type) and issubclass(section, BaseModel)
    return section


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _at(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)  # type: ignore[assignment]
    return data


def _known(data: dict[str, Any], schema: type[BaseModel], prefix: str, ignored: list[str]) -> Any:
    """The keys of ``data`` that ``schema`` has, recursively; the rest go to ``ignored``."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        field = schema.model_fields.get(str(key))
        if field is None or field.exclude:
            ignored.append(f"{prefix}{key}")
            continue
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel) and isinstance(value, dict):
            kept[key] = _known(value, sub, f"{prefix}{key}.", ignored)
        else:
            kept[key] = value
    return kept


def _resolve_env(value: Any, key: str) -> Any:
    """Every ``env:NAME[:default]`` string in ``value`` read from the environment (AgentMap reads
    them when it loads its config); a provider's ``api_key`` is left for the call to read."""
    if isinstance(value, dict):
        return {
            k: v if k == "api_key" else _resolve_env(v, f"{key}.{k}" if key else str(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_resolve_env(item, key) for item in value]
    if isinstance(value, str) and value.startswith(ENV_REFERENCE):
        name, sep, fallback = value[len(ENV_REFERENCE) :].partition(":")
        found = os.environ.get(name)
        if found is not None:
            return found
        if sep:
            return fallback
        raise ConfigError(
            f"{key}: its value is read from the environment variable {name}, which is not set "
            f"— set it, or write a fallback: env:{name}:<value>"
        )
    return value


def _warn_ignored(file: Path, key: str) -> None:
    if (str(file), key) in _warned:
        return
    _warned.add((str(file), key))
    why = _WHY_IGNORED.get(key) or _WHY_IGNORED.get(key.partition(".")[0])
    log.warning(
        "%s: AgentMap setting '%s' has no meaning in agentmap-runner and is ignored%s",
        file,
        key,
        f" — {why}" if why else "",
    )
