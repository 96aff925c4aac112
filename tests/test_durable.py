"""Durable runs: resume after a crash, Ctrl-C, a failure or a timeout; people in the loop."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmap import resume_run, run_graph
from agentmap.api import open_run_store
from agentmap.exceptions import ResumeError, RunNotFoundError
from helpers import clean_env, csv_row, ctrl_c_works, in_a_terminal, signal_when

AGENTMAP = Path(sys.executable).parent / "agentmap"

# Each node logs its name to ran.log, so a test can count how often every node ran. A node
# blocks while a file named block-<node> exists (after writing started-<node>), takes 1.5 s
# while slow-<node> exists, and fails while fail-<node> exists.
STEP_AGENT = """
import time
from pathlib import Path

from agentmap import Agent, Failure


class StepAgent(Agent):
    def process(self, inputs):
        with open("ran.log", "a", encoding="utf-8") as log:
            log.write(self.name + "\\n")
        if Path(f"block-{self.name}").exists():
            Path(f"started-{self.name}").write_text("")
            while Path(f"block-{self.name}").exists():
                time.sleep(0.01)
        if Path(f"slow-{self.name}").exists():
            time.sleep(1.5)
        if Path(f"fail-{self.name}").exists():
            return Failure(f"{self.name} is told to fail")
        return "+".join([self.name, *(str(v) for v in inputs.values())])
"""


def row(node: str, agent: str = "step", **cells: Any) -> str:
    return csv_row("G", node, agent, **cells)


CHAIN = [
    row("A", edge="B", inputs="input", output="a"),
    row("B", edge="C", inputs="a", output="b"),
    row("C", edge="D", inputs="b", output="c"),
    row("D", inputs="c", output="d"),
]
FORK = [
    row("A", edge="Left|Right", inputs="input", output="a"),
    row("Left", edge="Left2", inputs="a", output="left"),
    row("Left2", edge="Join", inputs="left", output="left2"),
    row("Right", edge="Join", inputs="a", output="right"),
    row("Join", inputs="left2|right", output="joined"),
]


@pytest.fixture
def flow(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path], store_url: str
) -> Callable[[list[str]], Path]:
    """Writes the graph; the project's config points at the store under test (SQLite, PG).

    Checkpoints are committed node by node (``durability: sync``), whose guarantee these
    tests check exactly; test_durability_modes.py checks the other modes'.
    """
    write_file("agents/steps.py", STEP_AGENT)
    write_file(
        "agentmap_config.yaml", f"storage:\n  url: {json.dumps(store_url)}\n  durability: sync\n"
    )

    def write(rows: list[str]) -> Path:
        return graph_csv(*rows)

    return write


def ran(project: Path) -> list[str]:
    log = project / "ran.log"
    return log.read_text("utf-8").split() if log.exists() else []


def agentmap(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AGENTMAP), *args],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def _checkpointed(node: str) -> bool:
    """Whether the latest run has a committed checkpoint of ``node``."""
    runs = open_run_store().list(limit=1)
    return bool(runs) and any(c.node == node for c in open_run_store().checkpoints(runs[0].id))


def stop_in(
    project: Path,
    node: str,
    how: signal.Signals,
    *args: str,
    source: str = "flow.csv",
    once: Callable[[], bool] | None = None,
) -> str:
    """Start ``agentmap run SOURCE``, stop it with ``how`` while ``node`` runs (and ``once()``
    holds, if given); the run id."""
    (project / f"block-{node}").write_text("")
    process = subprocess.Popen(
        [str(AGENTMAP), "run", source, "--state", '"x"', *args],
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_works,
    )
    marker = project / f"started-{node}"
    if once is not None:  # wait for it too, then signal as soon as the node has started
        deadline = time.monotonic() + 20
        while not (marker.exists() and once()):
            assert process.poll() is None and time.monotonic() < deadline, "never got there"
            time.sleep(0.01)
    signal_when(process, marker, how, timeout=20)
    (project / f"block-{node}").unlink()
    (project / f"started-{node}").unlink()
    runs = open_run_store().list(limit=1)
    return runs[0].id


def uninterrupted(project: Path, rows: list[str]) -> dict[str, Any]:
    """The final state of the same graph run start to finish, in a fresh folder's store."""
    result = run_graph(project / "flow.csv", "x", config={"storage": {"url": "none"}})
    (project / "ran.log").unlink()
    return result.final_state


