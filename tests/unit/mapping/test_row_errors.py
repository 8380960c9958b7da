"""Each class of bad row: named precisely; under ``--on-bad-row participant`` the participant
is left out whole, under the default ``row`` exactly the bad row and its dependents."""

from __future__ import annotations

import csv
import json

import pytest

from fhir_adapter.errors import SourceDataError
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.mapping.dependents import BadRowPolicy
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping


def _run(study_a_mapping, directory, strict=False, on_bad_row=None, rejects_dir=None):
    mapping = StudyMapping(
        load_mapping(study_a_mapping),
        directory,
        strict=strict,
        on_bad_row=on_bad_row,
        rejects_dir=rejects_dir,
        check_models=True,
    )
    participants = list(mapping.participants())
    return mapping.report, participants


def test_clean_export_maps_everyone(tmp_path, tables, write_export, study_a_mapping):
    report, participants = _run(study_a_mapping, write_export(tmp_path, tables))
    assert report.errors == [] and report.model_problems == []
    assert report.participants_mapped == 2 and report.rows_rejected == 0
    assert report.resources["Observation"] == 12
    assert report.resources["MedicationStatement"] == 3


# (table, row index, column, planted value, rule, offending data row number)
BAD_ROWS = [
    ("visits.csv", 0, "hba1c_pct", "8.4%", "number"),
    ("visits.csv", 0, "hba1c_pct", "-1.0", "range"),
    ("visits.csv", 0, "fpg_mg_dl", "7.25", "range"),
    ("visits.csv", 0, "visit_date", "2019-02-30", "date"),
    ("subjects.csv", 0, "birth_date", "04/03/1960", "date"),
    ("subjects.csv", 0, "sex", "X", "code"),
    ("subjects.csv", 0, "arm", "ORAL", "code"),
    ("subjects.csv", 0, "consent_date", "", "required"),
    ("medications.csv", 0, "drug_code", "ASPIRIN", "code"),
    ("medications.csv", 0, "dose_unit", "tablets", "code"),
    ("medications.csv", 0, "end_date", "2017-01-01", "end-before-start"),
    ("cell_products.csv", 0, "viability_pct", "140", "range"),
    ("procedures.csv", 1, "product_id", "A-001-P9", "unknown-reference"),
    ("adverse_events.csv", 0, "severity", "GRADE 5", "code"),
]


@pytest.mark.parametrize(("table", "index", "column", "value", "rule"), BAD_ROWS)
def test_bad_row_rejects_the_participant_whole_under_participant_policy(
    tmp_path, tables, write_export, study_a_mapping, table, index, column, value, rule
):
    tables[table][index][column] = value
    report, participants = _run(
        study_a_mapping, write_export(tmp_path, tables), on_bad_row=BadRowPolicy.PARTICIPANT
    )
    assert [p.key for p in participants] == [
        p.key
        for p in _run(
            study_a_mapping,
            write_export(tmp_path / "ok", {**tables, "subjects.csv": tables["subjects.csv"][1:]}),
        )[1]
    ]
    assert report.participants_mapped == 1 and report.participants_rejected == 1
    (error,) = report.errors
    assert (error.file, error.row, error.column, error.rule) == (table, index + 2, column, rule)
    assert error.subject_row is not None and error.subject_row.row == 2
    if value and rule != "code":
        assert value not in str(error) and value not in json.dumps(report.as_dict())
    if rule == "code" and column != "arm":  # a code map's column holds codes, not PHI:
        assert f"'{value}' is not in the column's code map (it maps: " in error.message
    # Nothing of the rejected participant is emitted: every resource points at A-002's Patient.
    patient_ids = {
        r["id"] for p in participants for r in p.resources if r["resourceType"] == "Patient"
    }
    assert len(patient_ids) == 1
    # The bad row is rejected; the participant's other rows are left out with it.
    assert report.rows_rejected == 1
    assert (
        report.rows_left_out
        == sum(1 for rows in tables.values() for row in rows if "A-001" in row.values()) - 1
    )


# Under the default policy: (bad rows, rows left out with them) of A-001, as (file, row).
SUBJECT_ROWS_OF_A001 = {
    ("visits.csv", 2), ("procedures.csv", 2), ("procedures.csv", 3), ("cell_products.csv", 2),
    ("medications.csv", 2), ("medications.csv", 3), ("adverse_events.csv", 2),
}  # fmt: skip
LOST_UNDER_ROW_POLICY = {
    "visits.csv": (set(), False),
    "subjects.csv": (SUBJECT_ROWS_OF_A001, True),  # the participant's own row: all go
    "medications.csv": (set(), False),  # line 1 bad: line 2 does not depend on it
    "cell_products.csv": ({("procedures.csv", 3)}, False),  # the infusion of that product
    "procedures.csv": (set(), False),  # the infusion with a dangling reference is the bad row
    "adverse_events.csv": (set(), False),
}


