"""``agentmap serve``: the HTTP service on uvicorn (FastAPI and uvicorn are imported here only)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from agentmap.cli.errors import ExitCode, reported_errors
from agentmap.cli.logs import configure_logging
from agentmap.cli.options import ConfigOption, DebugOption, VerboseOption
from agentmap.cli.render import stderr, stdout
from agentmap.config import load_settings
from agentmap.distribution import install_hint
from agentmap.exceptions import ConfigError

_LOCAL = ("127.0.0.1", "localhost", "::1")
_CONFIG_VARIABLE = "AGENTMAP_SERVE_CONFIG"  # --reload: the worker process finds --config here


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Where to listen (default: server.host, 127.0.0.1).", show_default=False
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=0,
            max=65535,
            help="Port (default: server.port, 8000).",
            show_default=False,
        ),
    ] = None,
    reload: Annotated[
        bool, typer.Option("--reload", help="Restart when the code changes (development).")
    ] = False,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure", help="Listen beyond 127.0.0.1 with no API key set (not recommended)."
        ),
    ] = False,
    hash_key: Annotated[
        bool,
        typer.Option(
            "--hash-key",
            help="Read an API key on stdin and print the hash to put in server.api_keys.",
        ),
    ] = False,
    config: ConfigOption = None,
    verbose: VerboseOption = 0,
    debug: DebugOption = False,
) -> None:
    """Serve the HTTP API and run its jobs, until Ctrl-C (running jobs are given back)."""
    with reported_errors(debug):
        try:
            import uvicorn

            from agentmap.service.app import create_app
            from agentmap.service.auth import Keys
        except ImportError as exc:
            raise ConfigError(
                f"agentmap serve needs {exc.name} — {install_hint('server')}"
            ) from exc
        if hash_key:
            _print_hash()
            return
        settings = load_settings(config)
        configure_logging(settings.logging, max(verbose, 1))
        where = host or settings.server.host
        if where not in _LOCAL and not Keys(settings.server).required and not insecure:
            raise ConfigError(
                f"--host {where}: the service would answer anyone who reaches this machine, "
                "and no API key is set — set server.api_keys (or the variable "
                f"{settings.server.api_keys_env}), or pass --insecure"
            )
        listen = port if port is not None else settings.server.port
        stderr().print(f"serving on http://{where}:{listen} (Ctrl-C stops)", style="dim")
        if reload:
            if config is not None:
                os.environ[_CONFIG_VARIABLE] = str(Path(config).resolve())
            uvicorn.run(
                "agentmap.cli.serve:app_for_reload",
                factory=True,
                host=where,
                port=listen,
                reload=True,
                log_level="warning",
            )
        else:
            uvicorn.run(create_app(settings), host=where, port=listen, log_level="warning")
    raise typer.Exit(ExitCode.OK)


def app_for_reload() -> object:
    """The app uvicorn's reloading process builds (``--reload``)."""
    from agentmap.service.app import create_app

    return create_app(os.environ.get(_CONFIG_VARIABLE))


def _print_hash() -> None:
    import sys

    from agentmap.service.auth import hash_key

    key = sys.stdin.readline().strip()
    if not key:
        raise ConfigError(
            '--hash-key: give the key on stdin, e.g. echo "$KEY" | agentmap serve --hash-key'
        )
    stdout().print(hash_key(key))
