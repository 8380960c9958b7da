"""``where:`` on a section: the rows it is false for are not the section's (no error)."""

from __future__ import annotations

import pytest


def _where(section: str, expression: str):
    def edit(plain):
        plain[section]["where"] = expression

    return edit


def _of(resources, resource_type):
    return [r for r in resources if r["resourceType"] == resource_type]


def test_rows_it_is_false_for_are_left_out_without_error(map_variant, tables):
    report, resources = map_variant(_where("medications", "drug_code = 'METFORMIN'"), tables)
    assert report.errors == [] and report.participants_mapped == 2
    statements = _of(resources, "MedicationStatement")
    assert [s["identifier"][0]["value"] for s in statements] == ["A-001/1", "A-001/2"]


def test_a_blank_cell_makes_it_not_true(map_variant, tables):
    tables["medications.csv"][1]["drug_code"] = ""  # would be a 'required' error if read
    report, resources = map_variant(_where("medications", "drug_code = 'METFORMIN'"), tables)
    assert report.errors == []
    assert len(_of(resources, "MedicationStatement")) == 1


def test_a_participant_it_leaves_out_is_not_mapped_at_all(map_variant, tables):
    report, resources = map_variant(_where("participants", "subject_id != 'A-002'"), tables)
    assert report.errors == [] and report.participants_mapped == 1
    subjects = {r["subject"]["reference"] for r in _of(resources, "MedicationStatement")}
    assert subjects == {f"Patient/{_of(resources, 'Patient')[0]['id']}"}


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("line_no > 1", "failed (Exception)"),  # text compared with a number
        ("line_no", "other than true or false"),
        ("(line_no = '1') | (line_no = '2')", "other than true or false"),
    ],
)
def test_a_failing_or_non_boolean_filter_is_a_row_error(map_variant, tables, expression, words):
    report, resources = map_variant(_where("medications", expression), tables)
    # Each medication row is rejected alone (--on-bad-row row): no statement, the rest kept.
    assert _of(resources, "MedicationStatement") == [] and _of(resources, "Patient")
    rows = {(e.file, e.row, e.column, e.rule) for e in report.errors}
    assert rows == {("medications.csv", n, None, "where") for n in (2, 3, 4)}
    assert all("'where' of medications" in e.message and words in e.message for e in report.errors)
