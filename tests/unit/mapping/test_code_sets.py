"""A coded field read without a code map is checked on every row: an unknown value is a
``code`` row error, never written as it is (``mapping/codesets.py``)."""

from __future__ import annotations

import pytest


def _unmapped(section: str, field: str):
    def edit(plain):
        plain[section][field] = {"column": plain[section][field]["column"]}

    return edit


@pytest.mark.parametrize(
    ("section", "field", "table", "column", "cell", "what"),
    [
        ("participants", "sex", "subjects.csv", "sex", "X", "administrative gender"),
        ("medications", "drug", "medications.csv", "drug_code", "ASPIRIN", "drug"),
        ("adverse_events", "severity", "adverse_events.csv", "severity", "GRADE 5", "severity"),
        ("procedures", "kind", "procedures.csv", "procedure_type", "BIOPSY", "procedure"),
    ],
)
def test_an_unknown_code_without_a_map_is_a_row_error(
    map_variant, tables, section, field, table, column, cell, what
):
    # The export already writes the target codes, so the mapping reads them without a map...
    targets = {
        "sex": "male",
        "drug": "metformin",
        "severity": "mild",
        "kind": "bone_marrow_harvest",
    }
    for row in tables[table]:
        row[column] = targets[field]
    report, _ = map_variant(_unmapped(section, field), tables)
    assert report.errors == []
    # ...and a cell that is not one is refused on its row, naming the code and what it is not.
    tables[table][0][column] = cell
    report, resources = map_variant(_unmapped(section, field), tables)
    (error,) = report.errors
    assert (error.file, error.row, error.column, error.rule) == (table, 2, column, "code")
    assert f"'{cell}' is not a known {what}" in error.message
    assert cell not in str(resources)


def test_an_expression_result_is_checked_too(map_variant, tables):
    def edit(plain):
        plain["participants"]["sex"] = {"expression": "iif(sex = 'M', 'male', 'femme')"}

    report, _ = map_variant(edit, tables)
    (error,) = report.errors  # A-002 is 'F': the expression gives 'femme'
    assert (error.row, error.column, error.rule) == (3, None, "code")
    assert "field 'sex': 'femme' is not a known administrative gender" in error.message
