"""AgentMap's `human` node in full: `edit` and `conversation` questions, and `timeout_seconds`
with `default_action` — answered from Python, the terminal, `agentmap resume`, jobs and HTTP.

Timeouts are short and real; the tests check what a run does once the time ran out, never how
long anything took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentmap import answer_job, create_job, get_job_results, resume_run, run_graph, wait_for_job
from agentmap.cli.ask import wait_for_line
from agentmap.exceptions import JobStateError, ResumeError
from agentmap.jobhost import job_host
from helpers import clean_env, csv_row, in_a_terminal
from test_service import Server, wait_state

AGENTMAP = Path(sys.executable).parent / "agentmap"
SHORT = 0.05
"""A timeout that has run out by the time a test looks again (it sleeps past it first)."""


def edit_rows(context: dict[str, Any] | None = None, inputs: str = "draft") -> list[str]:
    return [
        csv_row(
            "Edit",
            "Review",
            "human",
            success="Publish",
            inputs=inputs,
            output="edited",
            prompt="Please edit: {draft}",
            context={"interaction_type": "edit", **(context or {})},
        ),
        csv_row("Edit", "Publish", "echo", inputs="edited", output="published"),
    ]


CHAT = [
    csv_row(
        "Chat",
        "Talk",
        "human",
        success="Talk",
        failure="Wrap",
        output="said",
        prompt="Anything else?",
        context={"interaction_type": "conversation", "history": "chat_log"},
    ),
    csv_row("Chat", "Wrap", "echo", inputs="chat_log", output="transcript"),
]


def timed(kind: str, default: Any = None, seconds: float = SHORT, **more: Any) -> list[str]:
    """Graph ``Timed``: a ``kind`` question with a timeout; success → Done, failure → Late."""
    context: dict[str, Any] = {"interaction_type": kind, "timeout_seconds": seconds, **more}
    if default is not None:
        context["default_action"] = default
    return [
        csv_row(
            "Timed",
            "Ask",
            "human",
            success="Done",
            failure="Late",
            inputs="topic",
            output="answer",
            prompt="Decide on {topic}",
            context=context,
        ),
        csv_row("Timed", "Done", "echo", inputs="answer", output="done"),
        csv_row("Timed", "Late", "echo", inputs="topic", output="escalated"),
    ]


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


def run_id_of(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 3, done.stderr
    return str(json.loads(done.stdout)["run_id"])


def past(deadline: float) -> None:
    """Sleep until ``deadline`` (a Unix time) has passed."""
    time.sleep(max(0.0, deadline - time.time()) + 0.01)


# --- edit ---------------------------------------------------------------------------------------


def test_an_edit_shows_its_input_text_and_the_edited_text_is_its_output(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*edit_rows())
    waiting = run_graph("flow.csv", {"draft": "teh first draft"})
    pause = waiting.waiting[0].pause
    assert (pause.kind, pause.question, pause.draft) == (
        "edit",
        "Please edit: teh first draft",
        "teh first draft",
    )

    done = resume_run(waiting.run_id, "the first draft")

    assert done.final_state["edited"] == done.final_state["published"] == "the first draft"


def test_approving_an_edit_keeps_the_text_as_it_was(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*edit_rows())
    waiting = run_graph("flow.csv", {"draft": "fine as it is"})
    assert resume_run(waiting.run_id, True).final_state["published"] == "fine as it is"


def test_an_edit_shows_the_input_named_original_when_it_has_one(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*edit_rows(inputs="draft|original"))
    waiting = run_graph("flow.csv", {"draft": "notes", "original": "the text"})
    assert waiting.waiting[0].pause.draft == "the text"


def test_an_edit_refuses_an_answer_that_is_no_text_and_keeps_waiting(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*edit_rows())
    waiting = run_graph("flow.csv", {"draft": "x"})
    with pytest.raises(ResumeError, match="it asks to edit a text: answer with --value TEXT"):
        resume_run(waiting.run_id, False)
    assert resume_run(waiting.run_id, "y").final_state["published"] == "y"


# --- conversation -------------------------------------------------------------------------------


def test_a_conversation_keeps_each_exchange_in_its_history_key_until_it_is_ended(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*CHAT)
    run = run_graph("flow.csv", {})
    run = resume_run(run.run_id, "Where is my parcel?")
    assert run.status == "waiting" and run.final_state["said"] == "Where is my parcel?"
    run = resume_run(run.run_id, "Thanks")

    done = resume_run(run.run_id, "")

    assert done.final_state["transcript"] == [
        {"role": "assistant", "content": "Anything else?"},
        {"role": "user", "content": "Where is my parcel?"},
        {"role": "assistant", "content": "Anything else?"},
        {"role": "user", "content": "Thanks"},
    ]
    assert done.final_state["error"] == "the conversation ended"
    assert [r.node for r in done.summary.node_results] == ["Talk", "Talk", "Talk", "Wrap"]


def test_rejecting_a_conversation_ends_it_through_failure_next(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*CHAT)
    done = resume_run(run_graph("flow.csv", {}).run_id, False)
    assert done.final_state["error"] == "the conversation ended"
    assert done.final_state["transcript"] is None  # nothing was said


def test_a_conversation_without_a_history_key_gives_the_message_alone(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        csv_row(
            "Chat",
            "Talk",
            "human",
            output="said",
            prompt="Hi?",
            context={"interaction_type": "conversation"},
        )
    )
    done = resume_run(run_graph("flow.csv", {}).run_id, "hello")
    assert done.final_state == {"said": "hello", "last_action_success": True}


def test_a_history_key_holding_something_else_fails_the_node_saying_why(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*CHAT)
    done = run_graph("flow.csv", {"chat_log": "earlier notes"})
    assert done.status != "waiting"
    assert done.final_state["error"] == (
        "state key 'chat_log' does not hold a conversation (a list of "
        '{"role": ..., "content": ...}) — name another key in Context history, or clear it'
    )


# --- timeout_seconds ----------------------------------------------------------------------------


def test_an_answer_after_the_deadline_is_refused_and_the_run_keeps_waiting(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*timed("approval", default="reject"))
    waiting = run_graph("flow.csv", {"topic": "launch"})
    deadline = waiting.waiting[0].pause.deadline
    assert deadline is not None
    past(deadline)

    with pytest.raises(ResumeError, match="stopped taking answers at") as refused:
        resume_run(waiting.run_id, True)

    assert refused.value.message.endswith(
        "(timeout_seconds) — resume without an answer and its default 'reject' is taken"
    )
    assert resume_run(waiting.run_id).final_state["escalated"] == "launch"


@pytest.mark.parametrize(
    ("kind", "default", "more", "key", "value"),
    [
        ("approval", "approve", {}, "done", True),
        ("approval", "reject", {}, "escalated", "launch"),
        ("choice", "later", {"options": ["now", "later"]}, "done", "later"),
        ("choice", 1, {"options": ["now", "later"]}, "done", "now"),
        ("text_input", "no comment", {}, "done", "no comment"),
        ("edit", "approve", {}, "done", "launch"),
    ],
)
def test_resuming_after_the_deadline_takes_the_default_answer(
    project: Path,
    graph_csv: Callable[..., Path],
    kind: str,
    default: Any,
    more: dict[str, Any],
    key: str,
    value: Any,
) -> None:
    rows = timed(kind, default=default, **more)
    graph_csv(*rows)
    waiting = run_graph("flow.csv", {"topic": "launch"})
    past(waiting.waiting[0].pause.deadline or 0)
    assert resume_run(waiting.run_id).final_state[key] == value


def test_a_timeout_with_a_default_that_is_no_answer_fails_the_node(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    """AgentMap's own example: ``"default_action": "escalate"`` beside an escalation route."""
    graph_csv(*timed("choice", default="escalate", options=["proceed", "delay"]))
    waiting = run_graph("flow.csv", {"topic": "launch"})
    past(waiting.waiting[0].pause.deadline or 0)
    done = resume_run(waiting.run_id)
    assert done.final_state["escalated"] == "launch"
    assert done.final_state["error"] == (
        "no answer within 0.05 seconds (timeout_seconds); the default 'escalate' is not an "
        "answer to this question"
    )


