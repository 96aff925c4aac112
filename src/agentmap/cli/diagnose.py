"""``agentmap diagnose``: what is installed, which providers have keys, where things are."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from agentmap.cli.errors import reported_errors
from agentmap.cli.options import ConfigOption, DebugOption, JsonOption
from agentmap.cli.render import render_json, stdout
from agentmap.diagnosis import Diagnosis, diagnose


def diagnose_command(
    config: ConfigOption = None, as_json: JsonOption = False, debug: DebugOption = False
) -> None:
    """Show what is installed, which model providers have a key (never the key) and where the
    config, the run store and the project's folders are."""
    with reported_errors(debug):
        found = diagnose(config)
    if as_json:
        render_json(found.to_dict())
    else:
        _render(found)
    raise typer.Exit(0)


def _render(found: Diagnosis) -> None:
    out = stdout()
    out.print(
        Text.assemble(
            (f"agentmap {found.version}", "bold"),
            f" (installed as {found.distribution}) on Python {found.python} — {found.executable}",
        )
    )
    places = Table.grid(padding=(0, 2))
    places.add_row("Config", str(found.config_file or "none found: built-in defaults"))
    if found.environment:
        places.add_row("Set by variables", ", ".join(found.environment))
    store = found.store
    if found.store_exists is False:
        store += " (made on the first run)"
    places.add_row("Run store", "none: runs aren't recorded" if store == "none" else store)
    for name, path in found.paths.items():
        places.add_row(name.replace("_", " ").capitalize(), _place(path))
    out.print(places)

    extras = Table(title="Extras", title_justify="left", box=None, padding=(0, 2, 0, 0))
    for column in ("", "Extra", "Packages", "For"):
        extras.add_column(column)
    for extra in found.extras:
        packages = ", ".join(
            f"{name} {version}" if version else f"{name} missing"
            for name, version in extra.packages.items()
        )
        if not extra.installed:
            packages += f" — {extra.install}"
        mark = Text("✔", "green") if extra.installed else Text("✘", "red")
        extras.add_row(mark, extra.name, packages, extra.purpose)
    out.print(extras)

    providers = Table(
        title=f"Model providers (default: {found.default_provider})",
        title_justify="left",
        box=None,
        padding=(0, 2, 0, 0),
    )
    for column in ("", "Provider", "Model", "API key"):
        providers.add_column(column)
    for provider in found.providers:
        key = (
            f"set ({provider.key_source})"
            if provider.key_set
            else f"not set — set {provider.key_source}"
        )
        if not provider.sdk_installed:
            key += f"; needs the {provider.sdk} package (the llm extra)"
        ready = provider.key_set and provider.sdk_installed
        model = provider.model or "-"
        if provider.base_url:
            model += f" at {provider.base_url}"
        mark = Text("✔", "green") if ready else Text("✘", "red")
        providers.add_row(mark, provider.name, model, key)
    out.print(providers)


def _place(path: Path) -> str:
    return str(path) if path.exists() else f"{path} (not there)"
