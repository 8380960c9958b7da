"""NDJSON input, located errors and `fhir-adapter view run` / `view check` exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.errors import SourceDataError
from fhir_adapter.views import ViewEvaluationError, parse_view, read_ndjson, run_view_to_file

SECRET = "Jane-Secret-Doe"
VIEW = {
    "resource": "Patient",
    "select": [
        {
            "column": [
                {"name": "id", "path": "id", "type": "id"},
                {"name": "family", "path": "name.family", "type": "string"},
            ]
        }
    ],
}


def _write(folder: Path, name: str, lines: list[Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def _patient(pid: str, *families: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": f} for f in families]}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "ndjson"
    _write(folder, "Patient.ndjson", [_patient("p1", "A"), "", _patient("p2", "B")])
    _write(
        folder, "mixed.ndjson", [{"resourceType": "Observation", "id": "o1"}, _patient("p3", "C")]
    )
    _write(folder, "notes.txt", ["not ndjson, not read"])
    return folder


@pytest.fixture
def view_file(tmp_path: Path) -> Path:
    path = tmp_path / "view.json"
    path.write_text(json.dumps(VIEW))
    return path


def test_read_ndjson_streams_resources_of_one_type_with_their_line(data: Path) -> None:
    items = list(read_ndjson(data, "Patient"))
    assert [(i.file.name, i.line, i.resource["id"]) for i in items] == [
        ("Patient.ndjson", 1, "p1"),
        ("Patient.ndjson", 3, "p2"),
        ("mixed.ndjson", 2, "p3"),
    ]
    assert len(list(read_ndjson(data))) == 4


@pytest.mark.parametrize("bad", ["{not json", "[1, 2]", '{"id": "x"}'])
def test_a_bad_line_names_file_and_line_not_content(tmp_path: Path, bad: str) -> None:
    _write(tmp_path, "x.ndjson", [_patient("p1", "A"), bad])
    with pytest.raises(SourceDataError) as caught:
        list(read_ndjson(tmp_path, "Patient"))
    assert caught.value.row == 2 and caught.value.file.endswith("x.ndjson")
    assert bad not in str(caught.value)


def test_an_evaluation_error_is_located_and_leaves_no_output(tmp_path: Path) -> None:
    _write(tmp_path / "in", "Patient.ndjson", [_patient("p1", "A"), _patient("p2", SECRET, "X")])
    with pytest.raises(ViewEvaluationError) as caught:
        run_view_to_file(parse_view(VIEW, file="view.json"), tmp_path / "in", tmp_path / "o.csv")
    message = str(caught.value)
    assert "view.json [select[0].column[1].path]: column 'family' got 2 values" in message
    assert "(input Patient.ndjson:2)" in message and SECRET not in message
    assert not (tmp_path / "o.csv").exists()


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_view_run_writes_the_table_and_reports(data: Path, view_file: Path, tmp_path: Path):
    out = tmp_path / "t.ndjson"
    result = _run("view", "run", str(view_file), "--input", str(data), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.output == f"3 Patient resources → 3 rows → {out} (ndjson)\n"
    assert [json.loads(x)["family"] for x in out.read_text().splitlines()] == ["A", "B", "C"]
    result = _run("view", "run", str(view_file), "--input", str(data), "--out", str(out), "--json")
    assert json.loads(result.output)["rows"] == 3


def test_view_check_lists_columns(view_file: Path) -> None:
    result = _run("view", "check", str(view_file))
    assert result.exit_code == 0
    assert result.output.splitlines()[1:] == ["  id: id", "  family: string"]


def test_exit_codes(data: Path, view_file: Path, tmp_path: Path) -> None:
    bad_view = tmp_path / "bad.json"
    bad_view.write_text(json.dumps({**VIEW, "resource": "Patiens"}))
    result = _run(
        "view", "run", str(bad_view), "--input", str(data), "--out", str(tmp_path / "o.csv")
    )
    assert result.exit_code == 3
    assert result.output.startswith("error: ") and "[resource]" in result.output
    assert len(result.output.strip().splitlines()) == 1

    result = _run(
        "view", "run", str(view_file), "--input", str(data), "--out", str(tmp_path / "o.xlsx")
    )
    assert result.exit_code == 2 and "unsupported output extension" in result.output

    _write(tmp_path / "broken", "p.ndjson", ["{oops"])
    result = _run(
        "view",
        "run",
        str(view_file),
        "--input",
        str(tmp_path / "broken"),
        "--out",
        str(tmp_path / "o.csv"),
    )
    assert result.exit_code == 4 and "p.ndjson row 1" in result.output

    _write(tmp_path / "multi", "p.ndjson", [_patient("p1", SECRET, "Y")])
    result = _run(
        "view",
        "run",
        str(view_file),
        "--input",
        str(tmp_path / "multi"),
        "--out",
        str(tmp_path / "o.csv"),
    )
    assert result.exit_code == 3 and "p.ndjson:1" in result.output
    assert SECRET not in result.output
