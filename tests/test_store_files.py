"""The store's files: made once however many first runs start together, and private."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from agentmap import run_graph
from agentmap.api import open_run_store
from helpers import clean_env, csv_row

AGENTMAP = Path(sys.executable).parent / "agentmap"


def test_twenty_first_runs_started_at_once_all_succeed(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(csv_row("G", "Echo", "echo", inputs="input", output="out"))
    runs = [
        subprocess.Popen(
            [str(AGENTMAP), "run", "flow.csv", "--state", f'"{n}"', "--json"],
            cwd=project,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(20)
    ]
    errors = [(run.wait(timeout=120), run.stderr.read() if run.stderr else "") for run in runs]
    assert [code for code, _ in errors] == [0] * 20, errors
    with open_run_store() as store:
        assert len(store.list()) == 20
    assert (project / ".agentmap" / ".gitignore").read_text() == (
        "# made by agentmap: run history is local\n*\n"
    )


def test_the_run_store_is_readable_by_its_owner_only(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv(csv_row("G", "Echo", "echo", inputs="input", output="out"))
    assert run_graph(path, "secret").success
    folder = project / ".agentmap"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [p for p in folder.iterdir() if p.name.startswith("runs.db")]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files), [
        (p.name, oct(stat.S_IMODE(p.stat().st_mode))) for p in files
    ]


def test_a_store_file_that_exists_keeps_its_mode(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv(csv_row("G", "Echo", "echo", inputs="input", output="out"))
    (project / "shared").mkdir()
    store = project / "shared" / "runs.db"
    store.touch(mode=0o640)
    store.chmod(0o640)
    assert run_graph(path, "x", config={"storage": {"url": f"sqlite:///{store}"}}).success
    assert stat.S_IMODE(store.stat().st_mode) == 0o640


def test_stores_opened_at_once_in_a_new_folder_all_open(tmp_path: Path) -> None:
    """The same race as first runs started together, made likely: 32 threads let go at once."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from agentmap.store.database import open_database

    for attempt in range(5):
        url = f"sqlite:///{tmp_path / str(attempt) / 'deeper' / '.agentmap' / 'runs.db'}"
        start = Barrier(32)

        def open_it(_: int, url: str = url, start: Barrier = start) -> str:
            start.wait()
            open_database(url, 5).close()
            return "opened"

        with ThreadPoolExecutor(32) as pool:
            assert list(pool.map(open_it, range(32))) == ["opened"] * 32
