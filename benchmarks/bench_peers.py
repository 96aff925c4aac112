"""agentmap against its peers, measured in the same run: ratios, not absolute times.

The peers go into throwaway virtualenvs under benchmarks/.peers/ (git-ignored; kept between
runs, --reinstall makes them anew): PocketFlow, LangGraph and langgraph-checkpoint-sqlite in
one, and AgentMap — jwwelbor's project, the package PyPI calls ``agentmap`` — in another, as it
pins an older LangGraph. A peer that fails to install is reported "not measured".

In-process figures come from benchmarks/peer_chains.py workers, one process per contender,
each holding its built chain; the contenders are timed run by run in turn (A B A B ...), and
the medians compared. agentmap is timed through a runner built once
(``build_container(config).runner()`` then ``runner.run(graph, state)``, as bench_engine.py),
so container building is excluded; every node is the built-in ``echo`` agent.

  engine   per-node cost of an N-node chain, store off: agentmap vs PocketFlow's Flow (one
           shared dict) vs LangGraph's StateGraph compiled without a checkpointer.
  store    agentmap with its default SQLite store vs store off, and with each
           ``storage.durability`` mode where this build has them.
  saver    agentmap's synchronous checkpoints vs LangGraph's SqliteSaver with durability="sync".
  memory   peak RSS of the whole process for an N-node run, store off, each in a fresh process.
  cli      a cold ``agentmap run`` of a 3-node CSV: ours vs AgentMap's CLI, each in a temp folder.

Shape b (default): every node copies ``value`` into ``value``; --shape a: node i copies k{i-1}
into k{i}, the state growing to N keys (LangGraph then stops at 1,000 nodes: its cost per step
grows with the number of keys). Run from the repo root with the project's venv:
.venv/bin/python benchmarks/bench_peers.py [--quick] [--only engine,cli] [--shape a] [--reinstall]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from timing import agentmap_command, median_seconds

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "peer_chains.py"
PEERS = HERE / ".peers"
SECTIONS = ("engine", "store", "saver", "memory", "cli")
MODES = ("sync", "async", "exit")
AGENTMAP = "agentmap (AgentMap)"  # how the peer is named here: PyPI's agentmap is jwwelbor's
STATE = '{"input": "hi"}'
THREE_NODES = """\
GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,Prompt,Context,Description
Three,Start,echo,Middle,,,input,echoed,,,Echo the input
Three,Middle,echo,End,,,echoed,again,,,Echo it again
Three,End,default,,,,again,response,Say hello,,Describe what it was asked
"""


@dataclass(frozen=True)
class Sizes:
    """How big and how often, for --quick or the full run."""

    engine: tuple[tuple[int, int], ...]  # (nodes, rounds)
    store: int
    store_rounds: int
    saver: int
    saver_rounds: int
    memory: int
    memory_repeats: int
    cli_runs: int


FULL = Sizes(((1_000, 9), (10_000, 5)), 10_000, 7, 1_000, 7, 100_000, 3, 11)
QUICK = Sizes(((1_000, 5),), 2_000, 5, 300, 5, 20_000, 1, 5)


# --- the peers' virtualenvs --------------------------------------------------------------


class PeerMissing(Exception):
    """A peer couldn't be installed or isn't what it should be; the message says why."""


@dataclass
class Peers:
    """The interpreters and commands of the installed peers, and why any is missing."""

    engines: Path | None = None  # the python of the venv with PocketFlow and LangGraph
    cli: Path | None = None  # AgentMap's own `agentmap` command
    versions: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def why_not(self, package: str) -> str:
        return self.missing.get(package, "")


def install_peers(reinstall: bool) -> Peers:
    if reinstall and PEERS.exists():
        shutil.rmtree(PEERS)
    PEERS.mkdir(exist_ok=True)
    peers = Peers()
    for package in ("pocketflow", "langgraph", "langgraph-checkpoint-sqlite"):
        try:
            peers.engines = venv_python(PEERS / "engines")
            peers.versions[package] = install(peers.engines, package)
        except PeerMissing as exc:
            peers.missing[package] = str(exc)
    try:
        python = venv_python(PEERS / "agentmap-cli")
        version = install(python, "agentmap")
        check_is_agentmap_by_jwwelbor(python)
        peers.versions[AGENTMAP] = version
        peers.cli = python.parent / "agentmap"  # its absolute path: ours is called agentmap too
    except PeerMissing as exc:
        peers.missing[AGENTMAP] = str(exc)
    for package, why in peers.missing.items():
        print(f"  {package}: not installed — {why}")
    return peers


def venv_python(folder: Path) -> Path:
    python = folder / "bin" / "python"
    if not python.exists():
        done = subprocess.run(
            [sys.executable, "-m", "venv", str(folder)], capture_output=True, text=True
        )
        if done.returncode:
            raise PeerMissing(f"python -m venv failed: {gist(done.stderr)}")
    return python


def install(python: Path, package: str) -> str:
    """The version of ``package`` in ``python``'s venv, pip-installing it first if need be."""
    found = installed_version(python, package)
    if found:
        return found
    print(f"  pip install {package} into {python.parent.parent.relative_to(ROOT)} ...", flush=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", package],
        capture_output=True,
        text=True,
        env=clean_env(peer=True),
    )
    if done.returncode:
        raise PeerMissing(f"pip install {package} failed: {gist(done.stderr)}")
    return installed_version(python, package) or "?"


