"""A mapping of a REDCap export is checked against the data dictionary before any row is
read, each problem with the mapping's line; a code the dictionary lacks is a row error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fhir_adapter.errors import MappingSpecError
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping

REPO = Path(__file__).resolve().parents[3]
MAPPING = REPO / "mappings" / "study_a_redcap.yaml"
DATA = REPO / "examples" / "study_a_redcap"


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = MAPPING.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    shutil.copytree(REPO / "mappings" / "codes", tmp_path / "codes", dirs_exist_ok=True)
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def _line(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def _problem(path: Path, data: Path = DATA) -> MappingSpecError:
    loaded = load_mapping(path)  # valid without data: the dictionary is in the data folder
    with pytest.raises(MappingSpecError) as error:
        StudyMapping(loaded, data)
    return error.value


SUBJECTS = (
    "redcap: {dictionary: data_dictionary.csv, instrument: enrolment, event: enrolment_arm_1}"
)


def test_a_missing_dictionary_names_the_mapping_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, SUBJECTS, SUBJECTS.replace("data_dictionary", "dd"))
    error = _problem(path)
    assert error.line == _line(path, "dictionary: dd.csv")
    assert error.key == "tables.subjects.redcap.dictionary"
    assert "file not found" in error.detail and "dd.csv" in error.detail


def test_an_unknown_instrument_lists_the_instruments(tmp_path: Path) -> None:
    path = _variant(tmp_path, SUBJECTS, SUBJECTS.replace("enrolment,", "enrollment,"))
    error = _problem(path)
    assert error.key == "tables.subjects.redcap.instrument"
    assert error.line == _line(path, "instrument: enrollment")
    assert "'enrollment' is not in the data dictionary" in error.detail
    assert "enrolment, visit, procedure, cell_product, medication, adverse_event" in error.detail


def test_a_column_of_another_instrument_is_refused_with_its_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, "  birth_date: birth_date\n", "  birth_date: visit_date\n")
    error = _problem(path)
    assert (error.key, error.line) == (
        "participants.birth_date.column",
        _line(path, "birth_date: visit_date"),
    )
    assert "field of instrument 'visit', not of 'enrolment'" in error.detail


def test_every_problem_is_listed_in_one_error(tmp_path: Path) -> None:
    path = _variant(tmp_path, "  term: ae_term\n", "  term: ae_termm\n")
    text = path.read_text(encoding="utf-8").replace("  onset: ae_onset\n", "  onset: onset\n")
    path.write_text(text, encoding="utf-8")
    error = _problem(path)
    assert [p.key for p in error.problems] == [
        "adverse_events.onset.column",
        "adverse_events.term.column",
    ]
    assert "'ae_termm' is not a column of instrument 'adverse_event'" in error.others[0].detail


def test_a_checkbox_field_must_be_declared_to_be_read_by_name(tmp_path: Path) -> None:
    path = _variant(tmp_path, "  birth_date: birth_date\n", "  birth_date: baseline_therapy\n")
    error = _problem(path)
    assert "checkbox field" in error.detail and "baseline_therapy___1" in error.detail


def test_an_unknown_checkbox_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, SUBJECTS, SUBJECTS.replace("}", ", checkbox: sex}"))
    error = _problem(path)
    assert error.key == "tables.subjects.redcap.checkbox"
    assert "checkbox fields: baseline_therapy" in error.detail


def test_the_subject_must_be_the_record_id(tmp_path: Path) -> None:
    old = "  table: adverse_events\n  subject: record_id\n"
    path = _variant(tmp_path, old, "  table: adverse_events\n  subject: ae_id\n")
    error = _problem(path)
    assert error.key == "adverse_events.subject"
    assert "record id field 'record_id'" in error.detail


def test_a_redcap_table_in_an_excel_file_is_refused_at_load(tmp_path: Path) -> None:
    old = "  medications:\n    file: redcap_export.csv\n"
    path = _variant(tmp_path, old, "  medications:\n    file: redcap_export.xlsx\n")
    with pytest.raises(MappingSpecError, match="REDCap raw export is a CSV") as error:
        load_mapping(path)
    assert error.value.key == "tables.medications.file"


def test_a_dictionary_outside_the_data_folder_is_refused_at_load(tmp_path: Path) -> None:
    path = _variant(tmp_path, SUBJECTS, SUBJECTS.replace("data_dictionary", "../dd"))
    with pytest.raises(MappingSpecError, match=r"goes up a folder") as error:
        load_mapping(path)
    assert error.value.key == "tables.subjects.redcap.dictionary"


def test_a_code_missing_from_the_dictionary_is_a_row_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    export = data / "redcap_export.csv"
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    # Row 2 is A-001's enrolment row; its 'sex' cell (5th column) holds code 1.
    cells = lines[1].split(",")
    assert cells[:2] == ["A-001", "enrolment_arm_1"] and cells[4] == "1"
    cells[4] = "9"
    lines[1] = ",".join(cells)
    export.write_text("".join(lines), encoding="utf-8")
    run = StudyMapping(load_mapping(MAPPING), data)
    mapped = list(run.participants())
    assert len(mapped) == 29 and run.report.participants_rejected == 1
    [error] = run.report.errors
    assert (error.file, error.row, error.column, error.rule) == (
        "redcap_export.csv",
        2,
        "sex",
        "code",
    )
    assert "not a choice of field 'sex'" in error.message
