"""Input that used to lose rows, hang, fill memory, take minutes or end in an internal error
(issue 10): a quote left open, FIFOs, devices and huge files, cells of many keys and long
chains of subgraphs, lone surrogates — and, to find what these cases missed, arbitrary bytes,
text and nested JSON fed to every reader, ``--state`` and the config loader."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agentmap import run_graph
from agentmap.batch import read_rows
from agentmap.cli.run import parse_state
from agentmap.config import load_settings
from agentmap.container import build_container
from agentmap.exceptions import AgentMapError, GraphFileError, JobError, StateError
from agentmap.graph.loader import GraphLoader, read_graph_file
from agentmap.graph.subgraphs import MAX_DEPTH
from agentmap.userfiles import read_user_file
from helpers import clean_env

AGENTMAP = Path(sys.executable).parent / "agentmap"
HEADER = "GraphName,Node,AgentType,Edge,Prompt\n"
FULL_HEADER = (
    "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,"
    "Prompt,Context,Description\n"
)
NOTHING_RUN = "1 error; nothing was run.\n"


def agentmap(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``agentmap ARGS`` as a user runs it; a read that blocks fails the test after a minute
    instead of hanging it."""
    return subprocess.run(
        [str(AGENTMAP), *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def bad_input(result: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 2, nothing on stdout, and exactly ``message`` as the one error line."""
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


# --- 1. a quote left open ---------------------------------------------------------------------


def test_a_quote_left_open_over_later_rows_is_refused_at_the_line_it_opened(
    project: Path,
) -> None:
    # The quote opened on line 2 is closed by the one that opens a cell on line 4: rows B and
    # C became part of A's prompt, and `validate` used to say the file was valid.
    (project / "flow.csv").write_text(
        HEADER + 'G,A,echo,B,"first node\nG,B,echo,,second node\nG,C,echo,,"third"\nG,D,echo,,x\n'
    )
    bad_input(
        agentmap(project, "validate", "flow.csv"),
        "flow.csv:2: the quoted Prompt cell opened on line 2 runs on to line 4, over 2 lines that "
        "look like rows of the table (line 3: G,B,echo,,second node), which would be read as its "
        'text, not as nodes — close the quote (") where the cell should end; a quote inside a '
        'cell is written ""',
    )


@pytest.mark.parametrize(
    ("delimiter", "newline"),
    [(";", "\n"), ("\t", "\n"), (",", "\r\n"), (",", "\r")],
    ids=["semicolon", "tab", "crlf", "old-mac-cr"],
)
def test_a_quote_left_open_is_found_whatever_the_delimiter_and_line_ends(
    project: Path, delimiter: str, newline: str
) -> None:
    rows = [
        ["GraphName", "Node", "AgentType", "Prompt", "Description"],
        ["Main", "A", "echo", '"Summarise this', "first"],
        ["Main", "B", "echo", "lost", "second"],
        ["Main", "C", "echo", "also lost", '"third"'],
        ["Main", "D", "echo", "kept", "fourth"],
    ]
    path = project / "flow.csv"
    path.write_bytes(newline.join(delimiter.join(r) for r in rows).encode() + b"\n")
    with pytest.raises(GraphFileError) as caught:
        read_graph_file(path)
    assert caught.value.row == 2
    assert caught.value.message.startswith(
        f"{path}:2: the quoted Prompt cell opened on line 2 runs on to line 4, over 2 lines "
    )


@pytest.mark.parametrize(
    "prompt",
    [
        "Greet the user.\nMain, then ask what they need.\nBe brief.",  # graph name, few cells
        "Answer.\nMain, then reply, to the user, in kind, please\nDone.",  # a row's cells
        "Reply with a table:\nname,role,team,notes,x\nend",  # a row's cells, no graph name
        "Examples:\n Main,X,echo,,hello\nThat is all.",  # starts with a space: text
        "",
    ],
    ids=[
        "prose-starting-with-the-graph-name",
        "prose-with-a-rows-number-of-commas",
        "csv-like-example",
        "indented-row",
        "empty",
    ],
)
def test_multi_line_prompts_that_only_resemble_rows_are_kept_as_written(
    project: Path, prompt: str
) -> None:
    path = project / "flow.csv"
    quoted = '"' + prompt.replace('"', '""') + '"'
    path.write_text(HEADER + f"Main,A,echo,B,{quoted}\nMain,B,echo,,done\n")
    graph_file, problems = read_graph_file(path)
    assert problems == []
    assert graph_file.graphs["Main"].nodes["A"].prompt == prompt
    assert list(graph_file.graphs["Main"].nodes) == ["A", "B"]


# --- 2. FIFOs, devices and files over the limit -----------------------------------------------


@pytest.fixture
def hello(project: Path) -> Path:
    path = project / "flow.csv"
    path.write_text(FULL_HEADER + "Main,Start,echo,,,,input,echoed,,,\n")
    return path


def _pipe(folder: Path, name: str) -> Path:
    path = folder / name
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("args", "pipe", "message"),
    [
        (
            ["validate", "pipe.csv"],
            "pipe.csv",
            "pipe.csv: is a named pipe (FIFO), not a regular file — agentmap reads a graph file "
            "only from a regular file, as a pipe or device may never end; save its contents to "
            "a file and give that file",
        ),
        (
            ["validate", "pipe.yaml"],
            "pipe.yaml",
            "pipe.yaml: is a named pipe (FIFO), not a regular file — agentmap reads a graph file "
            "only from a regular file, as a pipe or device may never end; save its contents to "
            "a file and give that file",
        ),
        (
            ["validate", "pipe.xlsx"],
            "pipe.xlsx",
            "pipe.xlsx: is a named pipe (FIFO), not a regular file — agentmap reads a graph file "
            "only from a regular file, as a pipe or device may never end; save its contents to "
            "a file and give that file",
        ),
        (
            ["run", "flow.csv", "--state", "@state.json"],
            "state.json",
            "--state @state.json: is a named pipe (FIFO), not a regular file — agentmap reads a "
            "state only from a regular file, as a pipe or device may never end; send it to "
            "--state - (stdin) instead",
        ),
        (
            ["jobs", "submit", "flow.csv", "--state", "@state.json"],
            "state.json",
            "--state @state.json: is a named pipe (FIFO), not a regular file — agentmap reads a "
            "state only from a regular file, as a pipe or device may never end; send it to "
            "--state - (stdin) instead",
        ),
        (
            ["validate", "flow.csv", "--config", "settings.yaml"],
            "settings.yaml",
            "{project}/settings.yaml: is a named pipe (FIFO), not a regular file — agentmap "
            "reads the config file only from a regular file, as a pipe or device may never "
            "end; save its contents to a file and give that file",
        ),
        (
            ["batch", "flow.csv", "--inputs", "rows.csv"],
            "rows.csv",
            "rows.csv: is a named pipe (FIFO), not a regular file — agentmap reads batch inputs "
            "only from a regular file, as a pipe or device may never end; save its contents to "
            "a file and give that file",
        ),
    ],
    ids=["graph-csv", "graph-yaml", "graph-xlsx", "state", "job-state", "config", "batch"],
)
def test_a_fifo_is_refused_at_once_not_waited_on(
    project: Path, hello: Path, args: list[str], pipe: str, message: str
) -> None:
    _pipe(project, pipe)
    bad_input(agentmap(project, *args), message.format(project=project))


def test_a_fifo_as_a_prompt_file_is_a_problem_at_its_prompt_cell(project: Path) -> None:
    _pipe(project, "prompt.txt")
    (project / "flow.csv").write_text(HEADER + "Main,Start,default,,file:prompt.txt\n")
    result = agentmap(project, "validate", "flow.csv")
    assert result.returncode == 1
    assert (
        "error flow.csv:2 E2 Prompt: prompt file prompt.txt: is a named pipe (FIFO), "
        "not a regular file — agentmap reads a prompt only from a regular file"
    ) in result.stdout + result.stderr


def test_a_fifo_as_the_prompts_registry_is_a_config_error(project: Path, hello: Path) -> None:
    _pipe(project, "prompts.yaml")
    result = agentmap(project, "validate", "flow.csv")
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"error: {project}/prompts.yaml: is a named pipe (FIFO), not a regular file — agentmap "
        "reads the prompts registry only from a regular file"
    )


def test_a_device_is_refused_before_a_byte_is_read(project: Path, hello: Path) -> None:
    (project / "zero.csv").symlink_to("/dev/zero")  # read as it is, it never ends
    bad_input(
        agentmap(project, "validate", "zero.csv"),
        "zero.csv: is a character device, not a regular file — agentmap reads a graph file only "
        "from a regular file, as a pipe or device may never end; save its contents to a file "
        "and give that file",
    )
    bad_input(
        agentmap(project, "run", "flow.csv", "--state", "@/dev/zero"),
        "--state @/dev/zero: is a character device, not a regular file — agentmap reads a state "
        "only from a regular file, as a pipe or device may never end; send it to --state - "
        "(stdin) instead",
    )


def test_a_file_over_limits_max_file_mb_is_refused_naming_the_setting(
    project: Path, hello: Path
) -> None:
    (project / "state.json").write_text(json.dumps({"input": "x" * 2_000}))
    bad_input(
        agentmap(
            project,
            "run",
            "flow.csv",
            "--state",
            "@state.json",
            AGENTMAP_LIMITS__MAX_FILE_MB="0.001",
        ),
        "--state @state.json: is 2,013 bytes, more than the 0.001 MB limits.max_file_mb allows "
        "for a state — raise limits.max_file_mb (AGENTMAP_LIMITS__MAX_FILE_MB) if it is meant to "
        "be this big",
    )


def test_the_limit_set_in_the_config_file_applies_to_graphs_and_prompt_files(
    project: Path,
) -> None:
    (project / "agentmap_config.yaml").write_text("limits:\n  max_file_mb: 0.0005\n")
    (project / "long.txt").write_text("Say it. " * 100)  # 800 bytes
    (project / "flow.csv").write_text(HEADER + "Main,Start,default,,file:long.txt\n")
    result = agentmap(project, "validate", "flow.csv")
    assert result.returncode == 1
    assert (
        "error flow.csv:2 E2 Prompt: prompt file long.txt: is 800 bytes, more than the "
        "0.0005 MB limits.max_file_mb allows for a prompt"
    ) in result.stdout + result.stderr
    big = project / "big.csv"
    big.write_text(HEADER + "".join(f"Main,N{i},echo,,\n" for i in range(50)))
    bad_input(
        agentmap(project, "validate", "big.csv"),
        f"big.csv: is {big.stat().st_size:,} bytes, more than the 0.0005 MB limits.max_file_mb "
        "allows for a graph file — raise limits.max_file_mb (AGENTMAP_LIMITS__MAX_FILE_MB) if it "
        "is meant to be this big",
    )


def test_batch_inputs_over_the_limit_are_refused_before_pandas_reads_them(project: Path) -> None:
    path = project / "rows.csv"
    path.write_text("input\n" + "hello\n" * 500)
    with pytest.raises(JobError, match=r"rows\.csv: is 3,006 bytes, more than the 0\.001 MB"):
        read_rows(path, max_file_mb=0.001)
    assert len(read_rows(path)) == 500


def test_limits_max_file_mb_must_be_more_than_nothing(project: Path, hello: Path) -> None:
    result = agentmap(project, "validate", "flow.csv", AGENTMAP_LIMITS__MAX_FILE_MB="0")
    assert result.returncode == 2
    assert result.stderr.startswith("error: AGENTMAP_LIMITS__MAX_FILE_MB: limits.max_file_mb: "), (
        result.stderr
    )


def test_a_path_holding_a_nul_is_a_state_or_graph_error_not_a_crash(project: Path) -> None:
    # No command line can pass one, but the Python API and the service take paths as text.
    with pytest.raises(StateError, match="the path holds a NUL character"):
        parse_state("@state\x00.json")
    with pytest.raises(GraphFileError, match="the path holds a NUL character"):
        read_graph_file(Path("flow\x00.csv"))


def test_a_file_that_states_no_size_is_still_read_whole() -> None:
    # Files in /proc say they hold 0 bytes; the size checked is not what limits the read.
    text = read_user_file(Path("/proc/self/status"), error=GraphFileError).decode()
    assert text.startswith("Name:") and "Pid:" in text


# --- 3. many keys, many subgraphs -------------------------------------------------------------


def test_a_cell_of_twenty_thousand_keys_keeps_every_key(project: Path) -> None:
    # Each key used to be compared with every other one: 20,000 keys took about a minute.
    keys = [f"k{i}" for i in range(20_000)]
    path = project / "wide.csv"
    path.write_text(FULL_HEADER + f"Wide,A,echo,,,,{'|'.join(keys)},{'|'.join(keys)},,,\n")
    report = build_container({}).loader().validate(path)
    node = report.file.graphs["Wide"].nodes["A"]
    assert (report.errors, node.outputs, [param for _, param in node.inputs]) == (
        (),
        (*keys,),
        keys,
    )


def test_each_key_listed_twice_is_one_problem_in_the_order_written(project: Path) -> None:
    path = project / "flow.csv"
    path.write_text(FULL_HEADER + "G,A,echo,,,,a|b|a|c|b|a,z|y|z|x|y,,,\n")
    _, problems = read_graph_file(path)
    assert [p.message for p in problems] == [
        "the agent would receive 'a' twice — list it once",
        "the agent would receive 'b' twice — list it once",
        "the agent would receive 'a' twice — list it once",
        "output key 'z' is listed twice — list it once",
        "output key 'y' is listed twice — list it once",
    ]


def _runs(reference: str) -> str:
    return '"' + json.dumps({"graph": reference}).replace('"', '""') + '"'


def _chains(folder: Path, chains: int, length: int, *, one_file: bool) -> Path:
    """A graph Root running ``chains`` chains of ``length`` graphs; returns Root's file."""
    rows: dict[str, str] = {}
    heads = [f"C{c}_0" for c in range(chains)]
    for c, head in enumerate(heads):
        edge = f"R{c + 1}" if c + 1 < chains else ""
        ref = head if one_file else f"{head}.csv::{head}"
        rows.setdefault("Root", "")
        rows["Root"] += f"Root,R{c},graph,{edge},,,x,x,,{_runs(ref)},\n"
        for i in range(length):
            name, nxt = f"C{c}_{i}", f"C{c}_{i + 1}"
            if i + 1 == length:
                rows[name] = f"{name},A,echo,,,,x,x,,,\n"
            else:
                ref = nxt if one_file else f"{nxt}.csv::{nxt}"
                rows[name] = f"{name},A,graph,,,,x,x,,{_runs(ref)},\n"
    if one_file:
        (folder / "all.csv").write_text(FULL_HEADER + "".join(rows.values()))
        return folder / "all.csv"
    for name, row in rows.items():
        (folder / f"{name}.csv").write_text(FULL_HEADER + row)
    return folder / "Root.csv"


@pytest.mark.parametrize("one_file", [True, False], ids=["one-file", "a-file-each"])
def test_a_thousand_subgraphs_validate_each_file_read_once(project: Path, one_file: bool) -> None:
    # One file used to be read again for every graph of it that a node runs: minutes here.
    root = _chains(project, chains=20, length=50, one_file=one_file)
    report = build_container({}).loader().validate(root, "Root")
    assert (report.errors, report.checked) == ((), ("Root",))


def _nested(folder: Path, depth: int) -> Path:
    """``depth`` graphs, each in a file of its own, each running the next; returns the first."""
    for i in range(depth):
        runs = _runs(f"g{i + 1}.csv::G") if i + 1 < depth else ""
        kind = "graph" if runs else "echo"
        (folder / f"g{i}.csv").write_text(FULL_HEADER + f"G,A,{kind},,,,x,x,,{runs},\n")
    return folder / "g0.csv"


def test_subgraphs_nested_as_deep_as_allowed_run(project: Path) -> None:
    result = run_graph(_nested(project, MAX_DEPTH), {"x": 1}, config={"storage": {"url": "none"}})
    assert result.success


def test_subgraphs_nested_deeper_than_allowed_are_refused_before_anything_runs(
    project: Path,
) -> None:
    # 300 used to stop the run with "internal error: RecursionError"; 1,000 files, validation.
    _nested(project, 1_000)
    result = agentmap(project, "run", "g0.csv", "--state", '{"x": 1}')
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error g{MAX_DEPTH - 1}.csv:2 J2 Context: running graph 'G' here nests subgraphs more "
        f"than {MAX_DEPTH} deep (counted from graph 'G' of g0.csv) — agentmap runs at most "
        f"{MAX_DEPTH} graphs inside one another; flatten some of them into their parent\n"
        + NOTHING_RUN
    )


def test_a_chain_of_a_thousand_graphs_in_one_file_is_one_problem(project: Path) -> None:
    path = project / "chain.csv"
    rows = (
        f"G{i},A,graph,,,,x,x,,{_runs(f'G{i + 1}')},\n" if i < 999 else "G999,A,echo,,,,x,x,,,\n"
        for i in range(1_000)
    )
    path.write_text(FULL_HEADER + "".join(rows))
    report = build_container({}).loader().validate(path, "G0")
    assert [(p.row, p.graph) for p in report.errors] == [(MAX_DEPTH + 1, f"G{MAX_DEPTH - 1}")]


# --- 4. half a character ----------------------------------------------------------------------


def _json_graph(node: dict[str, Any], graph: str = "G") -> str:
    return json.dumps({"graphs": {graph: {"nodes": [node]}}}, indent=2)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (_json_graph({"name": "A\ud800", "agent_type": "echo"}), 6),
        (_json_graph({"name": "A", "agent_type": "echo", "prompt": "x\udc00y"}), 8),
        (_json_graph({"name": "A", "context": {"k\ud800": "v"}}), 8),
        (_json_graph({"name": "A"}, graph="G\ud800"), 3),
    ],
    ids=["node-name", "prompt", "context-key", "graph-name"],
)
def test_a_lone_surrogate_in_a_json_graph_is_a_problem_at_its_line(
    project: Path, text: str, line: int
) -> None:
    path = project / "flow.json"
    path.write_text(text)  # json.dumps writes the half character as a \\udXXX escape
    _, problems = read_graph_file(path)
    assert len(problems) == 1 and problems[0].row == line
    assert "is half of a character (a lone surrogate)" in problems[0].message