def installed_version(python: Path, package: str) -> str:
    probe = "import importlib.metadata as m, sys\ntry: print(m.version(sys.argv[1]))\nexcept m.PackageNotFoundError: pass"
    done = subprocess.run(
        [str(python), "-c", probe, package],
        capture_output=True,
        text=True,
        env=clean_env(peer=True),
    )
    return done.stdout.strip()


def check_is_agentmap_by_jwwelbor(python: Path) -> None:
    """PyPI's ``agentmap`` is jwwelbor's AgentMap today; refuse to time anything else."""
    probe = (
        "import importlib.metadata as m; d = m.metadata('agentmap'); "
        "print(d.get('Author-email', ''), *(d.get_all('Project-URL') or []))"
    )
    done = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, env=clean_env(peer=True)
    )
    if "jwwelbor" not in done.stdout:
        raise PeerMissing(f"PyPI's agentmap is not jwwelbor's AgentMap: {done.stdout.strip()!r}")


def gist(stderr: str, lines: int = 3) -> str:
    """The last lines of a tool's complaint, without pip's noise about ignored locations."""
    kept = [line for line in stderr.splitlines() if line.strip() and "is ignored" not in line]
    return " / ".join(kept[-lines:]) or "(no message)"


# --- workers: one process per contender, timed run by run in turn ------------------------


class Failed(Exception):
    """A contender couldn't build or run its chain, or its command failed; the message says why."""


