"""YAML and JSON graph files: the same graphs as CSV, text kept as written, problems at line+key."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from agentmap.agents.catalog import AgentCatalog
from agentmap.exceptions import GraphFileError, Problem
from agentmap.functions import FunctionCatalog
from agentmap.graph import yaml_reader
from agentmap.graph.loader import read_graph_file
from agentmap.graph.model import Graph, GraphFile, Node
from agentmap.graph.schema import graph_json_schema
from agentmap.graph.validation import check_graph
from agentmap.graph.yaml_reader import NODE_KEYS, read_structured_graphs
from agentmap.graph.yaml_writer import dump_structured
from agentmap.prompts import PromptCatalog

WriteFile = Callable[..., Path]
Format = Literal["yaml", "json"]
Place = tuple[int | None, str | None, str | None, str]

HELLO_CSV = """\
GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,Prompt,Context,Description
Hello,Start,echo,Respond,,,input,echoed,,,Echo the input back
Hello,Respond,default,,,,echoed|user:name,response,Say hello to {name},"{""tone"": ""warm""}",
Triage,Classify,classify,,Billing,Other,message,category|score,,model=gpt-4o; temperature=0.2,
Triage,Billing,default,,,,message,reply,Answer a billing question,,
Triage,Other,default,,,,,,,Route to a human,
"""

HELLO_YAML = """\
graphs:
  Hello:
    nodes:
      - name: Start
        agent_type: echo
        edge: Respond
        inputs: [input]
        output: echoed
        description: Echo the input back
      - name: Respond
        inputs: [echoed, "user:name"]
        output: response
        prompt: Say hello to {name}
        context: {tone: warm}
  Triage:
    nodes:
      - name: Classify
        agent_type: classify
        success_next: Billing
        failure_next: Other
        inputs: message
        output: [category, score]
        context: model=gpt-4o; temperature=0.2
      - name: Billing
        inputs:
          - message
        output: reply
        prompt: Answer a billing question
      - name: Other
        context: Route to a human
