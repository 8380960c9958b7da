"""Writers: CSV formula neutralisation, exact decimals in NDJSON, typed Parquet columns."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fhir_adapter.views import ViewEvaluationError, parse_view, run_view, write_rows
from fhir_adapter.views._output import csv_cell, json_text

HOSTILE = ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")']


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_neutralises_text_a_spreadsheet_would_run(text: str) -> None:
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (Decimal("-1.50"), "-1.50"),
        (-3, "-3"),
        (["=x", "y"], '["=x","y"]'),
        ({"code": "-x"}, '{"code":"-x"}'),
    ],
)
def test_csv_cells(value: Any, cell: str) -> None:
    assert csv_cell(value) == cell


def _view() -> Any:
    return parse_view(
        {
            "resource": "Observation",
            "select": [
                {
                    "column": [
                        {"name": "id", "path": "id", "type": "id"},
                        {"name": "note", "path": "note.text.first()", "type": "string"},
                        {
                            "name": "value",
                            "path": "value.ofType(Quantity).value",
                            "type": "decimal",
                        },
                        {"name": "count", "path": "note.count()", "type": "integer"},
                        {"name": "has_note", "path": "note.exists()", "type": "boolean"},
                        {
                            "name": "notes",
                            "path": "note.text",
                            "type": "string",
                            "collection": True,
                        },
                        {"name": "coding", "path": "code.coding.first()", "type": "Coding"},
                    ]
                }
            ],
        }
    )


def _observation(note: str, value: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "note": [{"text": note}],
        "valueQuantity": {"value": Decimal(value)},
    }


def test_csv_file_neutralises_text_and_keeps_the_header(tmp_path: Path) -> None:
    view = _view()
    write_rows(
        view, run_view(view, [_observation("=cmd|' /C calc'!A0", "-1.50")]), tmp_path / "t.csv"
    )
    with (tmp_path / "t.csv").open(newline="", encoding="utf-8") as handle:
        header, row = list(csv.reader(handle))
    assert header == list(view.column_names)
    assert row[1] == "'=cmd|' /C calc'!A0"
    assert row[2] == "-1.50"  # a number, not a formula


def test_ndjson_keeps_decimals_and_values_unchanged(tmp_path: Path) -> None:
    view = _view()
    write_rows(view, run_view(view, [_observation("=x", "1.50")]), tmp_path / "t.ndjson")
    line = (tmp_path / "t.ndjson").read_text(encoding="utf-8")
    assert line == (
        '{"id":"o1","note":"=x","value":1.50,"count":1,"has_note":true,"notes":["=x"],'
        '"coding":{"system":"http://loinc.org","code":"4548-4"}}\n'
    )
    assert json_text(Decimal("1E+2")) == "1E+2"


def test_parquet_columns_are_typed(tmp_path: Path) -> None:
    view = _view()
    write_rows(view, run_view(view, [_observation("n", "2.5")]), tmp_path / "t.parquet")
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.schema.field("value").type == pa.string()  # decimal: exact text by default
    assert table.schema.field("count").type == pa.int32()
    assert table.schema.field("has_note").type == pa.bool_()
    assert table.schema.field("notes").type == pa.list_(pa.string())
    row = table.to_pylist()[0]
    assert row["value"] == "2.5" and row["count"] == 1 and row["notes"] == ["n"]
    assert row["coding"] == '{"system":"http://loinc.org","code":"4548-4"}'


def test_an_empty_table_still_has_its_columns(tmp_path: Path) -> None:
    view = _view()
    for ext in (".csv", ".parquet", ".ndjson"):
        assert write_rows(view, iter(()), tmp_path / f"e{ext}").rows == 0
    assert pq.read_table(tmp_path / "e.parquet").column_names == list(view.column_names)
    assert (tmp_path / "e.csv").read_bytes() == (",".join(view.column_names) + "\r\n").encode()


def test_ansi_type_tags_choose_parquet_types(tmp_path: Path) -> None:
    view = parse_view(
        {
            "resource": "Patient",
            "select": [
                {
                    "column": [
                        {
                            "name": "born",
                            "path": "birthDate",
                            "type": "date",
                            "tags": [{"name": "ansi/type", "value": "DATE"}],
                        },
                        {
                            "name": "n",
                            "path": "multipleBirth.ofType(integer)",
                            "type": "integer",
                            "tags": [{"name": "ansi/type", "value": "DECIMAL(10,2)"}],
                        },
                    ]
                }
            ],
        }
    )
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "birthDate": "1970-06-01",
        "multipleBirthInteger": 2,
    }
    write_rows(view, run_view(view, [patient]), tmp_path / "t.parquet")
    table = pq.read_table(tmp_path / "t.parquet")
    assert str(table.schema.field("born").type) == "date32[day]"
    assert table.to_pylist()[0]["n"] == Decimal("2.00")

    partial = {**patient, "birthDate": "1970-06"}
    with pytest.raises(ViewEvaluationError, match="column 'born' is stored as DATE"):
        write_rows(view, run_view(view, [partial]), tmp_path / "u.parquet")
    assert not (tmp_path / "u.parquet").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "t.parquet"]  # no temporary file left


def test_a_value_too_wide_for_its_decimal_tag_is_a_view_error(tmp_path: Path) -> None:
    view = parse_view(
        {
            "resource": "Observation",
            "select": [
                {
                    "column": [
                        {
                            "name": "v",
                            "path": "value.ofType(Quantity).value",
                            "type": "decimal",
                            "tags": [{"name": "ansi/type", "value": "DECIMAL(4,1)"}],
                        },
                    ]
                }
            ],
        }
    )
    with pytest.raises(ViewEvaluationError, match="does not fit DECIMAL"):
        write_rows(view, run_view(view, [_observation("n", "1.25")]), tmp_path / "t.parquet")


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported output extension"):
        write_rows(_view(), iter(()), tmp_path / "t.xlsx")