class Worker:
    """A peer_chains.py process holding one engine's built chain, timing a run on request."""

    def __init__(self, python: Path, args: list[str], cwd: Path, log: IO[str]) -> None:
        self.log = log  # its stderr: a file, as a full pipe would block it
        self.process = subprocess.Popen(
            [str(python), str(WORKER), "serve", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=cwd,
            env=clean_env(peer=python != Path(sys.executable)),
        )

    def ready(self) -> str:
        return str(self.read("ready"))

    def time_run(self) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        return float(self.read("seconds"))

    def read(self, key: str) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            raise Failed(f"worker died: {gist(self.log.read())}")
        message = json.loads(line)
        if "error" in message:
            raise Failed(message["error"])
        return message[key]

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def race(
    contenders: dict[str, tuple[Path, list[str]]], rounds: int, cwd: Path
) -> tuple[dict[str, float], dict[str, str]]:
    """Median seconds per run of each contender, timed A B A B ...; and why any couldn't run.

    Every worker builds its chain and makes its checked first run before the timing starts
    (they do that side by side); while one is timed, the others wait on their input.
    """
    failed: dict[str, str] = {}
    times: dict[str, list[float]] = {}
    with ExitStack() as stack:
        workers = {}
        for label, (python, args) in contenders.items():
            log = stack.enter_context(tempfile.TemporaryFile("w+"))
            workers[label] = stack.enter_context(Worker(python, args, cwd, log))
        for label, worker in workers.items():
            try:
                worker.ready()
                times[label] = []
            except Failed as exc:
                failed[label] = str(exc)
        for _ in range(rounds):
            for label in list(times):
                try:
                    times[label].append(workers[label].time_run())
                except Failed as exc:
                    failed[label] = str(exc)
                    del times[label]
    return {label: statistics.median(seconds) for label, seconds in times.items()}, failed


def clean_env(peer: bool = False) -> dict[str, str]:
    """This environment without AGENTMAP_* settings, which either tool might read; for a
    peer's interpreter also without PYTHONPATH, which may point at our source."""
    drop = ("PYTHONPATH", "PYTHONHOME") if peer else ()
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AGENTMAP_") and key not in drop
    }


def ours(n: int, shape: str, *options: str) -> tuple[Path, list[str]]:
    return Path(sys.executable), ["agentmap", str(n), "--shape", shape, *options]


def peer(peers: Peers, engine: str, n: int, shape: str, *options: str) -> tuple[Path, list[str]]:
    assert peers.engines is not None
    return peers.engines, [engine, str(n), "--shape", shape, *options]


# --- the table -----------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    ours: float | None
    peer: float | None
    unit: str
    target: float | None = None  # the ratio agentmap / peer should stay at or under
    why_not: str = ""  # why the peer (or agentmap) wasn't measured

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.peer:
            return None
        return self.ours / self.peer

    def cells(self) -> list[str]:
        ratio = self.ratio
        met = (
            "—" if ratio is None or self.target is None else "yes" if ratio <= self.target else "NO"
        )
        return [
            self.what,
            amount(self.ours, self.unit),
            amount(self.peer, self.unit) if self.peer is not None else "not measured",
            "—" if ratio is None else f"{ratio:.3g}x",
            "—" if self.target is None else f"<= {self.target:g}x",
            met,
        ]


def amount(value: float | None, unit: str) -> str:
    if value is None:
        return "not measured"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"


def print_table(rows: list[Row]) -> None:
    header = ["what", "agentmap", "peer", "ratio", "target", "met?"]
    lines = [header, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    for number, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))
    for row in rows:
        if row.why_not:
            print(f"  not measured ({row.what}): {row.why_not}")


# --- the sections --------------------------------------------------------------------------


def engine_rows(peers: Peers, sizes: Sizes, shape: str, folder: Path) -> list[Row]:
    rows = []
    for n, rounds in sizes.engine:
        contenders = {"agentmap": ours(n, shape)}
        if not peers.why_not("pocketflow"):
            contenders["pocketflow"] = peer(peers, "pocketflow", n, shape)
        with_langgraph = shape == "b" or n <= 1_000  # see the module's docstring
        if not peers.why_not("langgraph") and with_langgraph:
            contenders["langgraph"] = peer(peers, "langgraph", n, shape)
        print(f"engine: {', '.join(contenders)} at N={n:,}, {rounds} rounds", flush=True)
        medians, failed = race(contenders, rounds, folder)
        per_node = {label: seconds / n * 1e6 for label, seconds in medians.items()}
        ours_us = per_node.get("agentmap")
        title = f"engine µs/node, N={n:,}, store off"
        rows.append(
            Row(
                f"{title}, vs PocketFlow",
                ours_us,
                per_node.get("pocketflow"),
                "µs",
                2.5,
                why(peers, "pocketflow", failed),
            )
        )
        if with_langgraph:
            rows.append(
                Row(
                    f"{title}, vs LangGraph (no checkpointer)",
                    ours_us,
                    per_node.get("langgraph"),
                    "µs",
                    0.1,
                    why(peers, "langgraph", failed),
                )
            )
        else:
            print(f"  LangGraph left out at N={n:,}: shape a makes each of its steps O(N)")
        if "agentmap" in failed:
            print(f"  agentmap failed: {failed['agentmap']}")
    return rows