@pytest.mark.parametrize(
    ("how", "status"), [(signal.SIGKILL, "crashed"), (signal.SIGINT, "cancelled")]
)
def test_a_stopped_run_resumes_where_it_stopped_and_ends_as_if_never_stopped(
    project: Path, flow: Callable[[list[str]], Path], how: signal.Signals, status: str
) -> None:
    flow(CHAIN)
    expected = uninterrupted(project, CHAIN)
    run_id = stop_in(project, "B", how)
    assert open_run_store().get(run_id).status == status
    done = agentmap(project, "resume", run_id, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"] == expected
    assert ran(project) == ["A", "B", "B", "C", "D"]  # only the interrupted node ran again
    record = open_run_store().get(run_id)
    assert record.status == "succeeded"
    assert record.final_state == expected
    assert record.summary is not None
    assert record.summary["execution_path"] == ["A", "B", "C", "D"]


def test_a_crashed_parallel_run_resumes_only_the_branch_that_was_cut_short(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(FORK)
    expected = uninterrupted(project, FORK)
    # Killed while Left2 runs, once Right's checkpoint is committed (Right runs alongside:
    # killed before its checkpoint, it would rightly run again).
    run_id = stop_in(project, "Left2", signal.SIGKILL, once=lambda: _checkpointed("Right"))
    assert sorted(ran(project)) == ["A", "Left", "Left2", "Right"]
    done = agentmap(project, "resume", run_id, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"] == expected
    assert sorted(ran(project)) == ["A", "Join", "Left", "Left2", "Left2", "Right"]


def test_a_crash_after_a_join_resumes_from_the_joined_state(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    rows = [*FORK[:-1], row("Join", edge="After", inputs="left2|right", output="joined")]
    rows.append(row("After", inputs="joined", output="after"))
    flow(rows)
    expected = uninterrupted(project, rows)
    run_id = stop_in(project, "After", signal.SIGKILL)
    done = agentmap(project, "resume", run_id, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"] == expected
    assert sorted(ran(project)).count("Join") == 1
    assert sorted(ran(project)).count("After") == 2


def test_a_failed_run_resumes_at_its_failed_node_once_the_cause_is_fixed(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(
        [
            *CHAIN[:2],
            row("C", success="D", failure="Handle", inputs="b", output="c"),
            CHAIN[3],
            row("Handle", inputs="error", output="handled"),
        ]
    )
    # all_nodes: the run fails although Handle took C's failure, and goes back past Handle
    (project / "agentmap_config.yaml").write_text("execution:\n  success_policy: all_nodes\n")
    (project / "fail-C").write_text("")
    failed = agentmap(project, "run", "flow.csv", "--state", '"x"', "--json")
    assert failed.returncode == 1
    run_id = json.loads(failed.stdout)["run_id"]
    assert failed.stderr.endswith(f"to carry this run on: agentmap resume {run_id}\n")
    (project / "fail-C").unlink()
    done = agentmap(project, "resume", run_id, "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["summary"]["execution_path"] == ["A", "B", "C", "D"]
    assert "handled" not in document["final_state"]
    assert ran(project) == ["A", "B", "C", "Handle", "C", "D"]


def test_a_run_that_timed_out_resumes_at_the_node_the_timeout_cut_short(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(CHAIN)
    (project / "slow-C").write_text("")
    stopped = agentmap(project, "run", "flow.csv", "--state", '"x"', "--timeout", "0.5", "--json")
    assert stopped.returncode == 1
    run_id = json.loads(stopped.stdout)["run_id"]
    (project / "slow-C").unlink()
    done = agentmap(project, "resume", run_id)
    assert done.returncode == 0, done.stderr
    assert ran(project)[-2:] == ["C", "D"] and ran(project).count("B") == 1


def test_resume_refuses_a_changed_graph_without_force_and_says_what_changed(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(CHAIN)
    run_id = stop_in(project, "B", signal.SIGKILL)
    flow([*CHAIN[:3], row("D", edge="E", inputs="c", output="d"), row("E", inputs="d")])
    refused = agentmap(project, "resume", run_id)
    assert refused.returncode == 2
    assert refused.stderr == (
        f"error: run {run_id}'s graph changed since it ran (node 'E' was added; node 'D' was "
        "changed) — resume with --force to carry on with the graph as it is now\n"
    )
    forced = agentmap(project, "resume", run_id, "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(forced.stdout)["summary"]["execution_path"] == ["A", "B", "C", "D", "E"]
    assert "node 'E' was added" in forced.stderr


def test_resume_refuses_even_with_force_when_the_node_it_stopped_at_is_gone(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(CHAIN)
    run_id = stop_in(project, "B", signal.SIGKILL)
    flow([row("A", edge="C", inputs="input", output="a"), *CHAIN[2:]])
    refused = agentmap(project, "resume", run_id, "--force")
    assert refused.returncode == 2
    assert "node 'B' was removed" in refused.stderr
    assert "node 'B', where it stopped, no longer exists" in refused.stderr


def test_resume_refuses_a_run_that_succeeded(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(CHAIN)
    run_id = run_graph("flow.csv", "x").run_id
    with pytest.raises(ResumeError, match="succeeded; there is nothing to resume"):
        resume_run(run_id)
    refused = agentmap(project, "resume", run_id[:8])
    assert refused.returncode == 2
    assert "nothing to resume" in refused.stderr


def test_resume_of_an_unknown_run_exits_2_naming_the_store(project: Path) -> None:
    result = agentmap(project, "resume", "feedbeef")
    assert result.returncode == 2
    assert result.stderr.startswith("error: no run 'feedbeef' in the run store ")
    with pytest.raises(RunNotFoundError):
        resume_run("feedbeef")


def test_a_run_without_checkpoints_cannot_be_resumed(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(CHAIN)
    (project / "fail-D").write_text("")
    config = {"storage": {"checkpoints": False}}
    result = run_graph("flow.csv", "x", config=config)
    assert result.status == "failed"
    with pytest.raises(ResumeError, match=r"storage\.checkpoints off"):
        resume_run(result.run_id, config=config)


# --- people in the loop ---------------------------------------------------------------------

APPROVAL = [
    csv_row("H", "Draft", "echo", edge="Review", inputs="input", output="draft"),
    csv_row(
        "H",
        "Review",
        "human",
        success="Ship",
        failure="Rework",
        inputs="draft",
        output="approved",
        prompt="Ship {draft}?",
        context={"interaction_type": "approval"},
    ),
    csv_row("H", "Ship", "echo", inputs="draft", output="shipped"),
    csv_row("H", "Rework", "echo", inputs="error", output="rework"),
]


def test_a_question_without_a_terminal_stops_the_run_waiting_with_exit_3_and_the_resume_commands(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*APPROVAL)
    waiting = agentmap(project, "run", "flow.csv", "--state", '"v1"', "--json")
    assert waiting.returncode == 3
    document = json.loads(waiting.stdout)
    run_id = document["run_id"]
    assert document["status"] == "waiting"
    assert document["waiting"] == [
        {"node": "Review", "question": "Ship v1?", "kind": "approval", "options": []}
    ]
    assert waiting.stderr == (
        f"run {run_id} is waiting for an answer:\n"
        "  Review: Ship v1?\n"
        "answer with:\n"
        f"  agentmap resume {run_id} --approve\n"
        f"  agentmap resume {run_id} --reject\n"
    )
    assert open_run_store().get(run_id).status == "waiting"


@pytest.mark.parametrize(
    ("answer", "path", "written"),
    [
        (["--approve"], ["Draft", "Review", "Ship"], {"approved": True, "shipped": "v1"}),
        (["--reject"], ["Draft", "Review", "Rework"], {"approved": False, "rework": "rejected"}),
    ],
)
def test_approving_or_rejecting_puts_the_answer_in_the_output_field_and_routes_on_it(
    project: Path,
    graph_csv: Callable[..., Path],
    answer: list[str],
    path: list[str],
    written: dict[str, Any],
) -> None:
    graph_csv(*APPROVAL)
    run_id = json.loads(agentmap(project, "run", "flow.csv", "-s", '"v1"', "--json").stdout)[
        "run_id"
    ]
    done = agentmap(project, "resume", run_id, *answer, "--json")
    document = json.loads(done.stdout)
    assert document["summary"]["execution_path"] == path
    assert {k: document["final_state"][k] for k in written} == written


def test_a_wrong_kind_of_answer_is_refused_with_what_fits(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*APPROVAL)
    run_id = json.loads(agentmap(project, "run", "flow.csv", "-s", '"v1"', "--json").stdout)[
        "run_id"
    ]
    refused = agentmap(project, "resume", run_id, "--value", "yes")
    assert refused.returncode == 2
    assert refused.stderr == (
        f"error: node 'Review' of run {run_id} can't take that answer: it asks to approve or "
        "reject: answer with --approve or --reject\n"
    )
    assert open_run_store().get(run_id).status == "waiting"  # nothing changed


def test_a_choice_takes_the_option_by_number_and_refuses_one_out_of_range(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        csv_row(
            "C",
            "Pick",
            "human",
            edge="Use",
            output="flavour",
            prompt="Which flavour?",
            context={"interaction_type": "choice", "options": ["vanilla", "mint"]},
        ),
        csv_row("C", "Use", "echo", inputs="flavour", output="used"),
    )
    run_id = run_graph("flow.csv").run_id
    with pytest.raises(
        ResumeError, match=r"there is no choice 3: choose with --choice N \(1 = vanilla, 2 = mint\)"
    ):
        resume_run(run_id, 3)
    done = agentmap(project, "resume", run_id, "--choice", "2", "--json")
    assert json.loads(done.stdout)["final_state"]["used"] == "mint"


def test_a_text_question_takes_the_value_as_typed(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        csv_row("T", "Ask", "human", edge="Use", output="name", prompt="Your name?"),
        csv_row("T", "Use", "echo", inputs="name", output="greeted"),
    )
    result = run_graph("flow.csv")
    assert result.status == "waiting"
    assert result.waiting[0].pause.kind == "text"
    done = resume_run(result.run_id, "Ada Lovelace")
    assert done.status == "succeeded"
    assert done.final_state["greeted"] == "Ada Lovelace"


@pytest.mark.parametrize(("value", "expected"), [((), None), (("--value", "paid"), "paid")])
def test_a_suspended_run_carries_on_when_resumed_with_or_without_a_value(
    project: Path, graph_csv: Callable[..., Path], value: tuple[str, ...], expected: str | None
) -> None:
    graph_csv(
        csv_row(
            "S", "Wait", "suspend", edge="After", output="payment", prompt="Waiting for payment"
        ),
        csv_row("S", "After", "echo", inputs="payment", output="after"),
    )
    waiting = agentmap(project, "run", "flow.csv", "--json")
    assert waiting.returncode == 3
    run_id = json.loads(waiting.stdout)["run_id"]
    done = agentmap(project, "resume", run_id, *value, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"]["payment"] == expected


def test_parallel_questions_are_answered_one_node_at_a_time_and_then_join(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    ask = {"interaction_type": "approval"}
    graph_csv(
        csv_row("P", "Start", "echo", edge="Legal|Finance", inputs="input", output="doc"),
        csv_row(
            "P", "Legal", "human", edge="Done", output="legal", prompt="Legal ok?", context=ask
        ),
        csv_row(
            "P", "Finance", "human", edge="Done", output="finance", prompt="Money ok?", context=ask
        ),
        csv_row("P", "Done", "echo", inputs="legal|finance", output="both"),
    )
    first = run_graph("flow.csv", "contract")
    assert [w.node for w in first.waiting] == ["Legal", "Finance"]
    with pytest.raises(
        ResumeError, match="waits for answers at Legal, Finance — say which with --node"
    ):
        resume_run(first.run_id, True)
    second = resume_run(first.run_id, True, node="Legal")
    assert second.status == "waiting"
    assert [w.node for w in second.waiting] == ["Finance"]
    done = agentmap(project, "resume", first.run_id, "--node", "Finance", "--reject", "--json")
    document = json.loads(done.stdout)
    assert document["final_state"]["both"] == {"legal": True, "finance": False}
    assert document["summary"]["execution_path"] == ["Start", "Legal", "Finance", "Done"]


def test_a_branch_waiting_at_a_join_for_a_branch_that_asks_is_let_go_then_joins_on_resume(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        csv_row("P", "Start", "echo", edge="Check|Draft", inputs="input", output="doc"),
        csv_row(
            "P",
            "Check",
            "human",
            edge="Join",
            output="checked",
            prompt="Ok?",
            context={"interaction_type": "approval"},
        ),
        csv_row("P", "Draft", "echo", edge="Join", inputs="doc", output="draft"),
        csv_row("P", "Join", "echo", inputs="checked|draft", output="both"),
    )
    first = run_graph("flow.csv", "memo")
    assert first.status == "waiting"
    assert first.summary.execution_path == ("Start", "Check", "Draft")  # Join waited for Check
    done = resume_run(first.run_id, True)
    assert done.status == "succeeded"
    assert done.final_state["both"] == {"checked": True, "draft": "memo"}
    assert done.summary.execution_path == ("Start", "Draft", "Check", "Join")


def test_the_python_api_can_answer_at_once_with_an_ask_function(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*APPROVAL)
    asked: list[tuple[str, str]] = []

    def ask(node: str, pause: Any) -> bool:
        asked.append((node, pause.question))
        return True

    result = run_graph("flow.csv", "v2", ask=ask)
    assert asked == [("Review", "Ship v2?")]
    assert result.status == "succeeded"
    assert result.final_state["shipped"] == "v2"


def test_in_a_terminal_the_run_asks_right_away(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*APPROVAL)
    command = [str(AGENTMAP), "run", "flow.csv", "--state", '"v3"']
    code, text = in_a_terminal(command, project, clean_env(), {b"approve?": b"y\n"})
    assert code == 0, text
    assert "? Review: Ship v3?" in text
    assert "✔ H succeeded" in text


def test_no_input_keeps_a_terminal_run_from_asking(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*APPROVAL)
    command = [str(AGENTMAP), "run", "flow.csv", "--state", '"v4"', "--no-input"]
    code, text = in_a_terminal(command, project, clean_env())
    assert code == 3, text
    assert "is waiting for an answer" in text


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        (
            {"interaction_type": "vote"},
            "interaction_type 'vote' is not one of text_input, approval",
        ),
        ({"interaction_type": "choice"}, "a choice needs at least two options"),
        (
            {"interaction_type": "choice", "options": ["only"]},
            "a choice needs at least two options",
        ),
    ],
)
def test_a_human_node_whose_context_cannot_ask_is_a_validation_problem_at_its_cell(
    project: Path, graph_csv: Callable[..., Path], context: dict[str, Any], problem: str
) -> None:
    graph_csv(csv_row("H", "Ask", "human", context=context))
    result = agentmap(project, "validate", "flow.csv")
    assert result.returncode == 1
    assert "flow.csv:2 J2 Context" in result.stdout + result.stderr
    assert problem in result.stdout + result.stderr


def test_init_adds_the_run_store_folder_to_gitignore_once(project: Path) -> None:
    (project / "app").mkdir()
    (project / "app" / ".gitignore").write_text("*.pyc", encoding="utf-8")
    for _ in range(2):
        assert agentmap(project, "init", "app").returncode == 0
    assert (project / "app" / ".gitignore").read_text("utf-8") == (
        "*.pyc\n# agentmap's run store (run history and checkpoints) stays local\n.agentmap/\n"
    )


def test_the_documented_approval_example_waits_then_publishes(repo: Path, tmp_path: Path) -> None:
    config = {"storage": {"url": f"sqlite:///{tmp_path / 'runs.db'}"}}
    result = run_graph(repo / "graphs" / "approval.csv", "Spring sale", config=config)
    assert result.status == "waiting"
    assert result.waiting[0].pause.question == "Publish this? Spring sale"
    done = resume_run(result.run_id, True, config=config)
    assert done.final_state["published"] == "Spring sale"


SUBGRAPH_ASKING = [
    csv_row("Parent", "Sub", "graph", edge="After", output="answer", context={"graph": "Child"}),
    csv_row("Parent", "After", "echo", inputs="answer", output="after"),
    csv_row("Child", "Prep", "step", edge="Ask", output="prep"),
    csv_row("Child", "Ask", "human", output="answer", prompt="Name?"),
]


def test_a_question_inside_a_subgraph_is_answered_at_once_when_someone_can_answer(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(SUBGRAPH_ASKING)
    result = run_graph("flow.csv::Parent", ask=lambda node, pause: "Grace")
    assert result.status == "succeeded"
    assert result.final_state["after"]["answer"] == "Grace"  # the child's final state


def test_a_question_inside_a_subgraph_waits_and_resuming_carries_the_subgraph_on(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(SUBGRAPH_ASKING)
    waiting = agentmap(project, "run", "flow.csv::Parent", "--json")
    assert waiting.returncode == 3, waiting.stderr
    document = json.loads(waiting.stdout)
    [question] = document["waiting"]
    assert (question["node"], question["question"]) == ("Sub", "Name?")
    child = open_run_store().get(question["child_run"])
    assert (child.status, child.parent_run_id, child.parent_node) == (
        "waiting",
        document["run_id"],
        "Sub",
    )
    assert [r.id for r in open_run_store().list()] == [document["run_id"]]  # parts aren't listed
    done = agentmap(project, "resume", document["run_id"], "--value", "Grace", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"]["after"]["answer"] == "Grace"
    assert ran(project) == ["Prep"]  # the subgraph's finished node did not run again
    assert open_run_store().get(child.id).status == "succeeded"


def test_a_subgraph_run_is_resumed_through_its_parent_not_on_its_own(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(SUBGRAPH_ASKING)
    parent = run_graph("flow.csv::Parent")
    child = parent.waiting[0].child_run
    assert child is not None
    refused = agentmap(project, "resume", child, "--value", "Ada")
    assert refused.returncode == 2
    assert refused.stderr == (
        f"error: run {child} is the subgraph run of node 'Sub' of run {parent.run_id} — resume "
        f"that run: agentmap resume {parent.run_id}\n"
    )


def test_a_wrong_answer_for_a_subgraph_question_is_refused_before_anything_runs(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    rows = [*SUBGRAPH_ASKING[:3]]
    rows.append(
        csv_row("Child", "Ask", "human", output="answer", context={"interaction_type": "approval"})
    )
    flow(rows)
    run_id = run_graph("flow.csv::Parent").run_id
    with pytest.raises(ResumeError, match="it asks to approve or reject"):
        resume_run(run_id, "yes")
    assert open_run_store().get(run_id).status == "waiting"
    assert resume_run(run_id, True).status == "succeeded"


def test_a_crash_inside_a_subgraph_resumes_the_subgraph_where_it_stopped(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(
        [
            csv_row(
                "Parent",
                "Sub",
                "graph",
                edge="After",
                inputs="input",
                output="child",
                context={"graph": "Child"},
            ),
            csv_row("Parent", "After", "step", inputs="child", output="after"),
            csv_row("Child", "Prep", "step", edge="Slow", inputs="input", output="prep"),
            csv_row("Child", "Slow", "step", inputs="prep", output="slow"),
        ]
    )
    run_id = stop_in(project, "Slow", signal.SIGKILL, source="flow.csv::Parent")
    done = agentmap(project, "resume", run_id, "--json")
    assert done.returncode == 0, done.stderr
    assert ran(project) == ["Prep", "Slow", "Slow", "After"]
    assert json.loads(done.stdout)["final_state"]["child"]["slow"] == "Slow+Prep+x"


def test_an_ask_function_that_gets_no_answer_leaves_the_run_waiting(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*APPROVAL)

    def nobody(node: str, pause: Any) -> bool:
        raise EOFError  # what input() raises at the end of input (Ctrl-D)

    result = run_graph("flow.csv", "v5", ask=nobody)
    assert result.status == "waiting"
    assert [w.node for w in result.waiting] == ["Review"]


def test_the_resume_hint_keeps_the_config_file_the_run_used(
    project: Path, flow: Callable[[list[str]], Path], write_file: Callable[..., Path]
) -> None:
    flow(CHAIN)
    config = project / "agentmap_config.yaml"
    moved = write_file("my config.yaml", config.read_text("utf-8"))
    config.unlink()
    (project / "fail-D").write_text("")
    failed = agentmap(project, "run", "flow.csv", "-s", '"x"', "--config", str(moved), "--json")
    assert failed.returncode == 1
    run_id = json.loads(failed.stdout)["run_id"]
    assert failed.stderr.endswith(
        f"to carry this run on: agentmap resume {run_id} --config '{moved}'\n"
    )


def test_resume_trace_shows_only_the_nodes_that_run_now(
    project: Path, flow: Callable[[list[str]], Path]
) -> None:
    flow(CHAIN)
    run_id = stop_in(project, "B", signal.SIGKILL)
    done = agentmap(project, "resume", run_id, "--trace", "--json")
    assert done.returncode == 0, done.stderr
    traced = [re.sub(r" [\d.]+ (µs|ms|s)$", "", line) for line in done.stderr.splitlines()]
    assert traced == ["▶ B", "✔ B", "▶ C", "✔ C", "▶ D", "✔ D"]
    assert json.loads(done.stdout)["summary"]["execution_path"] == ["A", "B", "C", "D"]
