"""REDCap raw exports read through their data dictionary (``sources.redcap``).

Small hand-written exports: each test knows every row, so the expectations are exact.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from fhir_adapter.errors import SourceDataError
from fhir_adapter.mapping import fields as F
from fhir_adapter.mapping.spec import Column
from fhir_adapter.pipeline.spill import Spill
from fhir_adapter.sources.redcap import RedcapSelection, RedcapTable
from fhir_adapter.sources.redcap_dictionary import export_suffix, read_dictionary
from fhir_adapter.sources.row import BadCell, SourceRow

DICTIONARY = [
    ("record_id", "enrolment", "text", "", ""),
    ("sex", "enrolment", "radio", "1, Male | 2, Female", ""),
    ("consent_date", "enrolment", "text", "", "date_dmy"),
    ("therapy", "enrolment", "checkbox", "1, Oral agents | 2, Insulin | -9, Unknown", ""),
    ("smoker", "enrolment", "yesno", "", ""),
    ("visit_date", "visit", "text", "", "date_mdy"),
    ("hba1c", "visit", "text", "", "number"),
    ("drug", "medication", "dropdown", "1, Metformin | 2, Insulin glargine", ""),
    ("dose", "medication", "text", "", "number"),
]
HEADER = [
    "record_id",
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "sex",
    "consent_date",
    "therapy___1",
    "therapy___2",
    "therapy____9",
    "smoker",
    "enrolment_complete",
    "visit_date",
    "hba1c",
    "visit_complete",
    "drug",
    "dose",
    "medication_complete",
]
ROWS = [
    # record, event, repeat instrument, instance, enrolment (6), visit (2), medication (2)
    [
        "1",
        "enrol_arm_1",
        "",
        "",
        "2",
        "23-01-2019",
        "1",
        "1",
        "0",
        "0",
        "2",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "1",
        "enrol_arm_1",
        "medication",
        "1",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "1",
        "500",
        "2",
    ],
    ["1", "enrol_arm_1", "medication", "2", "", "", "", "", "", "", "", "", "", "", "2", "10", "2"],
    ["1", "bl_arm_1", "", "", "", "", "", "", "", "", "", "01/31/2019", "8.1", "2", "", "", ""],
    [
        "2",
        "enrol_arm_1",
        "",
        "",
        "7",
        "2019-02-01",
        "0",
        "0",
        "0",
        "1",
        "2",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    ["2", "bl_arm_1", "", "", "", "", "", "", "", "", "", "31/01/2019", "7.9", "2", "", "", ""],
]


def _write(directory: Path, rows: list[list[str]] = ROWS) -> Path:
    with (directory / "dict.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "Variable / Field Name",
                "Form Name",
                "Field Type",
                "Choices, Calculations, OR Slider Labels",
                "Text Validation Type OR Show Slider Number",
            ]
        )
        writer.writerows(DICTIONARY)
    with (directory / "export.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return directory


def _rows(directory: Path, instrument: str, **selection: str) -> list[SourceRow]:
    table = RedcapTable.open(directory, RedcapSelection("dict.csv", instrument, **selection))
    return list(table.rows(directory, "export.csv", delimiter=",", encoding="utf-8"))


def test_dictionary_reads_fields_choices_and_the_record_id(tmp_path: Path) -> None:
    dictionary = read_dictionary(_write(tmp_path), "dict.csv")
    assert dictionary.record_id == "record_id"
    assert dictionary.instruments == ["enrolment", "visit", "medication"]
    therapy = dictionary.fields["therapy"]
    assert therapy.choices == {"1": "Oral agents", "2": "Insulin", "-9": "Unknown"}
    assert therapy.checkbox_columns() == {
        "therapy___1": "1",
        "therapy___2": "2",
        "therapy____9": "-9",
    }
    assert export_suffix("A-b") == "a_b"


def test_choice_codes_become_labels_and_dates_are_read_by_validation(tmp_path: Path) -> None:
    rows = _rows(_write(tmp_path), "enrolment")
    assert [r.number for r in rows] == [2, 6]
    first, second = (r.values for r in rows)
    assert first["sex"] == "Female" and first["smoker"] == "No" and second["smoker"] == "Yes"
    # date_dmy written in its own order, and REDCap's raw YYYY-MM-DD: both exact dates.
    assert first["consent_date"] == dt.date(2019, 1, 23)
    assert second["consent_date"] == dt.date(2019, 2, 1)
    assert (first["therapy___1"], first["therapy___2"], first["therapy____9"]) == ("1", "1", "0")
    # Code 7 is not a choice of 'sex': the cell is unreadable, never passed through.
    assert isinstance(second["sex"], BadCell) and second["sex"].rule == "code"
    assert "visit_date" not in first and "drug" not in first


def test_a_date_in_another_order_than_its_validation_is_unreadable(tmp_path: Path) -> None:
    rows = _rows(_write(tmp_path), "visit")
    assert [r.values["redcap_event_name"] for r in rows] == ["bl_arm_1", "bl_arm_1"]
    assert rows[0].values["visit_date"] == dt.date(2019, 1, 31)  # date_mdy, as validated
    bad = rows[1].values["visit_date"]  # 31/01/2019 is day-first: no 31st month
    assert isinstance(bad, BadCell) and bad.rule == "date" and "2019" not in bad.message


def test_repeating_instrument_rows_carry_their_instance(tmp_path: Path) -> None:
    rows = _rows(_write(tmp_path), "medication")
    assert [(r.values["record_id"], r.values["redcap_repeat_instance"]) for r in rows] == [
        ("1", "1"),
        ("1", "2"),
    ]
    assert [r.values["drug"] for r in rows] == ["Metformin", "Insulin glargine"]
    assert [r.values["dose"] for r in rows] == ["500", "10"]


def test_event_selects_rows_and_an_unknown_event_stops_the_read(tmp_path: Path) -> None:
    _write(tmp_path)
    assert [r.number for r in _rows(tmp_path, "visit", event="bl_arm_1")] == [5, 7]
    assert _rows(tmp_path, "enrolment", event="bl_arm_1") == []  # form not filled there
    with pytest.raises(SourceDataError, match="no row of event 'baseline_arm_1'") as error:
        _rows(tmp_path, "visit", event="baseline_arm_1")
    assert "bl_arm_1" in str(error.value) and error.value.column == "redcap_event_name"


def test_a_declared_checkbox_gives_one_row_per_ticked_choice(tmp_path: Path) -> None:
    rows = _rows(_write(tmp_path), "enrolment", checkbox="therapy")
    assert [(r.values["record_id"], r.values["therapy"]) for r in rows] == [
        ("1", "Oral agents"),
        ("1", "Insulin"),
    ]  # record 2 ticked nothing: no row
    assert all("therapy___1" not in r.values for r in rows)


def test_a_checkbox_cell_other_than_0_or_1_is_unreadable(tmp_path: Path) -> None:
    rows = [list(ROWS[0])]
    rows[0][7] = "yes"
    _write(tmp_path, rows)
    [plain] = _rows(tmp_path, "enrolment")
    assert isinstance(plain.values["therapy___2"], BadCell)
    [unpivoted] = _rows(tmp_path, "enrolment", checkbox="therapy")
    assert isinstance(unpivoted.values["therapy"], BadCell)


def test_an_unreadable_cell_is_a_row_error_of_the_field_that_reads_it() -> None:
    reader = F.text(Column(column="sex", map={"Male": "male"}), F.Options.resolve(*_options()))
    with pytest.raises(F.FieldProblem) as problem:
        reader({"sex": BadCell("code", "the code is not a choice")})
    assert (problem.value.column, problem.value.rule) == ("sex", "code")


def _options():
    from fhir_adapter.mapping.spec import ReadOptions, TableSpec

    return TableSpec(file="x.csv"), ReadOptions()


def test_an_unreadable_cell_survives_the_spill(tmp_path: Path) -> None:
    bad = BadCell("date", "expected a date")
    row = SourceRow("export.csv", 4, {"id": "1", "d": dt.date(2019, 1, 2), "x": bad})
    with Spill(tmp_path) as spill:
        spill.add_table("t", ["id", "d", "x"], [("1", row)])
        [(subject, tables)] = list(spill.participants())
    assert subject == "1" and tables["t"][0].values == row.values


def test_the_mapped_columns_must_be_in_the_export(tmp_path: Path) -> None:
    _write(tmp_path)
    table = RedcapTable.open(tmp_path, RedcapSelection("dict.csv", "visit"))
    rows = table.rows(
        tmp_path,
        "export.csv",
        delimiter=",",
        encoding="utf-8",
        required_columns=["record_id", "visit_date", "redcap_data_access_group"],
    )
    with pytest.raises(SourceDataError, match="redcap_data_access_group"):
        list(rows)


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ("1, Male | 1, Female", "given twice"),
        ("1, Male | 2, Male", "share the label 'Male'"),
        ("1 Male | 2, Female", "must read 'code, label"),
    ],
)
def test_a_dictionary_with_unreadable_choices_is_refused(
    tmp_path: Path, choices: str, message: str
) -> None:
    path = tmp_path / "dict.csv"
    path.write_text(
        "Variable / Field Name,Form Name,Field Type,"
        '"Choices, Calculations, OR Slider Labels",Text Validation Type OR Show Slider Number\n'
        f'record_id,f,text,,\nsex,f,radio,"{choices}",\n',
        encoding="utf-8",
    )
    with pytest.raises(SourceDataError, match=message) as error:
        read_dictionary(tmp_path, "dict.csv")
    assert error.value.row == 3 and error.value.rule == "dictionary"


def test_a_file_without_the_dictionary_columns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dict.csv").write_text("field_name,form_name\nrecord_id,f\n", encoding="utf-8")
    with pytest.raises(SourceDataError, match="not a REDCap data dictionary"):
        read_dictionary(tmp_path, "dict.csv")


def test_the_api_metadata_spelling_is_read_too(tmp_path: Path) -> None:
    (tmp_path / "dict.csv").write_text(
        "field_name,form_name,field_type,select_choices_or_calculations,"
        'text_validation_type_or_show_slider_number\nid,f,text,,\nsex,f,radio,"1, M | 2, F",\n',
        encoding="utf-8",
    )
    assert read_dictionary(tmp_path, "dict.csv").fields["sex"].choices == {"1": "M", "2": "F"}