def why(peers: Peers, engine: str, failed: dict[str, str]) -> str:
    """Why a row has no figure: the peer isn't installed or failed, or our side failed."""
    ours_failed = failed.get("agentmap")
    return (
        peers.why_not(engine)
        or failed.get(engine, "")
        or (f"agentmap failed: {ours_failed}" if ours_failed else "")
    )


def durability_default() -> tuple[str, str]:
    """The default ``storage.durability`` of this build of agentmap, or why there is none."""
    probe = (
        "from agentmap.container import build_container\n"
        "build_container({'storage': {'url': 'none', 'durability': 'sync'}})\n"
        "print(build_container({}).settings().storage.durability)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=clean_env()
    )
    if done.returncode:
        return "", gist(done.stderr, lines=1)
    return done.stdout.strip(), ""


def store_rows(sizes: Sizes, shape: str, folder: Path, modes: bool) -> list[Row]:
    n = sizes.store
    url = f"sqlite:///{folder / 'runs.db'}"
    contenders = {"off": ours(n, shape), "default": ours(n, shape, "--store", url)}
    for mode in MODES if modes else ():
        mode_url = f"sqlite:///{folder / f'runs-{mode}.db'}"
        contenders[mode] = ours(n, shape, "--store", mode_url, "--durability", mode)
    print(
        f"store: agentmap {', '.join(contenders)} at N={n:,}, {sizes.store_rounds} rounds",
        flush=True,
    )
    medians, failed = race(contenders, sizes.store_rounds, folder)
    for label, error in failed.items():
        print(f"  agentmap {label} failed: {error}")
    per_node = {label: seconds / n * 1e6 for label, seconds in medians.items()}
    off = per_node.get("off")
    rows = [
        Row(f"store on (SQLite, default) vs off, N={n:,}", per_node.get("default"), off, "µs", 1.5)
    ]
    for mode in MODES if modes else ():
        rows.append(Row(f"store durability={mode} vs off, N={n:,}", per_node.get(mode), off, "µs"))
    return rows


def saver_rows(peers: Peers, sizes: Sizes, shape: str, folder: Path, modes: bool) -> list[Row]:
    n = sizes.saver
    store = ["--store", f"sqlite:///{folder / 'saver-runs.db'}"]
    ours_label = "agentmap durability=sync" if modes else "agentmap default store"
    contenders = {"agentmap": ours(n, shape, *store, *(["--durability", "sync"] if modes else []))}
    missing = peers.why_not("langgraph") or peers.why_not("langgraph-checkpoint-sqlite")
    if not missing:
        saver = ["--saver", str(folder / "langgraph.db"), "--durability", "sync"]
        contenders["langgraph"] = peer(peers, "langgraph", n, shape, *saver)
    print(
        f"saver: {ours_label} vs LangGraph SqliteSaver sync at N={n:,}, {sizes.saver_rounds} rounds",
        flush=True,
    )
    medians, failed = race(contenders, sizes.saver_rounds, folder)
    per_node = {label: seconds / n * 1e6 for label, seconds in medians.items()}
    what = f"{ours_label} vs LangGraph SqliteSaver durability=sync, N={n:,}"
    return [
        Row(
            what,
            per_node.get("agentmap"),
            per_node.get("langgraph"),
            "µs",
            0.1,
            missing or why(peers, "langgraph", failed),
        )
    ]


