"""``default:``: the study's value where the site records none (a blank cell)."""

from __future__ import annotations

STATUS = {"column": "status", "map": {"COMPLETED": "off-study", "ONGOING": "on-study"}}


def _status(column):
    def edit(plain):
        plain["participants"]["status"] = column

    return edit


def _statuses(resources):
    return [r["status"] for r in resources if r["resourceType"] == "ResearchSubject"]


def test_a_blank_cell_takes_the_default_through_the_map(map_variant, tables):
    tables["subjects.csv"][1]["status"] = ""
    tables["subjects.csv"][1]["end_date"] = tables["subjects.csv"][1]["end_reason"] = ""
    report, resources = map_variant(_status({**STATUS, "default": "ONGOING"}), tables)
    assert report.errors == [] and _statuses(resources) == ["off-study", "on-study"]


def test_without_a_default_the_blank_cell_is_a_row_error(map_variant, tables):
    tables["subjects.csv"][1]["status"] = ""
    report, _ = map_variant(_status(STATUS), tables)
    assert [(e.row, e.column, e.rule) for e in report.errors] == [(3, "status", "required")]


def test_a_site_without_the_column_gives_a_constant(map_variant, tables):
    for row in tables["subjects.csv"]:
        del row["status"]
    report, resources = map_variant(_status({"value": "off-study"}), tables)
    assert report.errors == [] and _statuses(resources) == ["off-study", "off-study"]


def test_a_default_is_checked_at_load(plain_a, mapping_problems):
    for column, words, key in [
        ({**STATUS, "default": "PAUSED"}, "not a key of this field's map", "default"),
        ({"column": "status", "default": "active"}, "not a known ResearchSubject", "default"),
        (
            {**STATUS, "default": "ONGOING", "required": False},
            "no effect with 'default'",
            "required",
        ),
        ({"value": "ONGOING", "map": STATUS["map"], "default": "ONGOING"}, "no effect", "default"),
    ]:
        plain = plain_a()
        plain["participants"]["status"] = column
        found = mapping_problems(plain)
        assert [loc for _, loc in found] == [["participants", "status", key]], column
        assert words in found[0][0]
