"""CSV files as tables (pandas): rows out as JSON-ready records, rows in by write mode.

pandas is imported when a CSV node runs, never when agentmap starts. Only an empty cell is a
missing value: ``NA``, ``null`` or ``None`` written in a cell stay text, as they were written.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentmap.agents.storage.documents import QUERY_OPTIONS, cut, same_value
from agentmap.exceptions import AgentError

if TYPE_CHECKING:
    import pandas as pd


def parse(
    data: bytes, options: Mapping[str, str], where: str, as_text: bool = False
) -> pd.DataFrame:
    """The table a CSV file holds (an empty file: no rows, no columns). ``as_text`` keeps
    every cell as written, for files that are written back."""
    import pandas as pd

    typing: dict[str, Any] = {"dtype": str, "na_filter": False} if as_text else {}
    try:
        table: pd.DataFrame = pd.read_csv(
            io.BytesIO(data),
            encoding=_reading(options["encoding"]),
            sep=options["delimiter"],
            keep_default_na=False,
            na_values=[""],
            **typing,
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError as exc:
        raise AgentError(f"{where} is not a CSV file pandas can read ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise AgentError(
            f"{where} is not {options['encoding']} text (byte {exc.start}) — set Context "
            "'encoding' to the file's encoding"
        ) from exc
    except LookupError as exc:
        raise AgentError(f"{exc} — fix Context 'encoding'") from exc
    return table


def _reading(encoding: str) -> str:
    """UTF-8 read past a byte-order mark (spreadsheets write one); written without."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as plain dicts of JSON values (an empty cell is ``None``), ready for the state."""
    found: list[dict[str, Any]] = json.loads(
        table.to_json(orient="records", date_format="iso", force_ascii=False)
    )
    return found


def shaped(table: pd.DataFrame, output_format: str) -> Any:
    """The rows as ``records`` (a list) or ``dict`` (row number → row, AgentMap's other form)."""
    rows = records(table)
    if output_format == "dict":
        return {str(index): row for index, row in enumerate(rows)}
    return rows


def id_column(columns: list[str], id_field: str | None, where: str) -> str | None:
    """The column that identifies rows: ``id_field`` if given, else ``id``, a ``…_id`` or an
    ``id_…`` column (AgentMap's order), else None."""
    if id_field:
        if id_field not in columns:
            raise AgentError(f"{where} has no column '{id_field}' (id_field) — it has {columns}")
        return id_field
    folded = [(column, str(column).casefold()) for column in columns]
    exact = [column for column, name in folded if name == "id"]
    suffixed = [column for column, name in folded if name.endswith("_id")]
    prefixed = [column for column, name in folded if name.startswith("id_")]
    return next(iter([*exact, *suffixed, *prefixed]), None)


def find_row(
    table: pd.DataFrame, document_id: Any, id_field: str | None, where: str
) -> dict[str, Any]:
    """The row whose id column holds ``document_id`` (without an id column: the row at that
    position, counting from 0)."""
    rows = records(table)
    column = id_column([str(c) for c in table.columns], id_field, where)
    if column is not None:
        for row in rows:
            if same_value(row.get(column), document_id):
                return row
        raise AgentError(f"no row with {column} = {document_id!r} in {where}")
    position = str(document_id).strip()
    if position.isdigit() and int(position) < len(rows):
        return rows[int(position)]
    raise AgentError(
        f"{where} has no id column (id, …_id or id_…) and no row {document_id!r} — set "
        "Context 'id_field' to the column that identifies rows"
    )


def queried(table: pd.DataFrame, query: Mapping[str, Any], where: str) -> pd.DataFrame:
    """The rows matching every field of ``query`` (a list matches any of its values), then
    sorted (``sort``, ``order``) and cut (``offset``, ``limit``)."""
    columns = [str(c) for c in table.columns]
    rows = records(table)
    keep = [True] * len(rows)
    for field, wanted in query.items():
        if field in QUERY_OPTIONS:
            continue
        if field not in columns:
            raise AgentError(f"the query names column '{field}', which {where} lacks: {columns}")
        choices = wanted if isinstance(wanted, list) else [wanted]
        for index, row in enumerate(rows):
            keep[index] = keep[index] and any(same_value(row[field], c) for c in choices)
    chosen = table[keep]
    if (sort := query.get("sort")) is not None:
        if sort not in columns:
            raise AgentError(f"the query sorts on '{sort}', which {where} lacks: {columns}")
        descending = str(query.get("order", "asc")).lower() == "desc"
        chosen = chosen.sort_values(by=sort, ascending=not descending, kind="stable")
    positions = cut(list(range(len(chosen))), query)
    return chosen.iloc[positions]


def new_rows(name: str, value: Any) -> pd.DataFrame:
    """What a writer was given, as rows: an object is one row, a list of objects many, and any
    other value one row with a single column named after its field. A list or object inside a
    cell is written as JSON."""
    import pandas as pd

    if isinstance(value, Mapping):
        rows = [value]
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        rows = value
    else:
        rows = [{name: value}]
    return pd.DataFrame([{str(k): _cell(v) for k, v in row.items()} for row in rows])


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def combined(
    old: pd.DataFrame | None, new: pd.DataFrame, mode: str, id_col: str | None
) -> pd.DataFrame:
    """The table ``mode`` leaves: ``write`` the new rows only; ``append`` the old then the new;
    ``update`` the old with each new row put over the old row of the same id (or added)."""
    import pandas as pd

    if old is None or mode == "write" or old.columns.empty:
        return new
    if mode == "append":
        return pd.concat([old, new], ignore_index=True)
    if id_col is None:
        raise AgentError(
            "mode 'update' needs a column that identifies rows (id, …_id or id_…) — set "
            "Context 'id_field'"
        )
    if id_col not in new.columns:
        raise AgentError(f"mode 'update' needs '{id_col}' in each row written, to find its row")
    result = old.copy()
    for column in new.columns:
        if column not in result.columns:
            result[column] = ""
    result = result.astype(object)
    for _, row in new.iterrows():
        match = [same_value(found, row[id_col]) for found in result[id_col]]
        if any(match):
            for column in new.columns:
                if not pd.isna(row[column]):  # a field this row doesn't give keeps its value
                    result.loc[match, column] = row[column]
        else:
            result = pd.concat([result, row.to_frame().T], ignore_index=True)
    return result


def to_bytes(table: pd.DataFrame, options: Mapping[str, str]) -> bytes:
    """The table as CSV text in the file's encoding."""
    text: str = table.to_csv(index=False, sep=options["delimiter"], lineterminator="\n")
    try:
        return text.encode(options["encoding"])
    except (LookupError, UnicodeEncodeError) as exc:
        raise AgentError(f"can't write the rows as {options['encoding']} ({exc})") from exc