@pytest.mark.parametrize(("table", "index", "column", "value", "rule"), BAD_ROWS)
def test_bad_row_loses_exactly_that_row_and_its_dependents(
    tmp_path, tables, write_export, study_a_mapping, table, index, column, value, rule
):
    clean = {
        r["id"]: (r, p.origins[ResourceKey.of(r)], p.key)
        for p in _run(study_a_mapping, write_export(tmp_path / "clean", tables))[1]
        for r in p.resources
    }
    a001 = next(key for _, o, key in clean.values() if (o.file, o.row) == ("subjects.csv", 2))
    tables[table][index][column] = value
    rejects = tmp_path / "rejects"
    report, participants = _run(
        study_a_mapping, write_export(tmp_path / "bad", tables), rejects_dir=rejects
    )
    (error,) = report.errors
    assert (error.file, error.row, error.column, error.rule) == (table, index + 2, column, rule)
    left_rows, whole = LOST_UNDER_ROW_POLICY[table]
    assert report.rows_rejected == 1 and report.rows_left_out == len(left_rows)
    assert report.participants_rejected == int(whole)
    assert report.participants_partial == int(not whole)
    lost = left_rows | {(table, index + 2)}
    mapped = {r["id"]: r for p in participants for r in p.resources}
    for rid, (resource, origin, owner) in clean.items():
        if whole and owner == a001:
            assert rid not in mapped
        elif resource["resourceType"] == "Provenance":  # lists the targets: changes with them
            continue
        elif (origin.file, origin.row) in lost:
            assert rid not in mapped, (origin, resource["resourceType"])
        else:
            assert mapped.get(rid) == resource, (origin, resource["resourceType"])
    # Only the participant with a lost row is incomplete (a sync then removes none of it).
    assert [p.key for p in participants if not p.complete] == ([] if whole else [a001])
    # The rejects folder holds the bad row and the rows left out, with their cells.
    written = {
        (line["source_file"], int(line["source_row"])): line
        for path in rejects.glob("*.csv")
        for line in csv.DictReader(path.open(encoding="utf-8"))
    }
    assert set(written) == lost
    assert written[(table, index + 2)]["outcome"] == "rejected"
    assert written[(table, index + 2)]["problem_rule"] == rule
    assert written[(table, index + 2)][column] == value
    assert oct(rejects.stat().st_mode & 0o777) == "0o700"


def test_a_dose_change_line_is_left_out_with_its_rejected_continuation(
    tmp_path, tables, write_export, study_a_mapping
):
    tables["medications.csv"][1]["dose"] = "abc"  # line 2 carries metformin on at 500 mg
    rejects = tmp_path / "rejects"
    report, participants = _run(
        study_a_mapping, write_export(tmp_path / "data", tables), rejects_dir=rejects
    )
    assert [(e.file, e.row, e.rule) for e in report.errors] == [("medications.csv", 3, "number")]
    lines = list(csv.DictReader((rejects / "medications.csv").open(encoding="utf-8")))
    assert [(line["source_row"], line["outcome"]) for line in lines] == [
        ("3", "rejected"),
        ("2", "left out"),  # its end on 2019-03-01 must not read as a stopped drug
    ]
    assert "medications.csv row 3" in lines[1]["problem_message"]
    statements = [
        r for p in participants for r in p.resources if r["resourceType"] == "MedicationStatement"
    ]
    assert len(statements) == 1  # A-002's only


def test_a_long_unmapped_cell_is_measured_not_shown(
    tmp_path, tables, write_export, study_a_mapping
):
    tables["subjects.csv"][0]["sex"] = "Someone Whose-Name Shifted Here"  # a shifted column
    report, _ = _run(study_a_mapping, write_export(tmp_path, tables))
    (error,) = report.errors
    assert "Someone" not in json.dumps(report.as_dict())
    assert "a value of 31 characters is not in the column's code map (it maps: F, M)" in str(error)


def test_unknown_subject_is_reported_and_others_proceed(
    tmp_path, tables, write_export, study_a_mapping
):
    tables["visits.csv"].append({**tables["visits.csv"][0], "subject_id": "A-999"})
    report, participants = _run(study_a_mapping, write_export(tmp_path, tables))
    assert report.participants_mapped == 2
    (error,) = report.errors
    assert (error.file, error.row, error.rule) == ("visits.csv", 4, "unknown-subject")
    assert "A-999" not in str(error)


