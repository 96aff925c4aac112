"""``diagnose``: what this agentmap install has and where it looks — for the question "why
doesn't it work here?" (``agentmap diagnose``, as AgentMap users know it).

It reads; it never calls a model, opens the run store or imports an optional package (a
package's version comes from its installed metadata). Secrets stay secret: for each model
provider it says *whether* a key is set and *where from* (a config key or a variable's name),
never the key; the store's URL loses its password; of the ``AGENTMAP_*`` variables in effect
only the names are given, since their values may be keys.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from agentmap._version import __version__
from agentmap.config import ENV_PREFIX, GEMINI_KEY_ENV, ProviderSettings, Settings
from agentmap.container import ConfigSource
from agentmap.distribution import DISTRIBUTION, EXTRAS, install_hint
from agentmap.jobhost import settings_of

SDKS = {"openai": "openai", "anthropic": "anthropic", "google": "google-genai"}
"""The package each provider protocol's calls go through (all in the ``llm`` extra)."""


@dataclass(frozen=True, slots=True)
class ExtraStatus:
    """An optional part of agentmap: whether its packages are installed (their versions, None
    for a missing one) and the command that installs them."""

    name: str
    purpose: str
    packages: dict[str, str | None]
    install: str

    @property
    def installed(self) -> bool:
        return all(version is not None for version in self.packages.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "purpose": self.purpose,
            "installed": self.installed,
            "packages": dict(self.packages),
            "install": self.install,
        }


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """A model provider as a call would find it now. ``key_source`` is where the key was found
    (a config key and its file, or a variable's name) or, with no key, where one would be read."""

    name: str
    protocol: str
    model: str | None
    base_url: str | None
    key_set: bool
    key_source: str
    sdk: str
    sdk_installed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "protocol": self.protocol,
            "model": self.model,
            "base_url": self.base_url,
            "key_set": self.key_set,
            "key_source": self.key_source,
            "sdk": self.sdk,
            "sdk_installed": self.sdk_installed,
        }


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What ``diagnose`` found. ``config_file`` is None when the built-in defaults apply;
    ``store`` is the run store's URL without its password ("none": runs aren't recorded) and
    ``store_file`` the SQLite file it names, if it does (made on the first run)."""

    version: str
    distribution: str
    python: str
    executable: str
    platform: str
    config_file: Path | None
    environment: tuple[str, ...]
    store: str
    store_file: Path | None
    store_exists: bool | None
    paths: dict[str, Path]
    extras: tuple[ExtraStatus, ...]
    default_provider: str
    providers: tuple[ProviderStatus, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (paths as text) — what ``agentmap diagnose --json`` prints."""
        return {
            "version": self.version,
            "distribution": self.distribution,
            "python": self.python,
            "executable": self.executable,
            "platform": self.platform,
            "config_file": str(self.config_file) if self.config_file else None,
            "environment": list(self.environment),
            "store": self.store,
            "store_file": str(self.store_file) if self.store_file else None,
            "store_exists": self.store_exists,
            "paths": {name: str(path) for name, path in self.paths.items()},
            "extras": [extra.to_dict() for extra in self.extras],
            "default_provider": self.default_provider,
            "providers": [provider.to_dict() for provider in self.providers],
        }


def diagnose(config: ConfigSource = None, *, environ: Mapping[str, str] | None = None) -> Diagnosis:
    """What is installed, which model providers have a key (and from where), and where the
    config, the run store and the project's folders are. ``config`` as for ``run_graph``;
    ``environ`` (default ``os.environ``) is where key variables are looked up.

    A config file that can't be read raises its ``ConfigError``, as any command would.
    """
    env = os.environ if environ is None else environ
    settings = settings_of(config)
    store_file = _sqlite_file(settings.storage.url)
    return Diagnosis(
        version=__version__,
        distribution=DISTRIBUTION,
        python=platform.python_version(),
        executable=sys.executable,
        platform=platform.platform(),
        config_file=settings.source,
        environment=tuple(sorted(n for n in env if n.startswith(ENV_PREFIX) and "__" in n)),
        store=_without_password(settings.storage.url),
        store_file=store_file,
        store_exists=store_file.is_file() if store_file else None,
        paths={
            "custom_agents": settings.paths.custom_agents,
            "functions": settings.paths.functions,
            "prompts": settings.paths.prompts,
            "graphs": settings.paths.graphs,
        },
        extras=tuple(
            ExtraStatus(
                extra.name,
                extra.purpose,
                {package: _version(package) for package in extra.packages},
                install_hint(extra.name),
            )
            for extra in EXTRAS
        ),
        default_provider=settings.llm.default_provider,
        providers=tuple(_providers(settings, env)),
    )


def _providers(settings: Settings, env: Mapping[str, str]) -> list[ProviderStatus]:
    llm = settings.llm
    sections = {"openai": llm.openai, "anthropic": llm.anthropic, "google": llm.google}
    sections.update(llm.providers)  # a provider under llm.providers replaces a built-in one
    statuses = []
    for name, provider in sections.items():
        section = f"llm.providers.{name}" if name in llm.providers else f"llm.{name}"
        key_set, source = _key(provider, f"{section}.api_key", settings.source, env)
        sdk = SDKS[provider.protocol]
        statuses.append(
            ProviderStatus(
                name=name,
                protocol=provider.protocol,
                model=provider.model,
                base_url=provider.base_url,
                key_set=key_set,
                key_source=source,
                sdk=sdk,
                sdk_installed=_version(sdk) is not None,
            )
        )
    return statuses


def _key(
    provider: ProviderSettings, setting: str, file: Path | None, env: Mapping[str, str]
) -> tuple[bool, str]:
    """Whether a call would find a key, and where — the order ``Provider.key`` reads them in:
    the config setting (from the file, or an ``AGENTMAP_*`` variable), then ``api_key_env``."""
    if provider.api_key is not None and provider.api_key.get_secret_value():
        variable = _variable_setting(setting, env)
        if variable is not None:
            return True, variable
        return True, f"{setting} in {file}" if file else setting
    if provider.api_key_env and env.get(provider.api_key_env):
        return True, provider.api_key_env
    variables = [provider.api_key_env] if provider.api_key_env else []
    if provider.protocol == "google" and provider.api_key_env == "GOOGLE_API_KEY":
        variables.append(GEMINI_KEY_ENV)  # Google's SDK's second variable: Provider.key's too
        if env.get(GEMINI_KEY_ENV):
            return True, GEMINI_KEY_ENV
    where = f"{', '.join(variables)} or {setting}" if variables else setting
    return False, where


def _variable_setting(setting: str, env: Mapping[str, str]) -> str | None:
    """The ``AGENTMAP_*`` variable that sets ``setting`` (or a section holding it), if any."""
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        dotted = ".".join(name[len(ENV_PREFIX) :].lower().split("__"))
        if setting == dotted or setting.startswith(dotted + "."):
            return name
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names (settings made it absolute), else None."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///").partition("?")[0])


_PASSWORD_PARAMETER = re.compile(r"(?i)(\bpassword=)[^&]*")


def _without_password(url: str) -> str:
    """``url`` with the password of its user, and any ``password=`` parameter, as ``***``."""
    parts = urlsplit(url)
    if parts.password is None and not _PASSWORD_PARAMETER.search(parts.query):
        return url
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:***@{host}"
    query = _PASSWORD_PARAMETER.sub(r"\1***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))
