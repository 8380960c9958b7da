"""Each sniffer on small hand-made files: delimiter, encoding, decimal comma, date order."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from fhir_adapter.drafting import draft_mapping
from fhir_adapter.drafting.columns import decide_date_formats, profile
from fhir_adapter.drafting.sniff import find_files, sniff_delimiter, sniff_encoding
from fhir_adapter.drafting.yamltext import Block, Flow, render, scalar
from fhir_adapter.errors import MappingSpecError
from fhir_adapter.mapping.loader import load_mapping

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_the_one_that_splits_every_line_alike(delimiter: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    # Cells holding the other candidates, quoted where needed, must not mislead it.
    writer.writerows([["id", "note", "dose"], ["1", "a, b; c | d", "1,5"], ["2", "x", "2"]])
    assert sniff_delimiter(buffer.getvalue().splitlines(keepends=True)) == delimiter


def test_no_delimiter_when_every_line_is_one_cell() -> None:
    assert sniff_delimiter(["id\n", "1\n", "2\n"]) is None


def test_encoding_cp1252_file_with_e_acute_is_named_and_said(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("id;site\n1;Hôpital Sainte-Thérèse\n".encode("cp1252"))
    found = sniff_encoding(path)
    assert found.codec == "cp1252"
    assert found.note is not None and "Windows-1252" in found.note


def test_encoding_utf8_with_and_without_bom(tmp_path: Path) -> None:
    plain, bom = tmp_path / "a.csv", tmp_path / "b.csv"
    plain.write_bytes("id,site\n1,Thérèse\n".encode())
    bom.write_bytes("id,site\n1,Thérèse\n".encode("utf-8-sig"))
    assert (sniff_encoding(plain).codec, sniff_encoding(plain).note) == ("utf-8", None)
    assert sniff_encoding(bom).codec == "utf-8-sig"


def test_encoding_that_neither_codec_reads_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"id\n\x81\x8d\n")  # bytes Windows-1252 leaves undefined
    assert sniff_encoding(path).codec is None


def test_decimal_comma_and_comparators() -> None:
    column = profile("Result", ["8,0", "<0,10", "12,25", ""])
    assert (column.kind, column.decimal, column.comparators) == ("number", ",", frozenset("<"))
    assert profile("x", ["8.0", "1.5"]).decimal == "."
    assert profile("x", ["8.0", "1,5"]).kind != "number"  # two styles in one column


def test_date_order_decided_by_a_day_over_12() -> None:
    column = profile("Date", ["01/02/2019", "25/02/2019"])
    assert column.kind == "date"
    assert column.date_formats == frozenset({"%d/%m/%Y"})
    us = profile("Date", ["02/25/2019", "01/02/2019"])
    assert us.date_formats == frozenset({"%m/%d/%Y"})


def test_date_order_ambiguous_when_every_day_is_12_or_less() -> None:
    columns = {"visits": {"Date": profile("Date", ["01/02/2019", "03/04/2019"])}}
    decision = decide_date_formats(columns)["visits"]
    assert decision.ambiguous
    assert decision.formats == ("%d/%m/%Y", "%m/%d/%Y")
    # Another table of the export written the same way decides it.
    columns["ae"] = {"Onset": profile("Onset", ["28/02/2019"])}
    decided = decide_date_formats(columns)["visits"]
    assert (decided.formats, decided.ambiguous, decided.borrowed) == (("%d/%m/%Y",), False, True)


def _write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> None:
    (folder / name).write_bytes(text.encode(encoding))


def test_ambiguous_dates_become_a_todo_in_the_draft(tmp_path: Path) -> None:
    _write(tmp_path, "subjects.csv", "subject;sex;consent\nP1;M;01/02/2019\nP2;F;03/04/2019\n")
    _write(tmp_path, "visits.csv", "subject;visit;date;hba1c_pct\nP1;BL;05/06/2019;7,5\n")
    text = draft_mapping(tmp_path, tmp_path / "draft.yaml").text
    assert "date_formats: TODO  # every day in these dates is 12 or less" in text
    assert 'decimal: ","' in text
    with pytest.raises(MappingSpecError) as refused:
        load_mapping(_saved(tmp_path, text))
    assert "source.date_formats" in {p.key for p in refused.value.problems}


def test_cp1252_table_gets_its_encoding_and_a_note(tmp_path: Path) -> None:
    _write(tmp_path, "subjects.csv", "subject,site\nP1,Thérèse\nP2,Zoë\n", "cp1252")
    _write(tmp_path, "visits.csv", "subject,visit,weight_kg,où\nP1,BL,70.5,a\nP2,BL,60,b\n")
    _write(tmp_path, "labs.csv", "subject,visit,hba1c_pct\nP1,BL,7.5\nP2,BL,6.1\n")
    text = draft_mapping(tmp_path, tmp_path / "d.yaml").text
    # The ASCII-only files read the same in any codec: the other two decide, UTF-8 on a tie.
    assert "  encoding: utf-8\n" in text
    assert "subjects: {file: subjects.csv, encoding: cp1252}  # not UTF-8" in text
    assert "  labs: {file: labs.csv}\n" in text


def test_ascii_files_take_the_encoding_of_the_others(tmp_path: Path) -> None:
    _write(tmp_path, "subjects.csv", "subject,site\nP1,Thérèse\nP2,Zoë\n", "cp1252")
    _write(tmp_path, "visits.csv", "subject,visit,weight_kg\nP1,BL,70.5\nP2,BL,60\n")
    text = draft_mapping(tmp_path, tmp_path / "d.yaml").text
    assert "  encoding: cp1252  # not UTF-8; it decodes as Windows-1252" in text
    assert "  subjects: {file: subjects.csv}\n" in text
    assert "  visits: {file: visits.csv}\n" in text


def test_excel_sheets_are_tables(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "People"
    book.active.append(["id", "sex"])
    book.active.append(["P1", "F"])
    book.create_sheet("Empty")
    book.save(tmp_path / "export.xlsx")
    exports, _ = find_files(tmp_path)
    assert [(e.file, e.table, e.sheet, e.is_excel) for e in exports] == [
        ("export.xlsx", "export", "People", True)
    ]


def _saved(folder: Path, text: str) -> Path:
    path = folder / "draft.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "value",
    [
        "No",
        "N",
        "y",
        "null",
        "10*6/kg",
        "%",
        "[IU]",
        "Diamicron MR",
        "a: b",
        "#x",
        "1",
        "%d/%m/%Y",
        "Lost to follow-up",
        "it's",
        "ends with space ",
        "x,y",
        "é",
    ],
)
def test_rendered_scalars_read_back_as_the_same_string(value: str) -> None:
    block = Block()
    block.add(value, value)
    block.add("flow", Flow({value: value, "list": [value]}))
    loaded = YAML(typ="safe").load(render(block))
    assert loaded == {value: value, "flow": {value: value, "list": [value]}}
    assert scalar(True) == "true"


def test_draft_holds_no_identifier_date_number_or_free_text(tmp_path: Path) -> None:
    """Every cell value of study A that is not a code must stay out of the draft."""
    data = REPO / "examples" / "study_a"
    text = draft_mapping(data, tmp_path / "d.yaml").text
    codes = {
        "sex",
        "arm",
        "status",
        "end_reason",
        "procedure_type",
        "route",
        "body_site",
        "cell_type",
        "drug_code",
        "dose_unit",
        "severity",
        "serious",
        "outcome",
        "visit",
    }
    leaked = set()
    for file in data.glob("*.csv"):
        with file.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                for column, cell in row.items():
                    if column not in codes and len(cell) >= 3 and cell in text:
                        leaked.add((file.name, column))
    assert leaked == set()


def test_a_value_left_todo_is_refused_with_its_key(tmp_path: Path) -> None:
    """Free-text fields would accept 'TODO' silently: the loader refuses it anywhere."""
    text = (REPO / "mappings" / "study_a.yaml").read_text(encoding="utf-8")
    text = text.replace('value: "STUDY-A"', "value: TODO").replace("arm: arm", "arm: ' TODO '")
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes" / "diabetes-cell-therapy.yaml").write_bytes(
        (REPO / "mappings" / "codes" / "diabetes-cell-therapy.yaml").read_bytes()
    )
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingSpecError) as refused:
        load_mapping(path)
    assert [(p.key, p.line) for p in refused.value.problems] == [
        ("study.identifier.value", 14),
        ("participants.arm", text.splitlines().index("  arm: ' TODO '") + 1),
    ]