def test_a_lone_surrogate_in_a_json_graph_stops_the_run_with_a_placed_message(
    project: Path,
) -> None:
    (project / "flow.json").write_text(_json_graph({"name": "A\ud800", "agent_type": "echo"}))
    result = agentmap(project, "run", "flow.json", "--state", "{}")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "error flow.json:6: not valid JSON: '\\ud800' is half of a character (a lone "
        "surrogate), which no output or store can hold — write the whole character, or both "
        "halves of its escape (\\ud83d\\ude00 for 😀)\n" + NOTHING_RUN
    )


def test_whole_characters_and_escaped_backslashes_in_json_are_kept(project: Path) -> None:
    path = project / "flow.json"
    path.write_text(_json_graph({"name": "A\U0001f600", "prompt": "a \\ud800 b"}))
    graph_file, problems = read_graph_file(path)
    assert problems == []
    assert graph_file.graphs["G"].nodes["A\U0001f600"].prompt == "a \\ud800 b"


@pytest.mark.parametrize("how", ["argument", "file"])
def test_a_lone_surrogate_in_the_state_is_refused_before_the_run(
    project: Path, hello: Path, how: str
) -> None:
    state = '{"input": "\\ud800"}'
    (project / "state.json").write_text(state)
    result = agentmap(
        project, "run", "flow.csv", "--state", state if how == "argument" else "@state.json"
    )
    source = "--state" if how == "argument" else "--state @state.json"
    bad_input(
        result,
        f"{source}: holds '\\ud800', half of a character (a lone surrogate), which no output or "
        "store can hold — give whole characters",
    )
    assert not (project / ".agentmap").exists()  # refused before anything ran


