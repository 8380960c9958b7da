"""FHIRPath expressions as a field's source: read like a cell, checked at load, sandboxed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fhir_adapter.errors import SourceDataError
from fhir_adapter.mapping.expressions import ExpressionError, compile_expression


def _set(section: str, field: str, value: object):
    def edit(plain):
        plain[section][field] = value

    return edit


def of_type(resources, resource_type):
    return [r for r in resources if r["resourceType"] == resource_type]


def _genders(resources):
    return [p.get("gender") for p in of_type(resources, "Patient")]


def test_a_column_name_with_spaces_is_read_in_backticks(map_variant, tables):
    for row in tables["medications.csv"]:
        row["Dose in mg"] = row.pop("dose")
    edit = _set("medications", "dose", {"expression": "`Dose in mg`"})
    report, resources = map_variant(edit, tables)
    assert report.errors == []
    doses = [
        s["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"]
        for s in of_type(resources, "MedicationStatement")
    ]
    assert doses == [850, 500, 20]


def test_the_value_is_computed_then_read_like_a_cell(map_variant, tables):
    edit = _set("participants", "sex", {"expression": "iif(sex = 'M', 'male', 'female')"})
    report, resources = map_variant(edit, tables)
    assert report.errors == [] and _genders(resources) == ["male", "female"]


def test_the_value_goes_through_the_map(map_variant, tables):
    tables["subjects.csv"][0]["sex"] = "Female"
    tables["subjects.csv"][1]["sex"] = "Male"
    edit = _set(
        "participants",
        "sex",
        {"expression": "sex.substring(0, 1)", "map": {"M": "male", "F": "female"}},
    )
    report, resources = map_variant(edit, tables)
    assert report.errors == [] and _genders(resources) == ["female", "male"]


def test_a_number_result_is_read_as_a_number(map_variant, tables):
    edit = _set("medications", "dose", {"expression": "dose.toDecimal() / 1000"})
    report, resources = map_variant(edit, tables)
    assert report.errors == []
    quantities = [
        s["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"]
        for s in of_type(resources, "MedicationStatement")
    ]
    assert [Decimal(str(q)) for q in quantities] == [
        Decimal("0.85"),
        Decimal("0.5"),
        Decimal("0.02"),
    ]


@pytest.mark.parametrize(
    ("expression", "rule", "words"),
    [
        ("sex | birth_date", "expression", "gave 2 values"),
        ("iif(sex > 5, 'M', 'F')", "expression", "failed (Exception)"),
        ("sex.where($this = 'nobody')", "required", "gave no value"),
    ],
)
def test_a_bad_result_is_a_row_error_naming_the_field(map_variant, tables, expression, rule, words):
    column = {"expression": expression, "map": {"M": "male", "F": "female"}}
    report, resources = map_variant(_set("participants", "sex", column), tables)
    assert resources == []
    assert {(e.file, e.row, e.column, e.rule) for e in report.errors} == {
        ("subjects.csv", 2, None, rule),
        ("subjects.csv", 3, None, rule),
    }
    for error in report.errors:
        assert "field 'sex'" in error.message and words in error.message
        assert "1960" not in error.message and "'M'" not in error.message  # no cell value


def test_a_column_only_an_expression_names_must_be_in_the_header(map_variant, tables):
    edit = _set("participants", "sex", {"expression": "iif(gender = 'M', 'male', 'female')"})
    with pytest.raises(SourceDataError) as error:
        map_variant(edit, tables)
    assert (error.value.file, error.value.rule) == ("subjects.csv", "missing-column")
    assert "'gender'" in str(error.value)


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("sex.where(", "FHIRPath syntax error"),
        ("sex = 'M' )", "FHIRPath syntax error"),
        ("%resource.sex", "no %variables"),
    ],
)
def test_a_bad_expression_is_refused_at_load(plain_a, mapping_problems, expression, words):
    plain = plain_a()
    plain["participants"]["sex"] = {"expression": expression}
    found = mapping_problems(plain)
    assert found and words in found[0][0]
    assert found[0][1] == ["participants", "sex", "expression"]


def test_the_columns_an_expression_reads():
    expression = compile_expression(
        "iif(Kind = 'X' and `Dose unit`.exists(), Date.toDate(), Other.ofType(String))"
    )
    assert expression.columns == ("Kind", "Dose unit", "Date", "Other")
    with pytest.raises(ExpressionError):
        compile_expression("Kind.where(")
