"""Settings: agentmap_config.yaml, overridden by AGENTMAP_* variables, over built-in defaults.

Every key is documented in ``agentmap_config.yaml`` at the project root (the same text
``agentmap init`` writes). Unknown keys and wrong types are errors naming the key and where it
came from, because a silently ignored setting is worse than a refused one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from agentmap.agentmap_compat import (
    PROJECT_CONFIG,
    from_agentmap,
    is_agentmap_format,
    resolve_key_references,
)
from agentmap.exceptions import ConfigError
from agentmap.pydantic_errors import error_input, error_key, error_text
from agentmap.secrets import remember, remember_secret_fields
from agentmap.suggest import did_you_mean
from agentmap.userfiles import DEFAULT_MAX_FILE_MB, read_user_file

if TYPE_CHECKING:
    import yaml

CONFIG_FILENAME = PROJECT_CONFIG
ENV_PREFIX = "AGENTMAP_"
DEFAULT_STORE_URL = "sqlite:///.agentmap/runs.db"
NO_STORE = ("none", "off", "")
GEMINI_KEY_ENV = "GEMINI_API_KEY"
"""Where Google's SDK looks for a key when ``GOOGLE_API_KEY`` is unset; so does agentmap."""
_IN_MEMORY = ("sqlite://", "sqlite:///", "sqlite:///:memory:")


class _Section(BaseModel):
    """A settings section. Its validator is built when a configuration is first validated, not
    when this module is imported, and defaults are made without one (``model_construct``): a
    run on the built-in defaults (no file, no ``AGENTMAP_*`` variable) builds none, which is
    about 4 % of a cold ``agentmap run`` (measured in instructions). The tests check that
    the defaults made so are what validating nothing gives."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class PathSettings(_Section):
    """Folders of user code; relative paths resolve against the config file's folder."""

    custom_agents: Path = Path("agents")
    functions: Path = Path("functions")
    prompts: Path = Path("prompts.yaml")
    graphs: Path = Path("graphs")
    """The graphs the service offers (``agentmap serve``); it reads no graph outside it."""


class TrackingSettings(_Section):
    """What the execution tracker records for each node run."""

    enabled: bool = True
    track_inputs: bool = False
    track_outputs: bool = False
    track_duration: bool = True
    """Durations are always measured — the run store and ``agentmap runs stats`` rely on
    them, and a clock read per node costs next to nothing — so ``true`` is the only value.
    The key is accepted so configuration written for AgentMap (whose guide shows
    ``track_duration: true``) loads; ``false`` is refused rather than silently ignored."""

    @field_validator("track_duration")
    @classmethod
    def _always_timed(cls, value: bool) -> bool:
        if not value:
            raise PydanticCustomError(
                "track_duration_off",
                "node durations are always tracked (the run store and `agentmap runs stats` "
                "need them) — remove the key or set it to true; to record no node results at "
                "all, set execution.tracking.enabled to false",
            )
        return value


class SuccessPolicySettings(_Section):
    """How a run's overall success is decided from its nodes' outcomes."""

    type: Literal["handled", "all_nodes", "final_node", "critical_nodes", "custom"] = "handled"
    critical_nodes: tuple[str, ...] = ()
    custom_function: str | None = None