"""

HELLO_JSON = """\
{
  "$schema": "agentmap-graph.schema.json",
  "graphs": {
    "Hello": {"nodes": [
      {"name": "Start", "agent_type": "echo", "edge": "Respond", "inputs": ["input"],
       "output": "echoed", "description": "Echo the input back"},
      {"name": "Respond", "inputs": "echoed|user:name", "output": "response",
       "prompt": "Say hello to {name}", "context": {"tone": "warm"}}
    ]},
    "Triage": {"nodes": [
      {"name": "Classify", "agent_type": "classify", "success_next": "Billing",
       "failure_next": "Other", "inputs": ["message"], "output": "category|score",
       "context": "model=gpt-4o; temperature=0.2"},
      {"name": "Billing", "inputs": ["message"], "output": ["reply"],
       "prompt": "Answer a billing question"},
      {"name": "Other", "context": "Route to a human"}
    ]}
  }
}
"""


def read(path: Path) -> tuple[GraphFile, list[Problem]]:
    """Read as the CLI would show it: problems name the file as ``path.name``."""
    return read_structured_graphs(path, path.name)


def graphs_of(graph_file: GraphFile) -> list[tuple[str, str, list[tuple[str, Node]]]]:
    """What makes two graph files the same graphs: names, entries, nodes in order."""
    return [(name, g.entry, list(g.nodes.items())) for name, g in graph_file.graphs.items()]


def places(problems: list[Problem]) -> list[Place]:
    return [(p.row, p.cell, p.field, p.message) for p in problems]


def only_node(write_file: WriteFile, node_yaml: str, name: str = "flow.yaml") -> Node:
    """The single node of a one-node YAML graph written from ``node_yaml`` (its keys)."""
    body = textwrap.indent(textwrap.dedent(node_yaml).strip(), " " * 8)
    graph_file, problems = read(
        write_file(name, f"graphs:\n  Main:\n    nodes:\n      - {body.lstrip()}\n")
    )
    assert problems == []
    return graph_file.graphs["Main"].nodes[next(iter(graph_file.graphs["Main"].nodes))]


def problems_of(write_file: WriteFile, text: str, name: str = "flow.yaml") -> list[Place]:
    return places(read(write_file(name, text))[1])


# --- one graph model, whichever format ------------------------------------------------------


@pytest.mark.parametrize(("name", "text"), [("flow.yaml", HELLO_YAML), ("flow.json", HELLO_JSON)])
def test_yaml_and_json_read_the_same_graphs_as_the_equivalent_csv(
    write_file: WriteFile, name: str, text: str
) -> None:
    from_csv, csv_problems = read_graph_file(write_file("flow.csv", HELLO_CSV))

    from_file, problems = read(write_file(name, text))

    assert (problems, csv_problems) == ([], [])
    assert graphs_of(from_file) == graphs_of(from_csv)


def test_several_graphs_keep_the_order_written_and_start_at_their_first_node(
    write_file: WriteFile,
) -> None:
    graph_file, _ = read(write_file("flow.yaml", HELLO_YAML))

    assert [(name, g.entry) for name, g in graph_file.graphs.items()] == [
        ("Hello", "Start"),
        ("Triage", "Classify"),
    ]


def test_yml_suffix_reads_as_yaml(write_file: WriteFile) -> None:
    graph_file, problems = read(write_file("flow.yml", HELLO_YAML))

    assert (problems, list(graph_file.graphs)) == ([], ["Hello", "Triage"])


def test_graph_knows_its_file_and_each_node_its_line(write_file: WriteFile) -> None:
    graph = read(write_file("flow.yaml", HELLO_YAML))[0].graphs["Triage"]

    assert graph.file == "flow.yaml"
    assert [node.row for node in graph.nodes.values()] == [17, 24, 29]


def test_json_nodes_know_their_line(write_file: WriteFile) -> None:
    graph = read(write_file("flow.json", HELLO_JSON))[0].graphs["Triage"]

    assert [node.row for node in graph.nodes.values()] == [11, 14, 16]


def test_node_with_only_a_name_gets_the_defaults(write_file: WriteFile) -> None:
    assert only_node(write_file, "name: Lonely") == Node(name="Lonely")


def test_csv_column_spellings_are_accepted_as_keys(write_file: WriteFile) -> None:
    node = only_node(
        write_file,
        """
        Node: Start
        AgentType: echo
        Success_Next: Done
        on_failure: Oops
        Input_Fields: a|b:c
        Output_Field: out
        """,
    )

    assert node == Node(
        name="Start",
        agent_type="echo",
        success_next="Done",
        failure_next="Oops",
        inputs=(("a", "a"), ("b", "c")),
        outputs=("out",),
    )


# --- every value is the text written --------------------------------------------------------


YAML_TEXT_VALUES = ["NA", "null", "~", "yes", "no", "on", "0", "007", "1.50", "0x1F", "1e3"]


@pytest.mark.parametrize("value", [*YAML_TEXT_VALUES, "2024-01-01", "12:30:00"])
@pytest.mark.parametrize("key", ["prompt", "description", "context", "agent_type", "edge"])
def test_yaml_scalars_stay_the_text_written(write_file: WriteFile, key: str, value: str) -> None:
    node = only_node(write_file, f"name: Start\n{key}: {value}")

    assert getattr(node, key) == value


@pytest.mark.parametrize("value", YAML_TEXT_VALUES)
def test_yaml_names_and_fields_stay_the_text_written(write_file: WriteFile, value: str) -> None:
    graph_file, problems = read(
        write_file(
            "flow.yaml",
            f"graphs:\n  {value}:\n    nodes:\n"
            f"      - {{name: {value}, inputs: [{value}], output: {value}}}\n",
        )
    )

    assert problems == []
    node = graph_file.graphs[value].nodes[value]
    assert (node.inputs, node.outputs) == (((value, value),), (value,))


@pytest.mark.parametrize(
    ("written", "text"),
    [("0", "0"), ("1.50", "1.50"), ("1e3", "1e3"), ("true", "true"), ("null", "null")],
)
def test_json_numbers_and_literals_become_their_json_text(
    write_file: WriteFile, written: str, text: str
) -> None:
    graph_file, problems = read(
        write_file(
            "flow.json",
            f'{{"graphs": {{"G": {{"nodes": [{{"name": {written}, "prompt": {written}, '
            f'"context": {{"n": {written}}}}}]}}}}}}',
        )
    )

    assert problems == []
    node = graph_file.graphs["G"].nodes[text]
    assert (node.prompt, node.context) == (text, {"n": text})


def test_prompt_and_description_are_kept_verbatim_but_names_are_stripped(
    write_file: WriteFile,
) -> None:
    node = only_node(
        write_file, 'name: " Start "\nedge: " End "\nprompt: "  two  "\ndescription: " d "'
    )

    assert (node.name, node.edge, node.prompt, node.description) == (
        "Start",
        "End",
        "  two  ",
        " d ",
    )


def test_multiline_prompt_keeps_its_lines(write_file: WriteFile) -> None:
    node = only_node(write_file, "name: Start\nprompt: |\n  Line one\n    indented\n  Line three")

    assert node.prompt == "Line one\n  indented\nLine three\n"


def test_empty_values_mean_not_set(write_file: WriteFile) -> None:
    node = only_node(write_file, "name: Start\nagent_type:\nedge:\ninputs:\ncontext:\nprompt:")

    assert node == Node(name="Start")


# --- inputs, output and context --------------------------------------------------------------


@pytest.mark.parametrize(
    "inputs",
    ['[input, "user:name"]', "[input, user:name]", "input|user:name", "\n  - input\n  - user:name"],
    ids=["flow-list-quoted", "flow-list-plain", "pipe-text", "block-list"],
)
def test_inputs_as_a_list_or_pipe_text_give_the_same_pairs(
    write_file: WriteFile, inputs: str
) -> None:
    node = only_node(write_file, f"name: Start\ninputs: {inputs}")

    assert node.inputs == (("input", "input"), ("user", "name"))


@pytest.mark.parametrize("output", ["[a, b]", "a|b", "\n  - a\n  - b"])
def test_output_as_a_list_or_pipe_text(write_file: WriteFile, output: str) -> None:
    assert only_node(write_file, f"name: Start\noutput: {output}").outputs == ("a", "b")


def test_context_mapping_becomes_a_dict_of_text(write_file: WriteFile) -> None:
    node = only_node(
        write_file, "name: Start\ncontext:\n  retries: 3\n  strict: yes\n  tags: [a, 0]\n"
    )

    assert node.context == {"retries": "3", "strict": "yes", "tags": ["a", "0"]}


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ('\'{"retries": 3, "strict": true}\'', {"retries": 3, "strict": True}),
        ("model=gpt-4o; temperature=0.2", {"model": "gpt-4o", "temperature": "0.2"}),
        ("Route to a human", "Route to a human"),
    ],
    ids=["json-text", "key-value-text", "plain-text"],
)
def test_context_text_means_what_a_csv_context_cell_means(
    write_file: WriteFile, context: str, expected: Any
) -> None:
    assert only_node(write_file, f"name: Start\ncontext: {context}").context == expected


def test_anchors_and_aliases_share_a_value(write_file: WriteFile) -> None:
    graph_file, problems = read(
        write_file(
            "flow.yaml",
            """
            graphs:
              Main:
                nodes:
                  - name: A
                    context: &shared {model: small}
                  - name: B
                    context: *shared
            """,
        )
    )

    assert problems == []
    assert [n.context for n in graph_file.graphs["Main"].nodes.values()] == [
        {"model": "small"},
        {"model": "small"},
    ]


# --- bad input: every problem, at its line and key --------------------------------------------

NODE_RULES = [
    pytest.param(
        "name: Start\nsucess_next: End",
        (
            5,
            "graphs.Main.nodes[0].sucess_next",
            None,
            "unknown key 'sucess_next' — did you mean 'success_next'?",
        ),
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        "name: Start\nwhatever: 1",
        (
            5,
            "graphs.Main.nodes[0].whatever",
            None,
            "unknown key 'whatever' — use one of: name, agent_type, edge, success_next, "
            "failure_next, inputs, output, prompt, context, description, tool_source, "
            "available_tools",
        ),
        id="unknown-key-lists-the-keys",
    ),
    pytest.param(
        "name: Start\ngraph: Other",
        (
            5,
            "graphs.Main.nodes[0].graph",
            None,
            "unknown key 'graph' — use one of: name, agent_type, edge, success_next, "
            "failure_next, inputs, output, prompt, context, description, tool_source, "
            "available_tools",
        ),
        id="graph-is-not-a-node-key",
    ),
    pytest.param(
        "name: Start\nedge: End\nedge: Other",
        (
            6,
            "graphs.Main.nodes[0].edge",
            None,
            "'edge' is written twice (lines 5 and 6) — keep one",
        ),
        id="key-written-twice",
    ),
    pytest.param(
        "name: Start\nedge: End\nnext: Other",
        (
            6,
            "graphs.Main.nodes[0].next",
            "Edge",
            "two keys mean Edge: 'edge' (line 5) and 'next' — keep one",
        ),
        id="two-spellings-of-one-key",
    ),
    pytest.param(
        "agent_type: echo",
        (4, "graphs.Main.nodes[0]", "Node", "the node has no name — add 'name: ...'"),
        id="no-name",
    ),
    pytest.param(
        "name: ''",
        (4, "graphs.Main.nodes[0].name", "Node", "name is empty — give the node a name"),
        id="empty-name",
    ),
    pytest.param(
        "name: Start\nsuccess_next: [A, B]",
        (
            5,
            "graphs.Main.nodes[0].success_next",
            "Success_Next",
            "success_next holds a list — write it as text",
        ),
        id="route-is-a-list",
    ),
    pytest.param(
        "name: Start\ninputs: 'a|:b'",
        (
            5,
            "graphs.Main.nodes[0].inputs",
            "Input_Fields",
            "':b' is not 'state_key' or 'state_key:param' — write both sides of the ':'",
        ),
        id="input-without-key",
    ),
    pytest.param(
        "name: Start\ninputs: [a, 'x:a']",
        (
            5,
            "graphs.Main.nodes[0].inputs",
            "Input_Fields",
            "the agent would receive 'a' twice — list it once",
        ),
        id="input-param-twice",
    ),
    pytest.param(
        "name: Start\ninputs:\n  - a\n  - {b: c}",
        (
            7,
            "graphs.Main.nodes[0].inputs[1]",
            "Input_Fields",
            "item 1 of inputs is a mapping — each item is a state key, or state_key:param",
        ),
        id="input-item-is-a-mapping",
    ),
    pytest.param(
        "name: Start\ninputs: {a: b}",
        (
            5,
            "graphs.Main.nodes[0].inputs",
            "Input_Fields",
            'inputs holds a mapping — write a list like [a, "user:name"] or text like a|user:name',
        ),
        id="inputs-is-a-mapping",
    ),
    pytest.param(
        "name: Start\noutput: [a, a]",
        (
            5,
            "graphs.Main.nodes[0].output",
            "Output_Field",
            "output key 'a' is listed twice — list it once",
        ),
        id="output-twice",
    ),
    pytest.param(
        "name: Start\ncontext: '{bad'",
        (
            5,
            "graphs.Main.nodes[0].context",
            "Context",
            "Context starts with '{' but is not valid JSON (Expecting property name enclosed in "
            'double quotes at character 2) — fix the JSON, e.g. {"key": "value"}',
        ),
        id="context-bad-json-text",
    ),
    pytest.param(
        "name: Start\ncontext: [a, b]",
        (
            5,
            "graphs.Main.nodes[0].context",
            "Context",
            "context holds a list — write a mapping (key: value lines) or text",
        ),
        id="context-is-a-list",
    ),
    pytest.param(
        "name: Start\nprompt: {a: b}",
        (5, "graphs.Main.nodes[0].prompt", "Prompt", "prompt holds a mapping — write it as text"),
        id="prompt-is-a-mapping",
    ),
]


@pytest.mark.parametrize(("node_yaml", "expected"), NODE_RULES)
def test_each_node_rule_reports_one_problem_at_its_line_and_key(
    write_file: WriteFile, node_yaml: str, expected: Place
) -> None:
    body = textwrap.indent(node_yaml, " " * 8).lstrip()
    text = f"graphs:\n  Main:\n    nodes:\n      - {body}\n"

    assert problems_of(write_file, text) == [expected]


FILE_RULES = [
    pytest.param(
        "",
        [(None, None, None, "the file is empty — start it with 'graphs:' and a graph's nodes")],
        id="empty",
    ),
    pytest.param(
        "- name: Start\n",
        [
            (
                1,
                None,
                None,
                "the file holds a list, but a graph file is a mapping with a 'graphs' key — start "
                "it with 'graphs:'",
            )
        ],
        id="a-list",
    ),
    pytest.param(
        "graph:\n  Main: {nodes: [{name: A}]}\n",
        [
            (1, "graph", None, "unknown key 'graph' — did you mean 'graphs'?"),
            (1, None, None, "no 'graphs' key — put your graphs under 'graphs:'"),
        ],
        id="misspelt-graphs",
    ),
    pytest.param(
        "graphs:\n",
        [
            (
                1,
                "graphs",
                None,
                "'graphs' holds no graphs — write each graph's name under it, with its nodes",
            )
        ],
        id="no-graphs",
    ),
    pytest.param(
        "graphs:\n  Main:\n    node: [{name: A}]\n",
        [
            (3, "graphs.Main.node", None, "unknown key 'node' — did you mean 'nodes'?"),
            (
                2,
                "graphs.Main",
                None,
                "graph 'Main' has no nodes — list them under 'nodes:', one '- name: ...' each",
            ),
        ],
        id="misspelt-nodes",
    ),
    pytest.param(
        "graphs:\n  Main:\n    nodes: []\n",
        [
            (
                3,
                "graphs.Main.nodes",
                None,
                "graph 'Main' has no nodes — list them under 'nodes:', one '- name: ...' each",
            )
        ],
        id="empty-nodes",
    ),
    pytest.param(
        "graphs:\n  Main: [{name: A}]\n",
        [(2, "graphs.Main", None, "graph 'Main' holds a list — give it a 'nodes:' list")],
        id="graph-is-a-list",
    ),
    pytest.param(
        "graphs:\n  '': {nodes: [{name: A}]}\n",
        [(2, 'graphs[""]', "GraphName", "the graph's name is empty — name the graph")],
        id="empty-graph-name",
    ),
    pytest.param(
        "graphs:\n  Main:\n    nodes:\n      - just text\n",
        [
            (
                4,
                "graphs.Main.nodes[0]",
                None,
                "a node is the text 'just text' — write it as a mapping: '- name: ...' with its "
                "keys below",
            )
        ],
        id="node-is-text",
    ),
]


@pytest.mark.parametrize(("text", "expected"), FILE_RULES)
def test_each_file_rule_reports_its_problems(
    write_file: WriteFile, text: str, expected: list[Place]
) -> None:
    graph_file, problems = read(write_file("flow.yaml", text))

    assert sorted(places(problems), key=str) == sorted(expected, key=str)
    assert graph_file.graphs == {}


def test_a_graph_written_twice_keeps_the_first(write_file: WriteFile) -> None:
    text = "graphs:\n  Main: {nodes: [{name: A}]}\n  Main: {nodes: [{name: B}]}\n"
    graph_file, problems = read(write_file("flow.yaml", text))

    assert places(problems) == [
        (3, "graphs.Main", None, "'Main' is written twice (lines 2 and 3) — keep one")
    ]
    assert list(graph_file.graphs["Main"].nodes) == ["A"]


def test_duplicate_node_names_both_places(write_file: WriteFile) -> None:
    text = """
        graphs:
          Main:
            nodes:
              - name: Start
                edge: End
              - name: End
              - name: Start
        """
    graph_file, problems = read(write_file("flow.yaml", text))

    assert places(problems) == [
        (
            7,
            "graphs.Main.nodes[2]",
            "Node",
            "node 'Start' is defined twice in graph 'Main' (graphs.Main.nodes[0] on line 4 and "
            "graphs.Main.nodes[2] on line 7) — rename or delete one of them",
        )
    ]
    assert list(graph_file.graphs["Main"].nodes) == ["Start", "End"]
    assert graph_file.graphs["Main"].nodes["Start"].edge == "End"


def test_problem_reads_file_line_key_path_field_then_message(write_file: WriteFile) -> None:
    text = """
        graphs:
          Hello:
            nodes:
              - name: A
                edge: B
              - name: B
                edge: C
              - name: C
                edge: D
              - name: D
                agent_type: echo
                description: the fourth node,
                  whose description runs on
                success_next: [E, F]
        """
    _, problems = read(write_file("flow.yaml", text))

    assert [str(p) for p in problems] == [
        "flow.yaml:14 graphs.Hello.nodes[3].success_next Success_Next: success_next holds a "
        "list — write it as text"
    ]
    assert (problems[0].graph, problems[0].node) == ("Hello", "D")


def test_all_problems_of_a_file_are_reported_in_line_order(write_file: WriteFile) -> None:
    text = """
        graphs:
          Main:
            nodes:
              - name: A
                colour: red
              - agent_type: echo
          Other:
            nodes:
              - name: B
                inputs: [x, 'y:x']
        """
    assert [(row, cell) for row, cell, _, _ in problems_of(write_file, text)] == [
        (5, "graphs.Main.nodes[0].colour"),
        (6, "graphs.Main.nodes[1]"),
        (10, "graphs.Other.nodes[0].inputs"),
    ]


def test_keys_that_are_not_plain_words_are_quoted_in_the_path(write_file: WriteFile) -> None:
    text = "graphs:\n  My Flow:\n    nodes:\n      - name: A\n        Sucess Next: B\n"

    assert problems_of(write_file, text) == [
        (
            5,
            'graphs["My Flow"].nodes[0]["Sucess Next"]',
            None,
            "unknown key 'Sucess Next' — did you mean 'success_next'?",
        )
    ]


def test_json_problems_name_their_line_and_key(write_file: WriteFile) -> None:
    text = """
        {"graphs": {"Main": {"nodes": [
          {"name": "A",
           "sucess_next": "B"},
          {"name": "B", "name": "C"}
        ]}}}
        """
    assert problems_of(write_file, text, "flow.json") == [
        (
            3,
            "graphs.Main.nodes[0].sucess_next",
            None,
            "unknown key 'sucess_next' — did you mean 'success_next'?",
        ),
        (
            4,
            "graphs.Main.nodes[1].name",
            None,
            "'name' is written twice (lines 4 and 4) — keep one",
        ),
    ]


def test_semantic_validation_points_at_the_nodes_line(write_file: WriteFile) -> None:
    text = "graphs:\n  Main:\n    nodes:\n      - {name: A, agent_type: echo, edge: Nowhere}\n"
    graph = read(write_file("flow.yaml", text))[0].graphs["Main"]

    problems = check_graph(graph, AgentCatalog(), FunctionCatalog(), PromptCatalog())

    assert [(p.file, p.row, p.field, p.message) for p in problems] == [
        ("flow.yaml", 4, "Edge", "no node named 'Nowhere' in graph 'Main'")
    ]


# --- files that aren't YAML / JSON at all -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "graphs:\n  Main:\n    nodes:\n      - name: Start\n        edge: [End\n      - name: "
            "End\n",
            (
                6,
                "not valid YAML: while parsing a flow sequence (line 5), did not find expected "
                "',' or ']' at column 13 — check the indentation, quotes and colons there",
            ),
        ),
        (
            "graphs:\n  Main:\n    nodes:\n\t- name: Start\n",
            (
                4,
                "not valid YAML: while scanning for the next token (line 4), found character that "
                "cannot start any token at column 1 — indent with spaces: YAML does not allow "
                "tabs there",
            ),
        ),
        (
            "graphs: {}\n---\ngraphs: {}\n",
            (
                2,
                "a second YAML document starts here — keep every graph in one document under "
                "'graphs:'",
            ),
        ),
        (
            "graphs:\n  Main:\n    nodes:\n      - name: A\n        context: *nope\n",
            (5, "*nope refers to no anchor &nope written before it"),
        ),
    ],
    ids=["unclosed-bracket", "tab-indent", "two-documents", "unknown-alias"],
)
def test_malformed_yaml_is_one_problem_at_its_line(
    write_file: WriteFile, text: str, expected: tuple[int, str]
) -> None:
    graph_file, problems = read(write_file("flow.yaml", text))

    assert ([(p.file, p.row, p.message) for p in problems], graph_file.graphs) == (
        [("flow.yaml", *expected)],
        {},
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"graphs": {"Main": {"nodes": [\n  {"name": "Start",}\n]}}}\n',
            (
                2,
                "not valid JSON: Expecting property name enclosed in double quotes at column 20 — "
                "check the commas, quotes and brackets there",
            ),
        ),
        (
            '{"graphs": {"Main": {"nodes": [\n  {"name": "Start"\n]}}}\n',
            (
                3,
                "not valid JSON: Expecting ',' delimiter at column 1 — check the commas, quotes "
                "and brackets there",
            ),
        ),
        (
            "graphs:\n  Main: {}\n",
            (
                1,
                "not valid JSON: Expecting value at column 1 — check the commas, quotes and "
                "brackets there",
            ),
        ),
    ],
    ids=["trailing-comma", "unclosed-object", "yaml-in-a-json-file"],
)
def test_malformed_json_is_one_problem_at_its_line(
    write_file: WriteFile, text: str, expected: tuple[int, str]
) -> None:
    graph_file, problems = read(write_file("flow.json", text))

    assert ([(p.row, p.message) for p in problems], graph_file.graphs) == ([expected], {})


def test_a_file_that_is_not_utf8_is_a_file_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_bytes("graphs:\n  Main:\n    nodes:\n      - name: Caf\xe9\n".encode("latin-1"))

    with pytest.raises(GraphFileError) as caught:
        read(path)

    assert (caught.value.row, caught.value.message) == (
        4,
        "flow.yaml:4: the file is not UTF-8 text (byte 0xe9 at offset 44) — save it as UTF-8 in "
        "your editor",
    )


def test_a_missing_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(GraphFileError, match="no such file — check the path"):
        read(tmp_path / "missing.yaml")


@pytest.mark.parametrize("name", ["flow.yaml", "flow.json"])
def test_a_byte_order_mark_is_allowed(write_file: WriteFile, name: str) -> None:
    text = HELLO_YAML if name.endswith("yaml") else HELLO_JSON
    graph_file, problems = read(write_file(name, text, encoding="utf-8-sig"))

    assert (problems, list(graph_file.graphs)) == ([], ["Hello", "Triage"])


def test_crlf_line_endings_read_like_lf(write_file: WriteFile) -> None:
    crlf, _ = read(write_file("crlf.yaml", HELLO_YAML, newline="\r\n"))
    lf, _ = read(write_file("lf.yaml", HELLO_YAML))

    assert graphs_of(crlf) == graphs_of(lf)
    assert crlf.graphs["Hello"].nodes["Respond"].row == 10


# --- the JSON Schema ---------------------------------------------------------------------------

jsonschema = pytest.importorskip("jsonschema")


def as_an_editor_reads(text: str) -> Any:
    """YAML data as yaml-language-server sees it (YAML 1.2: dates are plain strings)."""
    data = yaml.safe_load(text)
    return json.loads(json.dumps(data, default=lambda v: v.isoformat()))


DOC_EXAMPLE = textwrap.dedent((yaml_reader.__doc__ or "").split("::\n", 1)[1].split("\n\n", 1)[0])
VALID_EXAMPLES = {
    "hello": HELLO_YAML,
    "module-docstring": DOC_EXAMPLE,
    "text-values": "graphs:\n  '0':\n    nodes:\n"
    "      - {name: 0, prompt: yes, edge: null, description: 2024-01-01}\n",
    "csv-round-trip": dump_structured(
        GraphFile(
            path="x",
            graphs={
                "G": Graph(
                    name="G",
                    nodes={"A": Node(name="A", inputs=(("a", "b"),), context={"n": 1})},
                    entry="A",
                )
            },
        ),
        "yaml",
    ),
}


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(graph_json_schema())


def test_the_schema_describes_exactly_the_node_keys_the_reader_knows() -> None:
    node = graph_json_schema()["$defs"]["node"]["properties"]

    assert list(node) == list(NODE_KEYS.values())
    assert all(spec["description"] for spec in node.values())


@pytest.mark.parametrize("name", VALID_EXAMPLES)
def test_every_valid_example_passes_the_schema_and_the_reader(
    write_file: WriteFile, name: str
) -> None:
    text = VALID_EXAMPLES[name]

    jsonschema.validate(as_an_editor_reads(text), graph_json_schema())
    assert read(write_file("flow.yaml", text))[1] == []


def test_the_json_example_passes_the_schema() -> None:
    jsonschema.validate(json.loads(HELLO_JSON), graph_json_schema())


@pytest.mark.parametrize(
    "node",
    ["{name: A, sucess_next: B}", "{agent_type: echo}", "{name: A, inputs: {a: b}}"],
    ids=["unknown-key", "no-name", "inputs-mapping"],
)
def test_the_schema_rejects_what_the_reader_rejects(write_file: WriteFile, node: str) -> None:
    text = f"graphs:\n  Main:\n    nodes:\n      - {node}\n"

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(as_an_editor_reads(text), graph_json_schema())
    assert read(write_file("flow.yaml", text))[1] != []


# --- writing, and reading back -------------------------------------------------------------------


def test_yaml_writer_output_is_the_documented_shape() -> None:
    graph_file = GraphFile(
        path="x",
        graphs={
            "Hello": Graph(
                name="Hello",
                entry="Start",
                nodes={
                    "Start": Node(
                        name="Start",
                        agent_type="echo",
                        edge="Respond",
                        inputs=(("input", "input"),),
                        outputs=("echoed",),
                    ),
                    "Respond": Node(
                        name="Respond",
                        inputs=(("echoed", "echoed"), ("user", "name")),
                        outputs=("a", "b"),
                        prompt="Say hello\nto {name}\n",
                        context={"tone": "warm", "retries": 2},
                        description="yes",
                    ),
                },
            )
        },
    )

    assert dump_structured(graph_file, "yaml") == textwrap.dedent(
        """\
        graphs:
          Hello:
            nodes:
              - name: Start
                agent_type: echo
                edge: Respond
                inputs: [input]
                output: echoed
              - name: Respond
                agent_type: default
                inputs: [echoed, 'user:name']
                output: [a, b]
                prompt: |
                  Say hello
                  to {name}
                context: '{"tone": "warm", "retries": 2}'
                description: 'yes'
        """
    )


def example_graph_files() -> list[Path]:
    return sorted((Path(__file__).resolve().parent.parent / "graphs").glob("*.csv"))


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("csv", example_graph_files(), ids=lambda p: p.name)
def test_every_example_csv_round_trips_through_yaml_and_json(
    tmp_path: Path, csv: Path, fmt: Format
) -> None:
    original, problems = read_graph_file(csv)
    assert problems == [] and original.graphs
    path = tmp_path / f"{csv.stem}.{fmt}"
    path.write_text(dump_structured(original, fmt), encoding="utf-8")

    back, problems = read(path)

    assert problems == []
    assert graphs_of(back) == graphs_of(original)


HARD_TEXT = [
    "",
    " ",
    "  lead",
    "trail  ",
    "yes",
    "~",
    "null",
    "0x1F",
    "2024-01-01",
    "#x",
    "a #b",
    "'q'",
    '"dq"',
    "- x",
    "? x",
    ": x",
    "a: b",
    "{x}",
    "[x]",
    "*a",
    "&a",
    "!tag",
    "%",
    "@",
    "|",
    ">",
    "\n",
    "a\n",
    "a\n\n",
    "\na",
    " a\nb",
    "a \nb",
    "a\r\nb",
    "a\rb",
    "tab\there",
    "x\x85y",
    "x\u2028y",
    "😀",
    "\ufeffbom",
    "back\\slash",
    "line1\n  indented\n",
    "\t\tstart",
    "a\x07b",
]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("text", HARD_TEXT, ids=repr)
def test_any_text_round_trips_exactly(tmp_path: Path, fmt: Format, text: str) -> None:
    node = Node(name="N", prompt=text, description=text)
    original = GraphFile(path="x", graphs={"G": Graph(name="G", nodes={"N": node}, entry="N")})
    path = tmp_path / f"flow.{fmt}"
    path.write_text(dump_structured(original, fmt), encoding="utf-8")

    back, problems = read(path)

    assert (problems, graphs_of(back)) == ([], graphs_of(original))


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize(
    "context",
    [
        {"retries": 3, "strict": True, "none": None, "ratio": 0.5},
        {"a": {"b": ["c", "d"]}},
        {},
        "text",
    ],
    ids=["typed-values", "nested-text", "empty", "plain-text"],
)
def test_context_round_trips_with_its_types(tmp_path: Path, fmt: Format, context: Any) -> None:
    node = Node(name="N", context=context)
    original = GraphFile(path="x", graphs={"G": Graph(name="G", nodes={"N": node}, entry="N")})
    path = tmp_path / f"flow.{fmt}"
    path.write_text(dump_structured(original, fmt), encoding="utf-8")

    back, _ = read(path)

    assert back.graphs["G"].nodes["N"].context == context


def test_dates_written_by_the_yaml_writer_stay_text_for_other_yaml_tools() -> None:
    node = Node(name="2024-01-01", prompt="0", description="yes")
    graph_file = GraphFile(
        path="x", graphs={"G": Graph(name="G", nodes={node.name: node}, entry=node.name)}
    )

    data = yaml.safe_load(dump_structured(graph_file, "yaml"))

    assert data["graphs"]["G"]["nodes"] == [
        {"name": "2024-01-01", "agent_type": "default", "prompt": "0", "description": "yes"}
    ]