def test_duplicate_visit_rows_are_both_rejected(tmp_path, tables, write_export, study_a_mapping):
    tables["visits.csv"].append(dict(tables["visits.csv"][0]))
    report, participants = _run(study_a_mapping, write_export(tmp_path, tables))
    assert [(e.file, e.row, e.rule) for e in report.errors] == [
        ("visits.csv", 2, "duplicate"),
        ("visits.csv", 4, "duplicate"),
    ]  # which of the two is right cannot be told: neither is kept
    assert "rows 2, 4" in report.errors[0].message
    assert report.participants_mapped == 2 and report.participants_partial == 1
    assert report.resources["Observation"] == 6  # A-002's only


def test_strict_mode_stops_at_the_first_error(tmp_path, tables, write_export, study_a_mapping):
    tables["visits.csv"][1]["hba1c_pct"] = "abc"
    with pytest.raises(SourceDataError) as error:
        _run(study_a_mapping, write_export(tmp_path, tables), strict=True)
    assert (error.value.file, error.value.row, error.value.column, error.value.rule) == (
        "visits.csv",
        3,
        "hba1c_pct",
        "number",
    )
    assert "abc" not in str(error.value)


def test_missing_column_names_file_and_column(tmp_path, tables, write_export, study_a_mapping):
    for row in tables["visits.csv"]:
        del row["fpg_mg_dl"]
    with pytest.raises(SourceDataError, match="fpg_mg_dl") as error:
        _run(study_a_mapping, write_export(tmp_path, tables))
    assert error.value.file == "visits.csv" and error.value.rule == "missing-column"


def test_wrong_encoding_is_a_file_error(tmp_path, tables, write_export, study_a_mapping):
    directory = write_export(tmp_path, tables)
    (directory / "adverse_events.csv").write_bytes(
        "subject_id,ae_id,onset_date,term,severity,serious,outcome\n"
        "A-001,A-001-AE1,2019-02-06,Fi\u00e8vre,MILD,N,RECOVERED\n".encode("latin-1")
    )
    with pytest.raises(SourceDataError, match="utf-8") as error:
        _run(study_a_mapping, directory)
    assert error.value.file == "adverse_events.csv"


def test_declared_cp1252_encoding_maps_a_windows_export(
    tmp_path, tables, write_export, study_a_mapping
):
    directory = write_export(tmp_path, tables)
    text = (directory / "adverse_events.csv").read_text(encoding="utf-8")
    (directory / "adverse_events.csv").write_bytes(
        text.replace("Fever", "Fi\u00e8vre \u2013 l\u00e9g\u00e8re").encode("cp1252")
    )
    variant = tmp_path / "cp1252.yaml"
    catalogue = study_a_mapping.parent / "codes"
    (tmp_path / "codes").mkdir()
    for item in catalogue.iterdir():
        (tmp_path / "codes" / item.name).write_bytes(item.read_bytes())
    variant.write_text(
        study_a_mapping.read_text(encoding="utf-8").replace(
            "adverse_events: {file: adverse_events.csv}",
            "adverse_events: {file: adverse_events.csv, encoding: cp1252}",
        ),
        encoding="utf-8",
    )
    report, participants = _run(variant, directory)
    assert report.errors == []
    events = [r for p in participants for r in p.resources if r["resourceType"] == "AdverseEvent"]
    assert events[0]["event"]["text"] == "Fi\u00e8vre \u2013 l\u00e9g\u00e8re"


def test_wrong_encoding_names_the_row(tmp_path, tables, write_export, study_a_mapping):
    directory = write_export(tmp_path, tables)
    (directory / "adverse_events.csv").write_bytes(
        "subject_id,ae_id,onset_date,term,severity,serious,outcome\n"
        "A-001,A-001-AE1,2019-02-06,Fi\u00e8vre,MILD,N,RECOVERED\n".encode("cp1252")
    )
    with pytest.raises(SourceDataError) as error:
        _run(study_a_mapping, directory)
    assert (error.value.row, error.value.column, error.value.rule) == (2, "term", "encoding")


def test_repeated_header_is_refused_before_mapping(tmp_path, tables, write_export, study_a_mapping):
    directory = write_export(tmp_path, tables)
    path = directory / "subjects.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace("site_id", "sex")  # a second 'sex' column would win silently
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceDataError, match="'sex' in cells 2 \\(B\\), 3 \\(C\\)") as error:
        _run(study_a_mapping, directory)
    assert (error.value.file, error.value.rule) == ("subjects.csv", "header")