def memory_rows(peers: Peers, sizes: Sizes, shape: str, folder: Path) -> list[Row]:
    n = sizes.memory
    pythons = {"agentmap": Path(sys.executable)}
    if not peers.why_not("pocketflow") and peers.engines:
        pythons["pocketflow"] = peers.engines
    print(
        f"memory: {', '.join(pythons)} at N={n:,}, {sizes.memory_repeats} fresh processes each",
        flush=True,
    )
    found: dict[str, list[dict[str, float]]] = {label: [] for label in pythons}
    failed: dict[str, str] = {}
    for _ in range(sizes.memory_repeats):
        for label, python in pythons.items():
            command = [str(python), str(WORKER), "memory", label, str(n), "--shape", shape]
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                cwd=folder,
                env=clean_env(peer=label != "agentmap"),
            )
            last = (done.stdout.strip().splitlines() or ["{}"])[-1]
            report = json.loads(last)
            if done.returncode or "error" in report:
                failed[label] = report.get("error") or gist(done.stderr)
            else:
                found[label].append(report)
    for label, error in failed.items():
        print(f"  {label} failed: {error}")

    def median(label: str, key: str) -> float | None:
        reports = found.get(label) or []
        return statistics.median(r[key] for r in reports) if reports else None

    for label, python in pythons.items():
        bare = bare_rss_mb(python)
        base, peak, wall = (median(label, key) for key in ("base_mb", "peak_mb", "seconds"))
        if peak is not None:
            print(
                f"  {label:<10} bare interpreter {bare:5.1f} MB, + imports and a 2-node run "
                f"{base:5.1f} MB, peak {peak:6.1f} MB, run {wall:5.2f} s"
            )
    own = {label: growth(median(label, "peak_mb"), median(label, "base_mb")) for label in pythons}
    missing = why(peers, "pocketflow", failed)
    return [
        Row(
            f"peak RSS, N={n:,} run, store off",
            median("agentmap", "peak_mb"),
            median("pocketflow", "peak_mb"),
            "MB",
            1.5,
            missing,
        ),
        Row(
            "  of which interpreter + imports",
            median("agentmap", "base_mb"),
            median("pocketflow", "base_mb"),
            "MB",
        ),
        Row("  of which the graph and its run", own["agentmap"], own.get("pocketflow"), "MB"),
    ]


def growth(peak: float | None, base: float | None) -> float | None:
    return None if peak is None or base is None else peak - base


def bare_rss_mb(python: Path) -> float:
    probe = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    env = clean_env(peer=python != Path(sys.executable))
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=env)
    return int(done.stdout) / 1024


def byte_compile_ours() -> None:
    """Write the ``.pyc`` files of our package, as installing it does: pip compiled AgentMap's
    when it installed it, while an editable install under ``PYTHONDONTWRITEBYTECODE`` (set on
    this machine) would compile our ~90 modules again on every run and time the compiler."""
    compile_package = (
        "import agentmap, compileall, os; "
        "compileall.compile_dir(os.path.dirname(agentmap.__file__), quiet=1)"
    )
    subprocess.run([sys.executable, "-c", compile_package], check=True)


def cli_rows(peers: Peers, sizes: Sizes, folder: Path) -> list[Row]:
    commands = {"agentmap": [*agentmap_command(), "run", "three.csv", "--state", STATE]}
    expected = {"agentmap": "Three succeeded", AGENTMAP: '"success": true'}
    if peers.cli:
        commands[AGENTMAP] = [str(peers.cli), "run", "three.csv::Three", "--state", STATE]
    print(f"cli: {', '.join(commands)} on a 3-node CSV, {sizes.cli_runs} runs each", flush=True)
    byte_compile_ours()
    folders, failed = {}, {}
    for label, command in commands.items():
        # Each tool in its own folder: each writes its files (run store, bundle cache) there.
        folders[label] = folder / ("ours" if label == "agentmap" else "theirs")
        folders[label].mkdir()
        (folders[label] / "three.csv").write_text(THREE_NODES, encoding="utf-8")
        try:
            for _ in range(2):  # checks the output; warms the OS cache, .pyc files, their caches
                run_cli(command, folders[label], expected[label])
        except Failed as exc:
            failed[label] = str(exc)
    times: dict[str, list[float]] = {label: [] for label in commands if label not in failed}
    for _ in range(sizes.cli_runs):
        for label in list(times):
            t0 = time.perf_counter()
            try:
                run_cli(commands[label], folders[label], expected[label])
            except Failed as exc:
                failed[label] = str(exc)
                del times[label]
                continue
            times[label].append(time.perf_counter() - t0)
    bare = median_seconds(lambda: subprocess.run([sys.executable, "-c", "pass"]), sizes.cli_runs)
    print(f"  python -c pass (floor): {bare * 1000:.1f} ms")
    ms = {label: statistics.median(seconds) * 1000 for label, seconds in times.items()}
    return [
        Row(
            "cold `agentmap run` of a 3-node CSV vs AgentMap's CLI",
            ms.get("agentmap"),
            ms.get(AGENTMAP),
            "ms",
            0.15,
            why(peers, AGENTMAP, failed),
        ),
    ]


