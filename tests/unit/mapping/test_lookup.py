"""Lookups: a field read from the participant's one matching row of a table."""

from __future__ import annotations

import pytest

HARVEST_DATE = {
    "lookup": {
        "table": "procedures",
        "match": "harvest_procedure_id",
        "on": "procedure_id",
        "column": "procedure_date",
    }
}


def _collected(lookup):
    def edit(plain):
        plain["products"]["collected"] = lookup

    return edit


def _dates(resources):
    return [
        r["collection"]["collectedDateTime"]
        for r in resources
        if r["resourceType"] == "BiologicallyDerivedProduct"
    ]


@pytest.fixture
def export(tables):
    tables["cell_products.csv"][0]["collection_date"] = "2019-01-25"  # not what is read
    return tables


def test_the_value_comes_from_the_matching_row(map_variant, export):
    report, resources = map_variant(_collected(HARVEST_DATE), export)
    assert report.errors == [] and _dates(resources) == ["2019-01-20"]


def test_match_may_be_an_expression(map_variant, export):
    by_kind = {
        "lookup": {
            "table": "procedures",
            "match": {"expression": "'HARVEST'"},
            "on": "procedure_type",
            "column": "procedure_date",
        }
    }
    report, resources = map_variant(_collected(by_kind), export)
    assert report.errors == [] and _dates(resources) == ["2019-01-20"]


def test_the_found_cell_is_read_with_its_own_tables_options(map_variant, export):
    for row in export["procedures.csv"]:
        day = row["procedure_date"]
        row["procedure_date"] = f"{day[8:]}/{day[5:7]}/{day[:4]}"

    def edit(plain):
        plain["tables"]["procedures"]["date_formats"] = ["%d/%m/%Y"]
        _collected(HARVEST_DATE)(plain)

    report, resources = map_variant(edit, export)
    assert report.errors == [] and _dates(resources) == ["2019-01-20"]


def test_no_matching_row_is_a_row_error(map_variant, export):
    export["cell_products.csv"][0]["harvest_procedure_id"] = "A-001-OTHER"
    report, resources = map_variant(_collected(HARVEST_DATE), export)
    assert [(e.file, e.row, e.column, e.rule) for e in report.errors] == [
        ("cell_products.csv", 2, "harvest_procedure_id", "lookup")
    ]
    assert "no row of this participant in table 'procedures'" in report.errors[0].message


def test_several_matching_rows_are_a_row_error(map_variant, export):
    by_kind = {
        "lookup": {
            "table": "procedures",
            "match": {"expression": "'INFUSION'"},
            "on": "procedure_type",
            "column": "procedure_date",
        }
    }
    second = dict(export["procedures.csv"][1], procedure_id="A-001-INF2", product_id="")
    export["procedures.csv"].append(second)
    report, _ = map_variant(_collected(by_kind), export)
    assert [(e.file, e.row, e.column, e.rule) for e in report.errors] == [
        ("cell_products.csv", 2, None, "lookup")
    ]
    assert "2 rows of this participant" in report.errors[0].message
    assert "field 'collected'" in report.errors[0].message


def test_only_the_participants_own_rows_are_searched(map_variant, export):
    other = dict(export["cell_products.csv"][0], product_id="A-002-P1", subject_id="A-002")
    other["harvest_procedure_id"] = "A-001-HARV"  # another participant's harvest
    export["cell_products.csv"].append(other)
    report, _ = map_variant(_collected(HARVEST_DATE), export)
    assert {(e.file, e.row, e.rule) for e in report.errors} == {("cell_products.csv", 3, "lookup")}


def test_a_table_no_section_reads_is_refused(plain_a, mapping_problems):
    plain = plain_a()
    plain["tables"]["extra"] = {"file": "extra.csv"}
    plain["products"]["collected"] = {
        "lookup": {"table": "extra", "match": "product_id", "on": "id", "column": "day"}
    }
    found = mapping_problems(plain)
    assert [loc for _, loc in found] == [["products", "collected", "lookup", "table"]]
