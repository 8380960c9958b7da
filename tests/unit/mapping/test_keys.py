"""A record's own key: a column (as always), several columns, or the row's position."""

from __future__ import annotations

from fhir_adapter.kinds import registry


def _of(resources, resource_type):
    return [r for r in resources if r["resourceType"] == resource_type]


def _set(section, field, value, *, drop=()):
    def edit(plain):
        plain[section][field] = value
        for section_name, name in drop:
            plain[section_name].pop(name)

    return edit


def _identifiers(resources, resource_type):
    return [r["identifier"][0]["value"] for r in _of(resources, resource_type)]


def test_a_list_of_one_column_is_that_column(map_variant, tables):
    baseline = map_variant(lambda plain: None, tables)
    assert map_variant(_set("procedures", "id", ["procedure_id"]), tables) == baseline


def test_a_composite_key_joins_its_parts(map_variant, tables):
    edit = _set(
        "procedures",
        "id",
        ["procedure_type", "procedure_date"],
        drop=[("products", "harvest")],  # it names procedure_id values
    )
    report, resources = map_variant(edit, tables)
    assert report.errors == []
    assert _identifiers(resources, "Procedure") == [
        "A-001/HARVEST/2019-01-20",
        "A-001/INFUSION/2019-02-05",
        "A-002/INFUSION/2019-02-06",
    ]
    first = _of(resources, "Procedure")[0]
    assert first["id"] == registry.resource_id("study-a", "Procedure", "A-001/HARVEST/2019-01-20")


def test_a_blank_part_is_a_row_error(map_variant, tables):
    tables["procedures.csv"][2]["procedure_date"] = ""
    edit = _set(
        "procedures", "id", ["procedure_type", "procedure_date"], drop=[("products", "harvest")]
    )
    report, _ = map_variant(edit, tables)
    assert {(e.file, e.row, e.column, e.rule) for e in report.errors} == {
        ("procedures.csv", 4, "procedure_date", "required")
    }


def test_row_number_is_the_position_among_the_participants_rows(map_variant, tables):
    # study A numbers each participant's lines 1, 2, ... in file order: the same keys
    baseline = map_variant(lambda plain: None, tables)
    assert map_variant(_set("medications", "line", {"row_number": True}), tables) == baseline


def test_row_number_counts_after_where_and_follows_the_file_order(map_variant, tables):
    def edit(plain):
        plain["medications"]["line"] = {"row_number": True}
        plain["medications"]["where"] = "line_no != '1'"

    report, resources = map_variant(edit, tables)
    assert report.errors == []
    statements = _of(resources, "MedicationStatement")
    assert _identifiers(resources, "MedicationStatement") == ["A-001/1"]
    assert statements[0]["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 500

    tables["medications.csv"][:2] = tables["medications.csv"][1::-1]  # A-001 re-sorted
    _, resorted = map_variant(
        lambda plain: plain["medications"].update(line={"row_number": True}), tables
    )
    first = _of(resorted, "MedicationStatement")[0]
    assert first["identifier"][0]["value"] == "A-001/1"
    assert first["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 500  # was line 2