def run_cli(command: list[str], folder: Path, expected: str) -> None:
    env = clean_env(peer=command[0] != agentmap_command()[0])
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=env)
    if done.returncode or expected not in done.stdout:
        raise Failed(f"exit {done.returncode}: {gist(done.stderr or done.stdout)}")


# --- main ----------------------------------------------------------------------------------


@contextmanager
def section(name: str) -> Iterator[Path]:
    """A fresh temp folder for a section (nothing is written into the repo); prints its time."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"bench-peers-{name}-") as folder:
        yield Path(folder)
    print(f"  ({name}: {time.perf_counter() - t0:.0f} s)", flush=True)


def check_our_agentmap() -> None:
    """Stop early unless this interpreter imports the project's agentmap (not PyPI's)."""
    probe = "import agentmap; print(agentmap.__file__)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    where = done.stdout.strip()
    if done.returncode:
        raise SystemExit(
            f"this Python can't import agentmap — run with .venv/bin/python: {gist(done.stderr)}"
        )
    if not Path(where).is_relative_to(ROOT / "src"):
        print(f"note: agentmap imported from {where}, not from {ROOT / 'src'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"some of: {','.join(SECTIONS)}")
    parser.add_argument("--shape", choices=["a", "b"], default="b")
    parser.add_argument("--reinstall", action="store_true", help="make the peers' venvs anew")
    args = parser.parse_args()
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := set(only) - set(SECTIONS):
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    check_our_agentmap()
    print(
        f"{datetime.date.today()}  {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    print(
        "agentmap in-process: runner = build_container(config).runner(), timed runner.run(graph, state)"
    )
    print("peers (benchmarks/.peers/):")
    peers = install_peers(args.reinstall)
    for package, version in peers.versions.items():
        print(f"  {package} {version}")
    modes = False
    if {"store", "saver"} & set(only):
        default, why_not = durability_default()
        modes = not why_not
        if modes:
            print(f"agentmap storage.durability: sync, async, exit (default: {default})")
        else:
            print(f"durability modes not available in this build ({why_not})")
    rows: list[Row] = []
    if "engine" in only:
        with section("engine") as folder:
            rows += engine_rows(peers, sizes, args.shape, folder)
    if "store" in only:
        with section("store") as folder:
            rows += store_rows(sizes, args.shape, folder, modes)
    if "saver" in only:
        with section("saver") as folder:
            rows += saver_rows(peers, sizes, args.shape, folder, modes)
    if "memory" in only:
        with section("memory") as folder:
            rows += memory_rows(peers, sizes, args.shape, folder)
    if "cli" in only:
        with section("cli") as folder:
            rows += cli_rows(peers, sizes, folder)
    print_table(rows)
    mode = "quick" if args.quick else "full"
    print(
        f"\n{mode} run, shape {args.shape}: {time.perf_counter() - started:.0f} s. Ratios are "
        "agentmap / peer, measured in this run; absolute times drift 2-3x between sessions."
    )


if __name__ == "__main__":
    main()