def test_a_timeout_without_a_default_fails_the_node(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*timed("text_input", seconds=0.01))
    waiting = run_graph("flow.csv", {"topic": "launch"})
    past(waiting.waiting[0].pause.deadline or 0)
    done = resume_run(waiting.run_id)
    assert done.final_state["error"] == "no answer within 0.01 seconds (timeout_seconds)"


def test_resuming_without_an_answer_before_the_deadline_keeps_the_same_deadline(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*timed("approval", seconds=3600))
    first = run_graph("flow.csv", {"topic": "launch"})
    again = resume_run(first.run_id)
    assert again.status == "waiting"
    assert again.waiting[0].pause.deadline == first.waiting[0].pause.deadline
    assert resume_run(first.run_id, True).final_state["done"] is True


def test_an_ask_function_that_times_out_takes_the_default_at_once(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*timed("approval", default="approve", seconds=3600))

    def ask(node: str, pause: Any) -> bool:
        raise TimeoutError

    done = run_graph("flow.csv", {"topic": "launch"}, ask=ask)
    assert done.status == "succeeded" and done.final_state["done"] is True


@pytest.fixture
def silent_stdin(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """stdin is a pipe nobody has written to yet; the write end is yielded."""
    read, write = os.pipe()
    with os.fdopen(read, "r") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        yield write
    os.close(write)


def test_the_terminal_stops_waiting_for_a_line_at_the_deadline(silent_stdin: int) -> None:
    with pytest.raises(TimeoutError):
        wait_for_line(time.time() + SHORT)


def test_the_terminal_takes_a_line_typed_before_the_deadline(silent_stdin: int) -> None:
    os.write(silent_stdin, b"yes\n")
    wait_for_line(time.time() + 3600)
    assert sys.stdin.readline() == "yes\n"


def test_in_a_terminal_an_unanswered_question_takes_its_default_after_the_timeout(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*timed("approval", default="approve", seconds=0.3))
    command = [str(AGENTMAP), "run", "flow.csv", "--state", '{"topic": "launch"}']
    code, text = in_a_terminal(command, project, clean_env())
    assert code == 0, text
    assert "(answer within 0 s; after that its default 'approve' is taken)" in text
    assert "✔ Timed succeeded" in text


def test_in_a_terminal_an_edit_shows_the_text_and_takes_the_new_one(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*edit_rows())
    command = [str(AGENTMAP), "run", "flow.csv", "--state", '{"draft": "teh text"}', "--json"]
    code, text = in_a_terminal(command, project, clean_env(), {b"as it is)": b"the text\n"})
    assert code == 0, text
    assert "? Review: Please edit: teh text" in text
    assert '"published": "the text"' in text


def test_in_a_terminal_an_empty_line_keeps_the_text_to_edit(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*edit_rows())
    command = [str(AGENTMAP), "run", "flow.csv", "--state", '{"draft": "kept"}', "--json"]
    code, text = in_a_terminal(command, project, clean_env(), {b"as it is)": b"\n"})
    assert code == 0, text
    assert '"published": "kept"' in text


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        (
            {"interaction_type": "chat"},
            "interaction_type 'chat' is not one of text_input, approval, choice, edit, "
            "conversation — fix the Context",
        ),
        (
            {"timeout_seconds": "soon"},
            "timeout_seconds must be a number of seconds above 0, not 'soon'",
        ),
        ({"timeout_seconds": 0}, "timeout_seconds must be a number of seconds above 0, not 0"),
        (
            {"interaction_type": "conversation", "history": 3},
            "history names the state key keeping the conversation",
        ),
        ({"timeout_second": 60}, "did you mean 'timeout_seconds'?"),
    ],
)
def test_a_human_context_that_cannot_work_is_placed_at_its_cell(
    project: Path, graph_csv: Callable[..., Path], context: dict[str, Any], problem: str
) -> None:
    graph_csv(csv_row("H", "Ask", "human", context=context))
    done = agentmap(project, "validate", "flow.csv")
    assert done.returncode == 1
    assert "flow.csv:2 J2 Context" in done.stderr
    assert problem in done.stderr