class ExecutionSettings(_Section):
    """Limits, concurrency, resilience and bookkeeping of a run."""

    max_steps: int = Field(default=10_000, ge=1)
    max_concurrency: int = Field(default=64, ge=1)
    timeout: float | None = Field(default=None, gt=0)
    retry: dict[str, Any] | None = None
    retry_by_graph: dict[str, dict[str, Any]] = {}
    reducers: dict[str, Literal["append", "extend", "merge", "sum", "max", "min", "last"]] = {}
    success_policy: SuccessPolicySettings = SuccessPolicySettings.model_construct()
    tracking: TrackingSettings = TrackingSettings.model_construct()

    @field_validator("retry")
    @classmethod
    def _valid_retry(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        from agentmap.retry import RetryPolicy

        if value is not None:
            RetryPolicy.from_dict(value)  # a RetryPolicyError (a ValueError): reported at the key
        return value

    @field_validator("retry_by_graph")
    @classmethod
    def _valid_graph_retry(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from agentmap.retry import RetryPolicy

        for policy in value.values():
            RetryPolicy.from_dict(policy)
        return value

    @field_validator("success_policy", mode="before")
    @classmethod
    def _policy_by_name(cls, value: Any) -> Any:
        # `success_policy: final_node` is the natural way to write the common case.
        return {"type": value} if isinstance(value, str) else value


class LoggingSettings(_Section):
    """Log level and format of the ``agentmap`` loggers (the CLI's ``-v`` raises the level)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "WARNING"
    format: str = "%(levelname)s %(name)s: %(message)s"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("format")
    @classmethod
    def _usable_format(cls, value: str) -> str:
        """Refuse a format the logging module can't use now, not at the first log line."""
        record = logging.LogRecord("agentmap", logging.WARNING, "", 0, "a message", None, None)
        try:
            logging.Formatter(value).format(record)
        except (ValueError, TypeError, KeyError) as exc:
            raise PydanticCustomError(
                "log_format",
                "not a logging format ({reason}) — use %-style fields, such as "
                "'%(levelname)s %(name)s: %(message)s'",
                {"reason": str(exc).strip("'")},
            ) from None
        return value


class ProviderSettings(_Section):
    """One model provider: its protocol, endpoint, credentials and defaults for its nodes.

    ``api_key`` is a secret: it is never printed, logged, tracked or shown in errors. When it
    is not set, the variable named by ``api_key_env`` is read at call time.
    """

    protocol: Literal["openai", "anthropic", "google"] = "openai"
    model: str | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    temperature: float | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    timeout: float = Field(default=60.0, gt=0)
    prompt_price: float | None = Field(default=None, ge=0)
    completion_price: float | None = Field(default=None, ge=0)


Complexity = Literal["low", "medium", "high", "critical"]
"""How demanding a request is, in AgentMap's four routing tiers (lowest first)."""


class TaskTypeSettings(_Section):
    """One kind of task a routed node may name (Context ``task_type``), as AgentMap defines it."""

    description: str = ""
    provider_preference: tuple[str, ...] = ()
    default_complexity: Complexity = "medium"
    complexity_keywords: dict[Complexity, tuple[str, ...]] = {}


class RoutingSettings(_Section):
    """How a node with Context ``routing_enabled`` picks its provider and model
    (``agentmap.llm.routing``); AgentMap's top-level ``routing`` section maps here."""

    enabled: bool = True
    default_task_type: str = "general"
    provider_preference: tuple[str, ...] = ()
    routing_matrix: dict[str, dict[Complexity, str]] = {}
    task_types: dict[str, TaskTypeSettings] = {}


class LLMSettings(_Section):
    """Model providers for the ``llm``, ``openai``, ``anthropic`` and ``google`` agents."""

    default_provider: str = "openai"
    openai: ProviderSettings = ProviderSettings.model_construct(
        protocol="openai", model="gpt-4o-mini", api_key_env="OPENAI_API_KEY"
    )
    anthropic: ProviderSettings = ProviderSettings.model_construct(
        protocol="anthropic",
        model="claude-haiku-4-5",
        api_key_env="ANTHROPIC_API_KEY",
        max_tokens=1024,
    )
    google: ProviderSettings = ProviderSettings.model_construct(
        protocol="google", model="gemini-2.5-flash", api_key_env="GOOGLE_API_KEY"
    )
    providers: dict[str, ProviderSettings] = {}
    stream: bool = False
    record: Path | None = None
    replay: Path | None = None
    routing: RoutingSettings = RoutingSettings.model_construct()

    @field_validator("openai", "anthropic", "google", mode="before")
    @classmethod
    def _over_builtin(cls, value: Any, info: Any) -> Any:
        # `anthropic: {base_url: ...}` changes the endpoint, not the protocol, model or key.
        if isinstance(value, Mapping):
            builtin = cls.model_fields[info.field_name].default
            return {**builtin.model_dump(exclude_unset=True), **value}
        return value

    def provider(self, name: str) -> ProviderSettings | None:
        """The settings of provider ``name`` (built-in or from ``providers``), if any."""
        builtin = {"openai": self.openai, "anthropic": self.anthropic, "google": self.google}
        return self.providers.get(name) or builtin.get(name)


class StorageSettings(_Section):
    """The run store: where runs, their checkpoints and their history are kept."""

    url: str = DEFAULT_STORE_URL
    checkpoints: bool = True
    retention_days: float = Field(default=30, ge=0)
    busy_timeout: float = Field(default=30, gt=0)
    durability: Literal["sync", "async", "exit"] = "async"
    """When checkpoints reach the store: before the next node starts (``sync``), in batches
    in batches alongside the run (``async``), or only when the run stops (``exit``)."""
    flush_interval: float = Field(default=0.05, gt=0, le=60)
    """``async``: the longest a checkpoint waits before it is committed, in seconds."""
    flush_batch: int = Field(default=256, ge=1, le=100_000)
    """``async``: the most checkpoints uncommitted at once; a full batch is written at once.
    ``exit``: the checkpoints a page held in memory until the run stops takes."""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value.strip().lower() in NO_STORE:
            return "none"
        if value.startswith("sqlite:") and value.partition("?")[0] in _IN_MEMORY:
            raise PydanticCustomError(
                "in_memory_store",
                "an in-memory SQLite store forgets every run when the process ends, so no run "
                "could be resumed — give a file (sqlite:///path), or 'none' to record nothing",
            )
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+", "postgres:")):
            raise PydanticCustomError(
                "store_url_scheme",
                "a store URL starts with sqlite:/// (a file) or postgresql:// (a server); "
                "'none' runs without a store",
            )
        return value

    @property
    def enabled(self) -> bool:
        """Whether runs are recorded at all (``url: none`` turns the store off)."""
        return self.url != "none"


class DaskSettings(_Section):
    """``jobs.executor: dask``: the Dask cluster jobs run on (docs/scaling.md)."""

    address: str | None = None
    """The scheduler, ``tcp://host:8786``; None: a cluster of this machine's, made on demand."""
    workers: int = Field(default=2, ge=1, le=1024)
    """The on-demand cluster's worker processes."""
    threads: int = Field(default=4, ge=1, le=1024)
    """Jobs each of its workers runs at once."""


class JobSettings(_Section):
    """Jobs: graph runs handed to workers, and the workers that run them (docs/jobs.md)."""

    executor: Literal["local", "workers", "dask"] = "local"
    """``local``: a process that creates jobs also runs them (on a thread of its own);
    ``workers``: it only records them, for ``agentmap worker`` processes to run; ``dask``: it
    hands them to a Dask cluster (``jobs.dask``)."""
    concurrency: int = Field(default=16, ge=1, le=100_000)
    """Jobs a worker runs at once."""
    lease: float = Field(default=30, gt=0, le=86_400)
    """Seconds a worker holds a job without renewing its lease; a job whose worker went
    silent this long is taken over by another worker, from its last checkpoint."""
    heartbeat: float = Field(default=2, gt=0, le=3_600)
    """Seconds between a worker's lease renewals (and its progress reports)."""
    poll_interval: float = Field(default=0.5, gt=0, le=3_600)
    """Seconds an idle worker waits before it looks for jobs again."""
    events: bool = True
    """Record each job's node events in the store (``GET /jobs/{id}/events``, the dashboard,
    ``agentmap jobs events``); false saves a row per node start and end."""
    dask: DaskSettings = DaskSettings.model_construct()

    @field_validator("heartbeat")
    @classmethod
    def _beats_within_lease(cls, value: float, info: Any) -> float:
        lease = info.data.get("lease")
        if lease is not None and value >= lease:
            raise PydanticCustomError(
                "heartbeat_too_slow",
                "the heartbeat must be shorter than the lease (a third of it is a good "
                "choice), or every job would be taken over while it runs",
            )
        return value


class ServerSettings(_Section):
    """``agentmap serve``: the HTTP service (docs/service.md)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65_535)
    api_keys: tuple[str, ...] = ()
    """Accepted API keys as ``sha256:<hex>`` hashes (``agentmap serve --hash-key`` makes one)."""
    api_keys_env: str = "AGENTMAP_API_KEYS"
    """A variable holding more keys, in plain text, comma-separated."""
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = Field(default=1_048_576, ge=1_024, le=1_073_741_824)

    @field_validator("api_keys")
    @classmethod
    def _hashed(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            digest = key.removeprefix("sha256:")
            if not key.startswith("sha256:") or len(digest) != 64 or not _is_hex(digest):
                raise PydanticCustomError(
                    "api_key_not_hashed",
                    "each key is its SHA-256 hash, written sha256:<64 hex digits> — make one "
                    "with `agentmap serve --hash-key`; plain keys go in the variable "
                    "server.api_keys_env names",
                )
        return value


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text.lower())


class LimitsSettings(_Section):
    """How much agentmap reads from the files it is pointed at (``agentmap.userfiles``)."""

    max_file_mb: float = Field(default=DEFAULT_MAX_FILE_MB, gt=0)
    """The largest graph, prompt, state, config or batch input file read, in megabytes: a
    bigger one is refused before it is read, so a wrong path can't fill memory."""


class SecuritySettings(_Section):
    """Which folders a graph may make agentmap read files from (``agentmap.security``)."""

    allowed_paths: tuple[Path, ...] | None = None
    """Folders (relative to the config file's folder) that ``file:`` prompts and subgraph
    files must lie in, after following symlinks; None: anywhere, as for local files. The HTTP
    service always enforces it: unset there, it is the project folder and the graphs folder."""


class Settings(_Section):
    """All of agentmap's configuration. ``source`` is the file it was read from, if any."""

    paths: PathSettings = PathSettings.model_construct()
    execution: ExecutionSettings = ExecutionSettings.model_construct()
    storage: StorageSettings = StorageSettings.model_construct()
    jobs: JobSettings = JobSettings.model_construct()
    server: ServerSettings = ServerSettings.model_construct()
    llm: LLMSettings = LLMSettings.model_construct()
    logging: LoggingSettings = LoggingSettings.model_construct()
    limits: LimitsSettings = LimitsSettings.model_construct()
    security: SecuritySettings = SecuritySettings.model_construct()
    source: Path | None = Field(default=None, exclude=True)


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Read settings from ``path`` (or the project's ``agentmap_config.yaml``, found from ``cwd``
    upward, if there is one), then the environment.

    >>> load_settings(environ={"AGENTMAP_EXECUTION__MAX_STEPS": "50"}).execution.max_steps
    50
    """
    cwd = cwd or Path.cwd()
    file = _find_config_file(path, cwd)
    data = _read_yaml(file) if file else {}
    if file and is_agentmap_format(data):
        data = from_agentmap(data, Settings, file)
    env_keys = _overlay_environment(data, os.environ if environ is None else environ)
    return settings_from_dict(
        data, source=file, base_dir=file.parent if file else cwd, env_keys=env_keys
    )


def settings_from_dict(
    data: Mapping[str, Any],
    *,
    source: Path | None = None,
    base_dir: Path | None = None,
    env_keys: Mapping[str, str] | None = None,
) -> Settings:
    """Validate a settings mapping (as the YAML file would hold it) and resolve its paths.

    The keys it holds or points at are secrets from here on (``agentmap.secrets``): taken
    before validation, so a refused one is redacted too.
    """
    data = resolve_key_references(data)  # `api_key: env:NAME` is a variable's name, no key
    remember_secret_fields(data)
    try:
        # Nothing given: the defaults as they are (validating them would only build validators).
        settings = Settings.model_validate(data) if data else Settings.model_construct()
    except ValidationError as exc:
        raise _config_error(exc, source, env_keys or {}) from exc
    remember_settings(settings)
    base = base_dir or Path.cwd()
    given = settings.paths
    paths = given.model_copy(
        update={
            "custom_agents": base / given.custom_agents,
            "functions": base / given.functions,
            "prompts": base / given.prompts,
            "graphs": base / given.graphs,
        }
    )
    storage = settings.storage.model_copy(update={"url": _store_url(settings.storage.url, base)})
    return settings.model_copy(update={"paths": paths, "storage": storage, "source": source})


def _store_url(url: str, base: Path) -> str:
    """A SQLite URL with its relative file path resolved against ``base`` (the project folder)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    path, sep, query = url[len(prefix) :].partition("?")
    if not path or Path(path).is_absolute():
        return url
    return f"{prefix}{base / path}{sep}{query}"


def _find_config_file(path: str | os.PathLike[str] | None, cwd: Path) -> Path | None:
    if path is not None:
        file = Path(path)
        if not file.exists():  # a FIFO or a folder is there: reading it says what it is
            raise ConfigError(
                f"config file {file} does not exist — check the --config path", file=str(file)
            )
        return file.resolve()
    return find_project_config(cwd)


def find_project_config(start: Path) -> Path | None:
    """The ``agentmap_config.yaml`` in ``start`` or the nearest folder above it, as git finds its
    repository: a command run in ``graphs/`` uses the project's config, agents and functions.

    The search stops at a repository's root (a folder holding ``.git``), so a file above the
    project is never taken for its config.
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None
    return None


def _read_yaml(file: Path) -> dict[str, Any]:
    data = read_yaml_file(file, "the config file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: the config file must be a mapping of sections (paths, execution, logging), "
            f"not a {type(data).__name__}",
            file=str(file),
        )
    return data


def read_yaml_file(file: Path, what: str, max_mb: float = DEFAULT_MAX_FILE_MB) -> Any:
    """The YAML document in ``file``: the one translation of errors reading a settings file.

    A file that can't be read, isn't UTF-8 or isn't YAML is a ``ConfigError`` with the file,
    the line where there is one, and a fix; ``what`` names the file ("the prompts registry").
    So is a FIFO, a device or a file over ``max_mb`` (the config file itself is read before
    ``limits.max_file_mb`` is known, so always with the default).
    """
    import yaml  # only paid for when there is such a file

    try:
        data = read_user_file(file, error=ConfigError, max_mb=max_mb, what=what)
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{file}: {what} is not UTF-8 text ({exc.reason} at byte {exc.start}) — save it as "
            "UTF-8",
            file=str(file),
        ) from exc
    except OSError as exc:
        raise ConfigError(f"{file}: can't read {what} ({exc.strerror})", file=str(file)) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        row, problem, fix = _yaml_problem(exc, text)
        where = f"{file}:{row}" if row else str(file)
        raise ConfigError(
            f"{where}: not valid YAML ({problem}) — {fix}", file=str(file), row=row
        ) from exc


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[int | None, str, str]:
    """Where YAML stopped (a line), why, and what to do — from the error's fields, by its type."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError):
        row = exc.problem_mark.line + 1 if exc.problem_mark else None
        return row, str(exc.problem), "fix the syntax at that line"
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        return (
            text[: exc.position].count("\n") + 1,
            f"character #x{exc.character:04X} is not allowed: {exc.reason}",
            "remove it, or write it as an escape in a double-quoted string",
        )
    return None, str(exc), "fix the file"  # PyYAML raises only the two above


def _overlay_environment(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Apply ``AGENTMAP_SECTION__KEY=value`` variables onto ``data``; return key → variable name.

    Only variables with a ``__`` are settings: ``AGENTMAP_TEST_DATABASE_URL`` and the like are
    left for whoever owns them.
    """
    applied: dict[str, str] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        keys = name[len(ENV_PREFIX) :].lower().split("__")
        target = data
        for key in keys[:-1]:
            existing = target.get(key)
            target = target.setdefault(key, {}) if existing is None else existing
            if not isinstance(target, dict):
                raise ConfigError(f"{name}: '{key}' is not a section, so it has no keys to set")
        target[keys[-1]] = _env_value(raw)
        applied[".".join(keys)] = name
    return applied


def _env_value(raw: str) -> Any:
    # Lists and mappings can't be spelled as plain strings; JSON is the one obvious syntax.
    if raw.strip().startswith(("[", "{")):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _variable_for(key: str, env_keys: Mapping[str, str]) -> str | None:
    """The AGENTMAP_* variable that set ``key`` or something below or above it, if any."""
    for dotted, variable in env_keys.items():
        if dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + "."):
            return variable
    return None


def _config_error(
    exc: ValidationError, source: Path | None, env_keys: Mapping[str, str]
) -> ConfigError:
    lines = []
    for err in exc.errors():
        key = error_key(err)
        where = _variable_for(key, env_keys) or (f"{source}" if source else "settings")
        if err["type"] == "extra_forbidden":
            parent = Settings
            for part in err["loc"][:-1]:
                field = parent.model_fields.get(str(part))
                parent = (
                    field.annotation if field and isinstance(field.annotation, type) else parent
                )
            hint = did_you_mean(str(err["loc"][-1]), list(parent.model_fields))
            lines.append(f"{where}: unknown key '{key}' — remove it or fix its spelling{hint}")
        else:
            shown = error_input(err)  # None: a secret's value, never echoed
            got = f" (got {shown})" if shown is not None else ""
            lines.append(f"{where}: {key}: {error_text(err)}{got}")
    return ConfigError("\n".join(lines), file=str(source) if source else None)


def remember_settings(settings: Settings) -> None:
    """Take the secrets ``settings`` point at: each provider's ``api_key`` and the value of its
    ``api_key_env`` variable, and the plain keys of ``server.api_keys_env`` (the variables as
    they are now; a provider's is read again when it is called)."""
    llm = settings.llm
    for provider in (llm.openai, llm.anthropic, llm.google, *llm.providers.values()):
        remember(provider.api_key, os.environ.get(provider.api_key_env or ""))
    remember(os.environ.get(GEMINI_KEY_ENV))  # the Google SDK's second variable
    remember(*os.environ.get(settings.server.api_keys_env, "").split(","))
