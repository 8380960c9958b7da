"""Write view rows to CSV, Parquet or NDJSON, chosen by the output file's extension.

- ``.ndjson``: one JSON object per row, keys in column order, decimals as written in the
  source (``1.50`` stays ``1.50``), collections as arrays, complex types as objects.
- ``.csv``: a header of the column names, then one line per row (RFC 4180, UTF-8). ``true`` /
  ``false`` for booleans, empty for null, JSON text for collections and complex types. Text
  cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
  tab or carriage return) get a leading ``'`` (OWASP "CSV injection"); numbers are numbers,
  never formulas, and are written as they are (``-1.5``). The NDJSON and Parquet outputs and
  the FHIR resources themselves are never altered.
- ``.parquet`` (pyarrow): one typed column per view column; see ``_arrow_type``.

Every writer writes a temporary file beside the target (mode 0600: rows hold patient data)
and moves it into place only when all rows are written, so a failed run leaves no half file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from fhir_adapter.views._definition import Column, ViewDefinition
from fhir_adapter.views._errors import ViewEvaluationError

FORMATS = (".csv", ".parquet", ".ndjson")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PARQUET_BATCH_ROWS = 10_000
_DECIMAL_TAG = re.compile(r"^(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


@dataclass(frozen=True)
class WriteResult:
    path: Path
    format: str
    rows: int


def output_format(path: Path) -> str:
    """The output format for ``path`` ('.csv', '.parquet', '.ndjson'); ValueError otherwise."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unsupported output extension '{path.suffix}' (use {', '.join(FORMATS)})")
    return suffix


def write_rows(view: ViewDefinition, rows: Iterable[dict[str, Any]], out: Path) -> WriteResult:
    """Write ``rows`` of ``view`` to ``out`` in the format its extension names."""
    kind = output_format(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            if kind == ".csv":
                count = _write_csv(view, rows, handle)
            elif kind == ".ndjson":
                count = _write_ndjson(rows, handle)
            else:
                count = _write_parquet(view, rows, handle)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return WriteResult(path=out, format=kind.lstrip("."), rows=count)


def json_text(value: Any) -> str:
    """Compact JSON for a row value, writing Decimals as the numbers they are (no float trip)."""
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else json.dumps(str(value))
    if isinstance(value, dict):
        items = (
            f"{json.dumps(str(k), ensure_ascii=False)}:{json_text(v)}" for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def csv_cell(value: Any) -> str:
    """The CSV text of one value, with spreadsheet formulas neutralised (see module doc)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    text = value if isinstance(value, str) else json_text(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _write_ndjson(rows: Iterable[dict[str, Any]], handle: IO[bytes]) -> int:
    count = 0
    for row in rows:
        handle.write((json_text(row) + "\n").encode("utf-8"))
        count += 1
    return count


def _write_csv(view: ViewDefinition, rows: Iterable[dict[str, Any]], handle: IO[bytes]) -> int:
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(view.column_names)
    count = 0
    for row in rows:
        writer.writerow([csv_cell(row[name]) for name in view.column_names])
        count += 1
    text.flush()
    text.detach()
    return count


def _write_parquet(view: ViewDefinition, rows: Iterable[dict[str, Any]], handle: IO[bytes]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(c.name, _arrow_type(c)) for c in view.columns])
    converters = [(_converter(view, c), c.name) for c in view.columns]
    count = 0
    with pq.ParquetWriter(handle, schema) as writer:
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            arrays = [
                _arrow_array(view, column, [convert(row[name]) for row in batch])
                for column, (convert, name) in zip(view.columns, converters, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            batch.clear()

        for row in rows:
            batch.append(row)
            count += 1
            if len(batch) >= _PARQUET_BATCH_ROWS:
                flush()
        if batch or count == 0:
            flush()
    return count


def _arrow_array(view: ViewDefinition, column: Column, values: list[Any]) -> Any:
    import pyarrow as pa

    try:
        return pa.array(values, type=_arrow_type(column))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # e.g. DECIMAL(4,1) for 1.25
        raise ViewEvaluationError(
            f"column '{column.name}': a value does not fit {_base_type(column)}; widen the "
            "column's ansi/type tag",
            file=view.file,
            key=f"{column.key}.tags",
        ) from None


def _base_type(column: Column) -> str:
    """The column's storage type: an ``ansi/type`` tag wins, else the declared FHIR type.

    Defaults follow the spec's "Default Type Mappings": boolean → BOOLEAN; integer,
    positiveInt, unsignedInt → INT; integer64 → BIGINT; everything else, decimal and dates
    included, is text in its FHIR string form (exact, no float rounding); a complex type is
    its JSON text. Tags may choose BOOLEAN, INT/INTEGER, BIGINT, DOUBLE PRECISION/FLOAT,
    DECIMAL(p,s)/NUMERIC(p,s), DATE, or CHARACTER VARYING/VARCHAR.
    """
    tag = column.tag("ansi/type")
    if tag:
        return tag.strip().upper()
    kind = (column.type or "string").lower()
    if kind == "boolean":
        return "BOOLEAN"
    if kind in ("integer", "positiveint", "unsignedint"):
        return "INT"
    if kind == "integer64":
        return "BIGINT"
    return "CHARACTER VARYING"


def _arrow_type(column: Column) -> Any:
    import pyarrow as pa

    base = _base_type(column)
    decimal = _DECIMAL_TAG.match(base)
    simple = {
        "BOOLEAN": pa.bool_(),
        "INT": pa.int32(),
        "INTEGER": pa.int32(),
        "BIGINT": pa.int64(),
        "DOUBLE PRECISION": pa.float64(),
        "DOUBLE": pa.float64(),
        "FLOAT": pa.float64(),
        "DATE": pa.date32(),
    }
    element = (
        pa.decimal128(int(decimal[1]), int(decimal[2]))
        if decimal
        else simple.get(base, pa.string())
    )
    return pa.list_(element) if column.collection else element


def _converter(view: ViewDefinition, column: Column) -> Any:
    import datetime as dt

    base = _base_type(column)

    def fail(value: Any) -> ViewEvaluationError:
        return ViewEvaluationError(
            f"column '{column.name}' is stored as {base} but got a {type(value).__name__} "
            "value; fix the column's type or its ansi/type tag",
            file=view.file,
            key=f"{column.key}.type",
        )

    def one(value: Any) -> Any:
        if value is None:
            return None
        if base == "BOOLEAN":
            if not isinstance(value, bool):
                raise fail(value)
            return value
        if base in ("INT", "INTEGER", "BIGINT"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise fail(value)
            return value
        if base in ("DOUBLE PRECISION", "DOUBLE", "FLOAT") or _DECIMAL_TAG.match(base):
            if isinstance(value, bool) or not isinstance(value, int | Decimal):
                raise fail(value)
            return Decimal(value) if _DECIMAL_TAG.match(base) else float(value)
        if base == "DATE":
            try:
                return dt.date.fromisoformat(value) if isinstance(value, str) else _raise(value)
            except ValueError:
                raise fail(value) from None
        return _text(value)

    if column.collection:
        return lambda values: None if values is None else [one(v) for v in values]
    return one


def _raise(value: Any) -> Any:
    raise ValueError(type(value).__name__)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json_text(value)