# --- 5. arbitrary input -----------------------------------------------------------------------
# Driven in-process for speed: only agentmap's own errors may come out (each is a placed
# message and exit 1 or 2 on the command line); anything else would be an internal error.

FUZZ = settings(
    max_examples=150,
    derandomize=True,  # the same inputs on every run
    database=None,  # nothing written anywhere
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The characters that steer the readers: delimiters, quotes, line ends, YAML and JSON syntax,
# BOM, NUL, halves of characters, and letters for names.
_STEERING = st.sampled_from(
    [*",;\t\"'\n\r|:{}[]-#&*!%@ \\\x00\ufeff\ud800\udc00", "GraphName", "Node", "graph"]
)
_TEXT = st.lists(st.one_of(_STEERING, st.text(max_size=8), st.characters()), max_size=60).map(
    "".join
)
# Text with the odd half of a character: json.dumps writes it as an escape (\\ud800).
_WORD = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=10)
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _WORD)
_JSON = st.recursive(
    _LEAF,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_WORD, children, max_size=4)
    ),
    max_leaves=25,
)
_NODE_KEYS = st.sampled_from(
    [
        *("name", "agent_type", "edge", "success_next", "failure_next", "inputs", "output"),
        *("prompt", "context", "description", "Node", "Input_Fields", "unknown"),
    ]
)
# Mostly text where a graph file has text (so that most documents get as far as the checks),
# sometimes anything at all.
_NODE = st.dictionaries(_NODE_KEYS, _WORD | _WORD | _JSON, max_size=6)
_GRAPH_DOC = st.fixed_dictionaries(
    {
        "graphs": st.dictionaries(
            _WORD, st.fixed_dictionaries({"nodes": st.lists(_NODE, max_size=4)}) | _JSON, max_size=3
        )
    }
)


