"""``orchestrator`` (keyword, model and tiered choice, the default, every node as a candidate
when no routing cell lists them, validation of its settings) and ``summary`` (template,
separator, model summary), against tests/llm_server.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmap import run_graph, validate_graph
from agentmap.agents.base import Usage
from agentmap.graph.model import Node
from agentmap.llm.orchestrator import keyword_match
from agentmap.llm.summary import DEFAULT_INSTRUCTION
from llm_server import LLMServer
from test_llm_agents import llm_config, row

DESKS = "Billing|Support|Other"
ROUTING = (
    "You route a request to exactly one of these options:\n"
    "- Billing: Invoices, refunds, payments and charges\n"
    "- Support: Logins, passwords, error messages and crashes\n"
    "- Other: Anything else\n"
    "Reply with the name of the option and nothing else."
)


def desk_graph(
    graph_csv: Callable[..., Path],
    context: dict[str, Any] | None = None,
    *,
    route_type: str = "orchestrator",
) -> Path:
    """Route → one of three desks (each writes ``answer``), or Handle when Route fails."""
    return graph_csv(
        row(
            "Route",
            route_type,
            success=DESKS,
            failure="Handle",
            inputs="message",
            output="desk",
            context=context,
            description="Send the message to the desk that handles it",
        ),
        row(
            "Billing",
            "echo",
            inputs="message",
            output="answer",
            description="Invoices, refunds, payments and charges",
        ),
        row(
            "Support",
            "echo",
            inputs="message",
            output="answer",
            description="Logins, passwords, error messages and crashes",
        ),
        row("Other", "echo", inputs="message", output="answer", description="Anything else"),
        row("Handle", "echo", inputs="error", output="handled"),
    )


@pytest.fixture(autouse=True)
def _clean(project: Path) -> None:
    """Every test in its own empty project folder, with no AGENTMAP_* settings."""


# --- keyword strategy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "desk"),
    [
        ("I was charged twice on my last invoice", "Billing"),
        ("Where is my refund?", "Billing"),
        ("I can't log in: my password is refused", "Support"),
        ("The app crashes with an error message", "Support"),
        ("What are your opening hours?", "Other"),  # no match: the default
        ("A refund for the crash, please", "Other"),  # a tie: the default
    ],
)
def test_keyword_strategy_routes_to_the_best_matching_description(
    graph_csv: Callable[..., Path], message: str, desk: str
) -> None:
    result = run_graph(desk_graph(graph_csv, {"default": "Other"}), {"message": message})
    assert result.summary.execution_path == ("Route", desk)
    assert result.final_state["desk"] == desk
    assert result.success is True


def test_the_choice_is_recorded_in_tracking(graph_csv: Callable[..., Path]) -> None:
    config = {"execution": {"tracking": {"track_outputs": True}}}
    path = desk_graph(graph_csv, {"default": "Other"})
    result = run_graph(path, {"message": "refund please"}, config=config)
    assert [(r.node, r.output) for r in result.summary.node_results] == [
        ("Route", "Billing"),
        ("Billing", "refund please"),
    ]


def test_keyword_strategy_without_a_match_or_default_is_a_node_failure(
    graph_csv: Callable[..., Path],
) -> None:
    result = run_graph(desk_graph(graph_csv), {"message": "What are your opening hours?"})
    assert result.summary.execution_path == ("Route", "Handle")
    assert result.final_state["handled"] == (
        "no candidate matched (Billing, Support, Other) — declare Context default"
    )


def test_context_nodes_narrow_the_candidates(graph_csv: Callable[..., Path]) -> None:
    context = {"nodes": ["Billing", "Support"], "default": "Support"}
    result = run_graph(desk_graph(graph_csv, context), {"message": "Anything else?"})
    assert result.summary.execution_path == ("Route", "Support")


def test_an_edge_cell_lists_the_candidates_too(graph_csv: Callable[..., Path]) -> None:
    header_row = "Main,Route,orchestrator,Billing|Support,,,message,desk,,,"
    path = graph_csv(
        header_row,
        row("Billing", "echo", inputs="message", output="answer", description="refunds"),
        row("Support", "echo", inputs="message", output="answer", description="passwords"),
    )
    result = run_graph(path, {"message": "I forgot my password"})
    assert result.summary.execution_path == ("Route", "Support")


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"nodes": ["Billing", "Sales"]},
            "Context nodes Sales are not targets of the routing cell — list every candidate "
            "there too (Success_Next: A|B|C)",
        ),
        (
            {"default": "Sales"},
            "Context default 'Sales' is not one of the candidates (Billing, Support, Other)",
        ),
        (
            {"node_type": "summary"},
            "no nodes to choose from: none is of node_type 'summary'",
        ),
    ],
)
def test_orchestrator_settings_naming_other_nodes_fail_the_node(
    graph_csv: Callable[..., Path], context: dict[str, Any], message: str
) -> None:
    result = run_graph(desk_graph(graph_csv, context), {"message": "refund"})
    assert result.final_state["handled"] == message


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"nodes": 7}, 'Context nodes must be a list of node names (or "A|B"), not 7'),
        (
            {"strategy": "dice"},
            "Context strategy must be one of keyword, llm, tiered, algorithm: 'dice'",
        ),
        (
            {"matching_strategy": "fuzzy"},
            "Context matching_strategy must be one of keyword, llm, tiered, algorithm: 'fuzzy'",
        ),
        (
            {"strategy": "llm", "matching_strategy": "tiered"},
            "Context strategy 'llm' and matching_strategy 'tiered' disagree — keep one",
        ),
        (
            {"confidence_threshold": 1.5},
            "Context confidence_threshold must be a number from 0 to 1, not 1.5",
        ),
        ({"default_target": ""}, "Context default_target must be a node name, not ''"),
    ],
)
def test_bad_orchestrator_settings_are_refused_at_validation(
    graph_csv: Callable[..., Path], context: dict[str, Any], message: str
) -> None:
    report = validate_graph(desk_graph(graph_csv, context))
    assert [(p.node, p.field, p.message) for p in report.errors] == [("Route", "Context", message)]


def test_an_orchestrators_targets_are_a_choice_so_they_may_write_the_same_key(
    graph_csv: Callable[..., Path],
) -> None:
    assert validate_graph(desk_graph(graph_csv)).ok is True
    fan_out = validate_graph(desk_graph(graph_csv, route_type="echo"))
    assert [p.message for p in fan_out.errors] == [
        "parallel branches 'Billing' and 'Support' both write 'answer' before they join — write "
        'different keys, or declare a reducer (Context {"reduce": "append"} on the writing '
        "nodes, or execution.reducers)",
        "parallel branches 'Billing' and 'Other' both write 'answer' before they join — write "
        'different keys, or declare a reducer (Context {"reduce": "append"} on the writing '
        "nodes, or execution.reducers)",
        "parallel branches 'Support' and 'Other' both write 'answer' before they join — write "
        'different keys, or declare a reducer (Context {"reduce": "append"} on the writing '
        "nodes, or execution.reducers)",
    ]


# --- llm strategy --------------------------------------------------------------------------


def test_llm_strategy_asks_the_model_to_choose(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Support", prompt_tokens=60, completion_tokens=1)
    path = desk_graph(graph_csv, {"strategy": "llm", "default": "Other"})
    result = run_graph(path, {"message": "It says error 500"}, config=llm_config(llm_server))
    assert result.summary.execution_path == ("Route", "Support")
    assert llm_server.last_request.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": ROUTING},
            {"role": "user", "content": "It says error 500"},
        ],
    }
    assert result.summary.node_results[0].usage == Usage(60, 1, None, "gpt-4o-mini")


@pytest.mark.parametrize(
    ("reply", "desk"),
    [("Support", "Support"), (" support. ", "Support"), ("The answer is Billing.", "Billing")],
)
def test_llm_strategy_reads_the_name_from_the_reply(
    graph_csv: Callable[..., Path], llm_server: LLMServer, reply: str, desk: str
) -> None:
    llm_server.reply(reply)
    path = desk_graph(graph_csv, {"strategy": "llm"})
    result = run_graph(path, {"message": "hm"}, config=llm_config(llm_server))
    assert result.summary.execution_path == ("Route", desk)


def test_an_invalid_model_choice_falls_back_to_the_default(
    graph_csv: Callable[..., Path], llm_server: LLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="agentmap.agent.Route")
    llm_server.reply("Sales")
    path = desk_graph(graph_csv, {"strategy": "llm", "default": "Other"})
    result = run_graph(path, {"message": "hm"}, config=llm_config(llm_server))
    assert result.summary.execution_path == ("Route", "Other")
    assert caplog.messages == ["the model's choice 'Sales' is not a candidate"]


def test_an_invalid_model_choice_without_a_default_is_a_node_failure(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Billing or Support", prompt_tokens=60, completion_tokens=3)
    path = desk_graph(graph_csv, {"strategy": "llm"})
    result = run_graph(path, {"message": "hm"}, config=llm_config(llm_server))
    assert result.summary.execution_path == ("Route", "Handle")
    assert result.final_state["handled"] == (
        "the model chose 'Billing or Support', which is not one of them (Billing, Support, "
        "Other) — declare Context default"
    )
    assert result.summary.node_results[0].usage == Usage(60, 3, None, "gpt-4o-mini")


def test_llm_strategy_on_anthropic_sends_the_options_as_the_system_prompt(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Billing")
    path = desk_graph(graph_csv, {"strategy": "llm", "provider": "anthropic"})
    result = run_graph(path, {"message": "invoice"}, config=llm_config(llm_server))
    assert result.summary.execution_path == ("Route", "Billing")
    assert llm_server.last_request.body["system"] == ROUTING


# --- AgentMap's orchestrator: every node a candidate, matching_strategy, confidence_threshold --


def open_router(graph_csv: Callable[..., Path], context: dict[str, Any] | None = None) -> Path:
    """An orchestrator with no routing cell (AgentMap's way): every other node is a candidate."""
    return graph_csv(
        row("Router", "orchestrator", failure="Handle", inputs="request", output="picked",
            context=context, description="Pick what to do"),
        row("GetDrink", "echo", inputs="request", output="result",
            prompt="Getting you a drink: {request}", description="Coffee, tea, juice or water"),
        row("GetFood", "echo", inputs="request", output="result",
            prompt="Getting you food: {request}", description="Sandwiches, soup and snacks"),
        row("Tally", "summary", inputs="picked", output="tally", description="Count the bill"),
        row("Handle", "echo", inputs="error", output="handled"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("request_text", "chosen"),
    [
        ("A cup of tea, please", "GetDrink"),
        ("Some soup", "GetFood"),
        ("Send me to tally", "Tally"),  # a node named in the request
    ],
)
def test_an_orchestrator_without_targets_chooses_among_every_other_node(
    graph_csv: Callable[..., Path], request_text: str, chosen: str
) -> None:
    path = open_router(graph_csv, {"matching_strategy": "algorithm"})
    report = validate_graph(path)  # every node is reachable: the orchestrator may pick any
    assert (report.ok, report.warnings) == (True, ())
    result = run_graph(path, {"request": request_text})
    assert result.summary.execution_path == ("Router", chosen)
    assert result.final_state["picked"] == chosen


def test_context_nodes_as_agentmaps_pipe_list_narrow_an_open_orchestrator(
    graph_csv: Callable[..., Path],
) -> None:
    path = open_router(graph_csv, {"nodes": "GetDrink|GetFood", "default_target": "GetFood"})
    result = run_graph(path, {"request": "Send me to tally"})
    assert result.summary.execution_path == ("Router", "GetFood")


def test_node_type_keeps_the_candidates_of_that_agent_type(
    graph_csv: Callable[..., Path],
) -> None:
    path = open_router(graph_csv, {"nodeType": "summary"})
    result = run_graph(path, {"request": "tea"})  # a single candidate: chosen without matching
    assert result.summary.execution_path == ("Router", "Tally")


def test_an_open_orchestrator_that_names_a_node_outside_the_graph_fails(
    graph_csv: Callable[..., Path],
) -> None:
    result = run_graph(open_router(graph_csv, {"nodes": ["GetDrink", "Bar"]}), {"request": "x"})
    assert result.final_state["handled"] == "Context nodes Bar are not nodes of this graph"


def test_tiered_takes_a_confident_keyword_choice_without_asking_the_model(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    context = {"matching_strategy": "tiered", "confidence_threshold": 0.5}
    path = desk_graph(graph_csv, context)
    result = run_graph(path, {"message": "refund invoice"}, config=llm_config(llm_server))
    assert result.summary.execution_path == ("Route", "Billing")  # 2 of 2 words matched
    assert llm_server.requests == []


def test_tiered_asks_the_model_when_the_keyword_choice_is_unsure(
    graph_csv: Callable[..., Path], llm_server: LLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agentmap.agent.Route")
    llm_server.reply("Support")
    path = desk_graph(graph_csv, {"matching_strategy": "tiered"})  # the threshold: 0.8
    message = "my refund page shows an error since monday"
    result = run_graph(path, {"message": message}, config=llm_config(llm_server))
    assert result.summary.execution_path == ("Route", "Support")
    assert llm_server.last_request.body["messages"][-1]["content"] == message
    assert "keyword choice None has confidence 0.00, below 0.8: asking the model" in caplog.messages


def test_a_request_naming_a_candidate_is_certain(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    path = desk_graph(graph_csv, {"matching_strategy": "tiered", "confidence_threshold": 1})
    result = run_graph(
        path, {"message": "Put me through to support"}, config=llm_config(llm_server)
    )
    assert result.summary.execution_path == ("Route", "Support")
    assert llm_server.requests == []


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("refund invoice", ("Billing", 1.0)),
        ("refund for my trip", ("Billing", 0.5)),  # refund matched; trip did not
        ("talk to support", ("Support", 1.0)),  # named
        ("opening hours", (None, 0.0)),
        ("refund crash", (None, 0.0)),  # a tie
    ],
)
def test_keyword_match_confidence(message: str, expected: tuple[str | None, float]) -> None:
    candidates = {
        "Billing": Node(name="Billing", agent_type="echo", description="Invoices and refunds"),
        "Support": Node(name="Support", agent_type="echo", description="Crashes and errors"),
    }
    assert keyword_match(message, candidates) == expected


# --- summary -------------------------------------------------------------------------------


def summary_graph(
    graph_csv: Callable[..., Path], context: dict[str, Any], prompt: str = ""
) -> Path:
    return graph_csv(
        row(
            "Sum",
            "summary",
            failure="Handle",
            inputs="desk|answer",
            output="summary",
            prompt=prompt,
            context=context,
        ),
        row("Handle", "echo", inputs="error", output="handled"),
    )


STATE = {"desk": "Billing", "answer": "I have refunded the second charge."}


def test_summary_fills_its_template_from_the_inputs(graph_csv: Callable[..., Path]) -> None:
    result = run_graph(summary_graph(graph_csv, {"template": "[{desk}] {answer}"}), STATE)
    assert result.final_state["summary"] == "[Billing] I have refunded the second charge."


def test_summary_joins_its_inputs_with_the_separator(graph_csv: Callable[..., Path]) -> None:
    result = run_graph(summary_graph(graph_csv, {"separator": " / "}), STATE)
    assert result.final_state["summary"] == "Billing / I have refunded the second charge."


def test_summary_joins_with_a_blank_line_by_default_and_writes_values_as_json(
    graph_csv: Callable[..., Path],
) -> None:
    state = {"desk": ["Billing", "Support"], "answer": None}
    result = run_graph(summary_graph(graph_csv, {}), state)
    assert result.final_state["summary"] == '["Billing", "Support"]'
    result = run_graph(summary_graph(graph_csv, {}), STATE)
    assert result.final_state["summary"] == "Billing\n\nI have refunded the second charge."


def test_summary_llm_strategy_asks_the_model_to_summarise(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Refund issued.", prompt_tokens=30, completion_tokens=2)
    path = summary_graph(graph_csv, {"strategy": "llm", "separator": "\n"})
    result = run_graph(path, STATE, config=llm_config(llm_server))
    assert result.final_state["summary"] == "Refund issued."
    assert llm_server.last_request.body["messages"] == [
        {
            "role": "user",
            "content": f"{DEFAULT_INSTRUCTION}\n\nBilling\nI have refunded the second charge.",
        }
    ]
    assert result.summary.usage == Usage(30, 2, None, "gpt-4o-mini")


def test_summary_llm_strategy_uses_the_prompt_as_the_instruction(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    context = {"strategy": "llm", "template": "{answer}", "provider": "anthropic"}
    path = summary_graph(graph_csv, context, prompt="Say in three words what {desk} did:")
    run_graph(path, STATE, config=llm_config(llm_server))
    assert llm_server.last_request.body["messages"] == [
        {
            "role": "user",
            "content": "Say in three words what Billing did:\n\nI have refunded the second charge.",
        }
    ]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"template": "{answer"},
            "Context template '{answer' can't be filled (expected '}' before end of string) — "
            "use {field} placeholders, and {{ }} for literal braces",
        ),
        ({"template": 3}, "Context template must be text, not 3"),
        ({"separator": 3}, "Context separator must be text, not 3"),
        ({"strategy": "vote"}, "Context strategy must be one of join, llm: 'vote'"),
    ],
)
def test_bad_summary_settings_are_node_failures(
    graph_csv: Callable[..., Path], context: dict[str, Any], message: str
) -> None:
    result = run_graph(summary_graph(graph_csv, context), STATE)
    assert result.final_state["handled"] == message
