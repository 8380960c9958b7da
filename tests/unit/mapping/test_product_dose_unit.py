"""products.dose_unit: a constant UCUM code (a plain string, as always) or a column."""

from __future__ import annotations

from decimal import Decimal

import pytest

FROM_COLUMN = {"column": "unit_text", "map": {"10^6/kg": "10*6/kg", "10^6": "10*6"}}


def _unit(plain_unit):
    def edit(plain):
        plain["products"]["dose_unit"] = plain_unit

    return edit


def _doses(resources):
    return [
        e["valueQuantity"]
        for r in resources
        if r["resourceType"] == "BiologicallyDerivedProduct"
        for e in r.get("extension", [])
        if e["url"].endswith("cell-dose")
    ]


UCUM = "http://unitsofmeasure.org"


def test_a_plain_string_is_the_constant_unit(map_variant, tables):
    report, resources = map_variant(_unit("10*6"), tables)
    assert report.errors == []
    assert _doses(resources) == [
        {"value": Decimal("1.2"), "unit": "10*6", "system": UCUM, "code": "10*6"}
    ]


@pytest.mark.parametrize(("cell", "code"), [("10^6/kg", "10*6/kg"), ("10^6", "10*6")])
def test_a_column_is_mapped_to_ucum(map_variant, tables, cell, code):
    tables["cell_products.csv"][0]["unit_text"] = cell
    report, resources = map_variant(_unit(FROM_COLUMN), tables)
    assert report.errors == []
    assert [(d["value"], d["code"]) for d in _doses(resources)] == [(Decimal("1.2"), code)]


@pytest.mark.parametrize(
    ("column", "cell", "rule"),
    [
        (FROM_COLUMN, "cells/kg", "code"),  # not in the map
        ({"column": "unit_text"}, "1e6 cells/kg", "unit"),  # no map: must be UCUM already
        ({"column": "unit_text", "required": False, "map": {"x": "10*6"}}, "", "required"),
    ],
)
def test_an_unusable_unit_is_a_row_error(map_variant, tables, column, cell, rule):
    tables["cell_products.csv"][0]["unit_text"] = cell
    report, resources = map_variant(_unit(column), tables)
    assert [(e.file, e.row, e.column, e.rule) for e in report.errors] == [
        ("cell_products.csv", 2, "unit_text", rule)
    ]


@pytest.mark.parametrize(
    ("unit", "loc"),
    [
        ("1e6 cells/kg", ["products", "dose_unit", "value"]),
        ({"column": "u", "map": {"a": "cells per kg"}}, ["products", "dose_unit", "map", "a"]),
    ],
)
def test_a_unit_that_is_not_ucum_is_refused_at_load(plain_a, mapping_problems, unit, loc):
    plain = plain_a()
    plain["products"]["dose_unit"] = unit
    assert [found for _, found in mapping_problems(plain)] == [loc]