def test_agentmaps_timeout_and_default_keys_validate(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    context = {"interaction_type": "approval", "timeout_seconds": 86400, "default_option": "no"}
    graph_csv(csv_row("H", "Ask", "human", context=context))
    done = agentmap(project, "validate", "flow.csv")
    assert done.returncode == 0, done.stderr


# --- agentmap resume ----------------------------------------------------------------------------


def test_a_waiting_edit_says_how_to_answer_it(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*edit_rows({"timeout_seconds": 7200}))
    done = agentmap(project, "run", "flow.csv", "--state", '{"draft": "v1"}', "--no-input")
    assert done.returncode == 3
    assert "    answer by " in done.stderr
    assert " UTC; after that the node fails (Failure_Next)" in done.stderr
    assert "--value 'the edited text'" in done.stderr
    assert "--approve   # keep it as it is" in done.stderr


@pytest.mark.parametrize(
    ("answer", "published"),
    [
        (["edit", "--data", '{"content": "v2"}'], "v2"),
        (["save", "--data", '{"edited": "v2"}'], "v2"),
        (["edit"], "v1"),
        (["--value", "v2"], "v2"),
        (["--approve"], "v1"),
    ],
)
def test_agentmap_resume_answers_an_edit(
    project: Path, graph_csv: Callable[..., Path], answer: list[str], published: str
) -> None:
    graph_csv(*edit_rows())
    run = run_id_of(agentmap(project, "run", "flow.csv", "--state", '{"draft": "v1"}', "--json"))
    done = agentmap(project, "resume", run, *answer, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"]["published"] == published


def test_agentmap_resume_replies_to_a_conversation_and_ends_it(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*CHAT)
    run = run_id_of(agentmap(project, "run", "flow.csv", "--json"))
    replied = agentmap(project, "resume", run, "reply", "--data", '{"message": "hi"}', "--json")
    assert replied.returncode == 3, replied.stderr
    ended = agentmap(project, "resume", run, "end", "--json")
    assert ended.returncode == 0, ended.stderr
    assert json.loads(ended.stdout)["final_state"]["transcript"] == [
        {"role": "assistant", "content": "Anything else?"},
        {"role": "user", "content": "hi"},
    ]


def test_agentmap_resume_refuses_a_late_answer_and_carries_on_without_one(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*timed("approval", default="approve"))
    started = agentmap(project, "run", "flow.csv", "--state", '{"topic": "t"}', "--json")
    run = run_id_of(started)
    past(json.loads(started.stdout)["waiting"][0]["deadline"])

    late = agentmap(project, "resume", run, "--reject")
    assert late.returncode == 2
    assert "stopped taking answers at" in late.stderr
    assert "resume without an answer and its default 'approve' is taken" in late.stderr
    carried = agentmap(project, "resume", run, "--json")
    assert json.loads(carried.stdout)["final_state"]["done"] is True


# --- jobs and HTTP ------------------------------------------------------------------------------


@pytest.fixture
def jobs_project(project: Path, write_file: Callable[..., Path]) -> Path:
    write_file("agentmap_config.yaml", "jobs:\n  poll_interval: 0.05\n  heartbeat: 0.2\n")
    return project


def test_a_job_shows_the_text_to_edit_and_takes_the_edited_text(
    jobs_project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*edit_rows())
    job = create_job("flow.csv", {"draft": "old"})
    assert wait_for_job(job.id, timeout=60).state == "waiting"
    asked = job_host(None, None).queue.questions(job.id)
    assert [(q["kind"], q["draft"]) for q in asked] == [("edit", "old")]

    answer_job(job.id, "new")

    assert wait_for_job(job.id, timeout=60).state == "completed"
    assert get_job_results(job.id).final_state["published"] == "new"


def test_a_job_answered_after_its_deadline_carries_on_with_the_default(
    jobs_project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*timed("approval", default="reject"))
    job = create_job("flow.csv", {"topic": "launch"})
    assert wait_for_job(job.id, timeout=60).state == "waiting"
    time.sleep(SHORT + 0.01)

    with pytest.raises(JobStateError, match="the time to answer Ask ran out"):
        answer_job(job.id, True)

    assert wait_for_job(job.id, timeout=60).state == "completed"
    assert get_job_results(job.id).final_state["escalated"] == "launch"


@pytest.fixture
def server(jobs_project: Path, graph_csv: Callable[..., Path]) -> Iterator[Server]:
    rows = [*edit_rows(), *CHAT, *timed("approval", default="approve", seconds=2)]
    graph_csv(*rows, name="graphs/flow.csv")
    running = Server(jobs_project)
    try:
        yield running
    finally:
        running.stop()


def test_over_http_an_edit_shows_its_text_and_approving_keeps_it(server: Server) -> None:
    made = server.post("/jobs", json={"graph": "flow.csv::Edit", "inputs": {"draft": "v1"}})
    job_id = made.json()["job"]["id"]
    asked = wait_state(server, job_id, {"waiting"})["waiting"]
    assert [(q["kind"], q["draft"]) for q in asked] == [("edit", "v1")]

    assert server.post(f"/jobs/{job_id}/answer", json={"approve": True}).status_code == 200

    assert wait_state(server, job_id, {"completed"})["state"] == "completed"
    assert server.get(f"/jobs/{job_id}/results").json()["final_state"]["published"] == "v1"


def test_over_http_a_conversation_is_replied_to_then_ended(server: Server) -> None:
    job_id = server.post("/jobs", json={"graph": "flow.csv::Chat"}).json()["job"]["id"]
    wait_state(server, job_id, {"waiting"})
    assert server.post(f"/jobs/{job_id}/answer", json={"value": "hi"}).status_code == 200
    wait_state(server, job_id, {"waiting"})

    assert server.post(f"/jobs/{job_id}/answer", json={"approve": False}).status_code == 200

    assert wait_state(server, job_id, {"completed"})["state"] == "completed"
    final = server.get(f"/jobs/{job_id}/results").json()["final_state"]
    assert final["transcript"] == [
        {"role": "assistant", "content": "Anything else?"},
        {"role": "user", "content": "hi"},
    ]


def test_over_http_a_late_answer_is_refused_and_the_job_takes_its_default(server: Server) -> None:
    made = server.post("/jobs", json={"graph": "flow.csv::Timed", "inputs": {"topic": "t"}})
    job_id = made.json()["job"]["id"]
    asked = wait_state(server, job_id, {"waiting"})["waiting"]  # looked at before the deadline
    assert asked[0]["on_timeout"] == "its default 'approve' is taken"
    past(asked[0]["deadline"])

    late = server.post(f"/jobs/{job_id}/answer", json={"approve": False})

    assert late.status_code == 409 and "ran out" in late.json()["detail"]
    assert wait_state(server, job_id, {"completed"})["state"] == "completed"
    assert server.get(f"/jobs/{job_id}/results").json()["final_state"]["done"] is True