@pytest.fixture(scope="module")
def loader() -> Iterator[GraphLoader]:
    yield build_container({}).loader()


def _validate_file(loader: GraphLoader, folder: Path, name: str, data: bytes) -> None:
    """Read and check ``data`` as graph file ``name``: a report, or an agentmap error. What a
    report holds is whole characters: printed or stored, half of one would end the run."""
    path = folder / name
    path.write_bytes(data)
    try:
        report = loader.validate(path)
    except AgentMapError as error:
        error.message.encode("utf-8")
        return
    for problem in (*report.errors, *report.warnings):
        str(problem).encode("utf-8")
    for graph in report.file.graphs.values():
        json.dumps(graph.model_dump(), ensure_ascii=False, default=str).encode("utf-8")


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".yaml", ".json"]))
def test_any_bytes_as_a_graph_file_are_read_or_refused_by_agentmap(
    loader: GraphLoader, tmp_path: Path, data: bytes, suffix: str
) -> None:
    _validate_file(loader, tmp_path, "flow" + suffix, data)


@FUZZ
@given(text=_TEXT, suffix=st.sampled_from([".csv", ".yaml", ".json"]))
def test_any_text_as_a_graph_file_is_read_or_refused_by_agentmap(
    loader: GraphLoader, tmp_path: Path, text: str, suffix: str
) -> None:
    data = text.encode("utf-8", "surrogatepass")
    _validate_file(loader, tmp_path, "flow" + suffix, FULL_HEADER.encode() + data)
    _validate_file(loader, tmp_path, "flow" + suffix, data)


