"""Dates in the wrong order are row errors naming file, row, column and rule, never the value."""

from __future__ import annotations

import pytest

from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.mapping.values import before
from fhir_adapter.pipeline import StudyMapping

# A-001 was born 1960-03-04 (conftest); each of these dates is put the day before.
BEFORE_BIRTH = [
    ("subjects.csv", 0, "consent_date"),
    ("subjects.csv", 0, "t2dm_diagnosis_date"),
    ("visits.csv", 0, "visit_date"),
    ("procedures.csv", 0, "procedure_date"),
    ("cell_products.csv", 0, "collection_date"),
    ("medications.csv", 0, "start_date"),
    ("adverse_events.csv", 0, "onset_date"),
]


def _errors(study_a_mapping, directory):
    mapping = StudyMapping(load_mapping(study_a_mapping), directory)
    # The participants mapped whole: under the default policy a bad row leaves its
    # participant mapped without it (test_row_errors proves exactly what goes).
    mapped = [
        p.resources[0]["identifier"][0]["value"] for p in mapping.participants() if p.complete
    ]
    return mapping.report.errors, mapped


@pytest.mark.parametrize(("table", "index", "column"), BEFORE_BIRTH)
def test_event_before_birth_is_a_row_error(
    tmp_path, tables, write_export, study_a_mapping, table, index, column
):
    tables[table][index][column] = "1960-03-03"
    errors, mapped = _errors(study_a_mapping, write_export(tmp_path, tables))
    assert mapped == ["A-002"]
    found = [(e.file, e.row, e.column, e.rule) for e in errors if e.rule == "before-birth"]
    assert found == [(table, index + 2, column, "before-birth")]
    assert "1960" not in str(errors[0])


def test_event_on_the_birth_day_is_fine(tmp_path, tables, write_export, study_a_mapping):
    tables["visits.csv"][0]["visit_date"] = "1960-03-04"
    errors, _ = _errors(study_a_mapping, write_export(tmp_path, tables))
    assert [e.rule for e in errors] == []


def test_enrolment_end_before_enrolment(tmp_path, tables, write_export, study_a_mapping):
    tables["subjects.csv"][1]["end_date"] = "2019-01-10"  # enrolled 2019-01-11
    errors, mapped = _errors(study_a_mapping, write_export(tmp_path, tables))
    assert mapped == ["A-001"]
    assert [(e.file, e.row, e.column, e.rule) for e in errors] == [
        ("subjects.csv", 3, "end_date", "end-before-start")
    ]
    assert "consent_date" in errors[0].message  # names the start's column, not its value


def test_medication_end_before_its_start(tmp_path, tables, write_export, study_a_mapping):
    tables["medications.csv"][2]["end_date"] = "2017-12-31"
    errors, mapped = _errors(study_a_mapping, write_export(tmp_path, tables))
    assert mapped == ["A-001"]
    assert [(e.row, e.column, e.rule) for e in errors] == [(4, "end_date", "end-before-start")]


def test_second_diagnosis_row_is_not_dropped_silently(
    tmp_path, tables, write_export, study_a_mapping
):
    # The diagnosis section reads one row per participant: a second one is an error.
    text = study_a_mapping.read_text(encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    (tmp_path / "codes").mkdir()
    for item in (study_a_mapping.parent / "codes").iterdir():
        (tmp_path / "codes" / item.name).write_bytes(item.read_bytes())
    mapping.write_text(
        text.replace("diagnosis:\n  table: subjects", "diagnosis:\n  table: diagnoses").replace(
            "  visits: {file: visits.csv}",
            "  visits: {file: visits.csv}\n  diagnoses: {file: diagnoses.csv}",
        ),
        encoding="utf-8",
    )
    tables["diagnoses.csv"] = [
        {"subject_id": "A-001", "t2dm_diagnosis_date": "2012-05-01"},
        {"subject_id": "A-001", "t2dm_diagnosis_date": "2013-05-01"},
        {"subject_id": "A-002", "t2dm_diagnosis_date": "2015-05-01"},
    ]
    errors, mapped = _errors(mapping, write_export(tmp_path / "d", tables))
    assert mapped == ["A-002"]
    assert [(e.file, e.row, e.rule) for e in errors] == [("diagnoses.csv", 3, "duplicate")]


@pytest.mark.parametrize(
    ("earlier", "later", "expected"),
    [
        ("1960-03-03", "1960-03-04", True),
        ("1960-03-04", "1960-03-04", False),
        ("1960", "1960-03-04", False),  # the year holds the day
        ("1959", "1960-03-04", True),
        ("1960-12-31", "1961", True),
        ("1961-01-01", "1960", False),
    ],
)
def test_before_compares_at_the_common_precision(earlier, later, expected):
    assert before(earlier, later) is expected


@pytest.mark.parametrize(
    ("table", "index", "column"),
    [
        ("visits.csv", 0, "visit_date"),
        ("procedures.csv", 1, "procedure_date"),
        ("medications.csv", 1, "start_date"),
        ("adverse_events.csv", 0, "onset_date"),
        ("subjects.csv", 0, "consent_date"),
    ],
)
def test_an_event_after_the_data_cutoff_is_a_row_error(
    tmp_path, tables, write_export, study_a_mapping, table, index, column
):
    text = study_a_mapping.read_text(encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    (tmp_path / "codes").mkdir()
    for item in (study_a_mapping.parent / "codes").iterdir():
        (tmp_path / "codes" / item.name).write_bytes(item.read_bytes())
    assert "  arms:" in text
    mapping.write_text(text.replace("  arms:", "  data_cutoff: 2020-06-30\n  arms:", 1))
    tables[table][index][column] = "2020-07-01"  # the day after the export was frozen
    errors, _ = _errors(mapping, write_export(tmp_path / "d", tables))
    found = [(e.file, e.row, e.column, e.rule) for e in errors]
    assert (table, index + 2, column, "after-cutoff") in found
    tables[table][index][column] = "2020-06-30"  # on the cut-off day itself: fine
    errors, _ = _errors(mapping, write_export(tmp_path / "e", tables))
    assert "after-cutoff" not in {e.rule for e in errors}
