"""Convert a graph file between formats (csv, yaml, json, xlsx) without losing anything."""

from __future__ import annotations

import os
from pathlib import Path

from agentmap.exceptions import GraphFileError, GraphValidationError
from agentmap.graph.loader import read_graph_file
from agentmap.graph.model import GraphFile
from agentmap.graph.table_writer import write_csv, write_workbook
from agentmap.graph.yaml_writer import dump_structured

WRITABLE = (".csv", ".yaml", ".yml", ".json", ".xlsx")


def convert_graph(
    source: str | os.PathLike[str], destination: str | os.PathLike[str], *, overwrite: bool = False
) -> GraphFile:
    """Write every graph of ``source`` to ``destination``, in the format its suffix names.

    The file is read as it is (agent types and functions need not exist yet), but a file with
    problems that would lose information — a duplicate node, a malformed cell — is refused.
    Reading the written file gives the identical graph model.

    >>> convert_graph("graphs/hello.csv", "hello.yaml")  # doctest: +SKIP
    """
    target = Path(destination)
    suffix = target.suffix.lower()
    if suffix not in WRITABLE:
        raise GraphFileError(
            f"{target}: can't write '{suffix or 'extensionless'}' files — end the name in "
            f"{', '.join(WRITABLE)}",
            file=str(target),
        )
    if target.exists() and not overwrite:
        raise GraphFileError(
            f"{target} already exists — choose another name or pass --force to replace it",
            file=str(target),
        )
    graph_file, problems = read_graph_file(Path(source))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise GraphValidationError(errors)
    _write(graph_file, target, suffix)
    return graph_file


def _write(graph_file: GraphFile, target: Path, suffix: str) -> None:
    if suffix == ".csv":
        write_csv(graph_file, target)
    elif suffix == ".xlsx":
        write_workbook(graph_file, target)
    else:
        text = dump_structured(graph_file, "json" if suffix == ".json" else "yaml")
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise GraphFileError(
                f"{target}: can't write ({exc.strerror})", file=str(target)
            ) from exc