@FUZZ
@given(document=_GRAPH_DOC)
def test_any_nested_json_or_yaml_graph_document_is_read_or_refused_by_agentmap(
    loader: GraphLoader, tmp_path: Path, document: dict[str, Any]
) -> None:
    _validate_file(loader, tmp_path, "flow.json", json.dumps(document).encode())
    try:
        text = yaml.safe_dump(document, allow_unicode=False)
    except yaml.YAMLError:
        return  # not every Python value has a YAML spelling
    _validate_file(loader, tmp_path, "flow.yaml", text.encode())


@FUZZ
@given(
    value=st.one_of(_TEXT, _JSON.map(json.dumps)),
    from_file=st.booleans(),
)
def test_any_state_is_a_value_or_a_state_error(tmp_path: Path, value: str, from_file: bool) -> None:
    assume(value != "-")  # stdin: not this test's
    if from_file:
        path = tmp_path / "state.json"
        path.write_bytes(value.encode("utf-8", "surrogatepass"))
        value = f"@{path}"
    with contextlib.suppress(StateError):
        parse_state(value)


@FUZZ
@given(
    content=st.one_of(
        _TEXT,
        _JSON.map(json.dumps),  # JSON is YAML too
        st.dictionaries(
            st.sampled_from(["paths", "execution", "storage", "limits", "logging", "jobs"]),
            _JSON,
            max_size=3,
        ).map(json.dumps),
    ),
    variable=_TEXT,
)
def test_any_config_file_or_variable_is_settings_or_a_config_error(
    tmp_path: Path, content: str, variable: str
) -> None:
    path = tmp_path / "settings.yaml"
    path.write_bytes(content.encode("utf-8", "surrogatepass"))
    sources: list[tuple[Path | None, dict[str, str]]] = [
        (path, {}),
        (None, {"AGENTMAP_LIMITS__MAX_FILE_MB": variable}),
        (None, {"AGENTMAP_EXECUTION__RETRY": variable}),
    ]
    for file, environ in sources:
        with contextlib.suppress(AgentMapError):
            load_settings(file, environ=environ, cwd=tmp_path)


@settings(max_examples=4, derandomize=True, database=None, deadline=None)
@given(
    text=_TEXT,
    document=_GRAPH_DOC,
    suffix=st.sampled_from([".csv", ".yaml", ".json"]),
)
def test_any_generated_graph_file_gives_the_command_line_an_exit_code_not_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, text: str, document: dict[str, Any], suffix: str
) -> None:
    folder = tmp_path_factory.mktemp("cli")
    path = folder / f"flow{suffix}"
    content = json.dumps(document) if suffix == ".json" else FULL_HEADER + text
    path.write_bytes(content.encode("utf-8", "surrogatepass"))
    state = json.dumps({"input": text})  # ASCII: a lone surrogate is written as its escape
    for args in (["validate", path.name], ["run", path.name, "--state", state]):
        result = agentmap(folder, *args, AGENTMAP_STORAGE__URL="none")
        assert result.returncode in (0, 1, 2), result.stderr
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
