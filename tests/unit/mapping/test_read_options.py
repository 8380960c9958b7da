"""Read options that would misread data are refused when the mapping is loaded (file:line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhir_adapter.errors import MappingSpecError
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.mapping.readcheck import date_format_problem

REPO = Path(__file__).resolve().parents[3]
CATALOGUE = REPO / "mappings" / "codes" / "diabetes-cell-therapy.yaml"


def _variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (REPO / "mappings" / name).read_text(encoding="utf-8")
    assert old in text, old
    (tmp_path / "codes").mkdir(exist_ok=True)
    (tmp_path / "codes" / CATALOGUE.name).write_text(CATALOGUE.read_text(encoding="utf-8"))
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


@pytest.mark.parametrize(
    ("fmt", "why"),
    [
        ("%d/%m/%Q", "not a valid strptime format"),
        ("%d/%m/%Y%", "not a valid strptime format"),
        ("%d/%d/%Y", "not a valid strptime format"),
        ("%m/%Y", "does not hold a full date"),
        ("%Y", "does not hold a full date"),
        ("01/%m/%Y", "does not hold a full date"),
        ("dd/mm/yyyy", "does not hold a full date"),
    ],
)
def test_invalid_date_format_is_refused_at_load(tmp_path, fmt, why):
    path = _variant(
        tmp_path,
        "study_a.yaml",
        'date_formats: ["%Y-%m-%d"]',
        f'date_formats: ["%Y-%m-%d", "{fmt}"]',
    )
    with pytest.raises(MappingSpecError, match=why) as error:
        load_mapping(path)
    assert error.value.key == "source.date_formats.1"
    assert error.value.line == _line_of(path, "date_formats")


def test_invalid_date_format_on_a_table_names_the_table(tmp_path):
    path = _variant(
        tmp_path,
        "study_a.yaml",
        "visits: {file: visits.csv}",
        'visits: {file: visits.csv, date_formats: ["%d.%m"]}',
    )
    with pytest.raises(MappingSpecError, match="full date") as error:
        load_mapping(path)
    assert error.value.key == "tables.visits.date_formats.0"
    assert error.value.line == _line_of(path, "%d.%m")


def test_empty_date_formats_is_refused(tmp_path):
    path = _variant(tmp_path, "study_a.yaml", 'date_formats: ["%Y-%m-%d"]', "date_formats: []")
    with pytest.raises(MappingSpecError) as error:
        load_mapping(path)
    assert error.value.key == "source.date_formats"


@pytest.mark.parametrize(
    "fmt",
    [
        "%Y-%m-%d",
        "%d/%m/%Y",
        "%d.%m.%y",
        "%m/%d/%Y",
        "%Y%m%d",
        "%d %b %Y",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%j",
    ],
)
def test_usual_date_formats_are_accepted(fmt):
    assert date_format_problem(fmt) is None


def test_unknown_encoding_is_refused_at_load(tmp_path):
    path = _variant(
        tmp_path,
        "study_a.yaml",
        "adverse_events: {file: adverse_events.csv}",
        "adverse_events: {file: adverse_events.csv, encoding: windows-1252x}",
    )
    with pytest.raises(MappingSpecError, match="windows-1252x.*not a text encoding") as error:
        load_mapping(path)
    assert error.value.key == "tables.adverse_events.encoding"
    assert error.value.line == _line_of(path, "windows-1252x")


def test_binary_codec_is_not_a_text_encoding(tmp_path):
    path = _variant(tmp_path, "study_a.yaml", "encoding: utf-8", "encoding: base64")
    with pytest.raises(MappingSpecError, match="not a text encoding") as error:
        load_mapping(path)
    assert error.value.key == "source.encoding"


@pytest.mark.parametrize("key", ["delimiter: ';'", "encoding: cp1252"])
def test_delimiter_or_encoding_on_an_excel_table_is_refused(tmp_path, key):
    path = _variant(tmp_path, "study_b.yaml", "file: patients.xlsx", f"file: patients.xlsx, {key}")
    with pytest.raises(MappingSpecError, match="does not apply to an Excel workbook") as error:
        load_mapping(path)
    assert error.value.line == _line_of(path, "patients.xlsx")


def test_sheet_on_a_csv_table_is_refused(tmp_path):
    path = _variant(
        tmp_path,
        "study_a.yaml",
        "visits: {file: visits.csv}",
        "visits: {file: visits.csv, sheet: Visits}",
    )
    with pytest.raises(MappingSpecError, match="'sheet' applies only") as error:
        load_mapping(path)
    assert error.value.key == "tables.visits.sheet"
