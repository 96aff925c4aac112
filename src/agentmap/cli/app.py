"""The ``agentmap`` command line: each command is a module, composed here.

A command's module is imported only when that command runs (or help lists it): ``agentmap
run`` never pays for the progress bars of ``batch``, the job store of ``jobs`` or the web
framework of ``serve``. ``COMMANDS`` says where each lives; ``agentmap --help`` imports them
all, so help and completion read exactly as if they were registered up front.
"""

from __future__ import annotations

import functools
import gc
import importlib
import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from types import MappingProxyType
from typing import Annotated, Any, NamedTuple

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from agentmap._version import __version__


class CommandSpec(NamedTuple):
    """Where a command is defined and how it is registered: ``attribute`` of ``module`` is a
    function (``app.command(**options)``) or, with ``group``, a ``Typer`` (``add_typer``)."""

    module: str
    attribute: str
    group: bool = False
    options: Mapping[str, Any] = MappingProxyType({})


_ARGS_NEEDED = {"no_args_is_help": True}
COMMANDS: Mapping[str, CommandSpec] = {
    # In help's order: typer lists commands before sub-apps.
    "run": CommandSpec("agentmap.cli.run", "run", options=_ARGS_NEEDED),
    "resume": CommandSpec("agentmap.cli.resume", "resume", options=_ARGS_NEEDED),
    "validate": CommandSpec("agentmap.cli.validate", "validate", options=_ARGS_NEEDED),
    "scaffold": CommandSpec("agentmap.cli.scaffold", "scaffold", options=_ARGS_NEEDED),
    "graph": CommandSpec("agentmap.cli.graph", "graph", options=_ARGS_NEEDED),
    "convert": CommandSpec("agentmap.cli.convert", "convert", options=_ARGS_NEEDED),
    "schema": CommandSpec("agentmap.cli.convert", "schema"),
    "init": CommandSpec("agentmap.cli.init", "init"),
    "worker": CommandSpec("agentmap.cli.jobs", "worker"),
    "batch": CommandSpec("agentmap.cli.batch", "batch", options=_ARGS_NEEDED),
    "serve": CommandSpec("agentmap.cli.serve", "serve"),
    "diagnose": CommandSpec("agentmap.cli.diagnose", "diagnose_command"),
    "runs": CommandSpec("agentmap.cli.runs", "runs_app", group=True),
    "jobs": CommandSpec("agentmap.cli.jobs", "jobs_app", group=True),
}
"""Every command: its name → where it is defined."""


def load_command(name: str, spec: CommandSpec) -> TyperCommand | TyperGroup:
    """The click command typer builds for ``spec``, as ``app.command``/``add_typer`` on the
    root app would have built it (same help mode, same exception settings)."""
    target = getattr(importlib.import_module(spec.module), spec.attribute)
    holder = _typer()
    if spec.group:
        holder.add_typer(target, name=name)
    else:
        holder.command(name=name, **spec.options)(target)
    built = typer.main.get_group(holder).commands[name]
    assert isinstance(built, (TyperCommand, TyperGroup))
    _end_start_up_when_run(built)
    return built


def _end_start_up_when_run(command: Any) -> None:
    """Make ``command`` (and, for a group such as ``jobs``, each of its commands) end
    ``StartUp`` as its own work begins."""
    callback = command.callback
    if callback is not None:

        @functools.wraps(callback)
        def begun(*args: Any, **kwargs: Any) -> Any:
            StartUp.end()  # the command's own work begins: collect garbage again
            return callback(*args, **kwargs)

        command.callback = begun
    for sub in getattr(command, "commands", {}).values():
        _end_start_up_when_run(sub)


class StartUp:
    """The console script starts with the cycle collector paused (``main``): importing typer's
    and our modules, parsing the options and building the command make tens of thousands of
    objects that live until exit and free none, and the ~60 collections they would trigger
    (~20 ms of a ~300 ms `agentmap run`) only scan them again. When the command's own work
    begins, those objects are frozen out of later scans and the collector runs as usual —
    for a long run, a worker or ``serve`` just as for a short run."""

    paused = False

    @classmethod
    def begin(cls) -> None:
        if gc.isenabled():
            gc.disable()
            cls.paused = True

    @classmethod
    def end(cls) -> None:
        if cls.paused:
            cls.paused = False
            gc.freeze()
            gc.enable()


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands by name, each imported and built on first lookup; listing the names
    (help's order, "did you mean") imports nothing."""

    def __init__(self, specs: Mapping[str, CommandSpec]) -> None:
        self._specs = dict(specs)
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            spec = self._specs.get(name)
            if spec is None:
                raise KeyError(name)
            # Importing a command's modules creates tens of thousands of objects that live
            # until exit and frees none: the cycle collector would only re-scan them.
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                self._built[name] = load_command(name, spec)
            finally:
                if was_enabled:
                    gc.enable()
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._specs.pop(name, None)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._specs and name not in self._built:
            raise KeyError(name)
        self._specs.pop(name, None)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._specs, *self._built]))

    def __len__(self) -> int:
        return len(self._specs.keys() | self._built.keys())

    def __contains__(self, name: object) -> bool:
        return name in self._specs or name in self._built


class LazyGroup(TyperGroup):
    """The root group: typer's own, with ``COMMANDS`` as its lazily built commands."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        commands = LazyCommands(COMMANDS)
        for name, command in self.commands.items():  # any registered on ``app`` directly
            commands[name] = command
        self.commands = commands

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)


def _typer(**settings: Any) -> typer.Typer:
    return typer.Typer(pretty_exceptions_enable=False, rich_markup_mode=None, **settings)


app = _typer(
    name="agentmap",
    help="Run AI-agent workflows defined as CSV tables.",
    no_args_is_help=True,
    cls=LazyGroup,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentmap {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Run AI-agent workflows defined as CSV tables."""


def main() -> None:
    """Console-script entry point."""
    StartUp.begin()
    try:
        app()
    except SystemExit as done:
        # The process ends here: whatever the command built lives until exit. Frozen, it is
        # left out of the collections the interpreter runs as it shuts down, which would scan
        # every object once more only to free memory the OS takes back anyway (~90 ms of a
        # ~300 ms `agentmap run`). Commands close their stores and files themselves.
        gc.freeze()
        if done.code == 130:
            # A cancelled run may leave sync agents blocked in worker threads, and Python
            # waits for those at exit; Ctrl-C means now. Output is flushed first.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        raise
