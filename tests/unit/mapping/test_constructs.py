"""Every construct the published JSON Schema accepts on a field is applied, or refused at load.

The test walks ``mappings/mapping.schema.json`` (not the models): for every field of every
section that takes a Column, and for every key a Column accepts (column, value, map,
required, format), it either sees the loader refuse the construct at that field's key, or
maps a small study-A-shaped export with and without the construct and shows the output
changes exactly as the construct says. A new field or a new Column key fails here until it
is covered. The schema's own ``x-reads``/``x-blank`` annotations are held to the behaviour.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fhir_adapter.errors import MappingSpecError, SourceDataError
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.mapping.checks import semantic_problems
from fhir_adapter.mapping.loader import LoadedMapping, load_mapping
from fhir_adapter.mapping.spec import MappingSpec
from fhir_adapter.pipeline import StudyMapping

REPO = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((REPO / "mappings" / "mapping.schema.json").read_text(encoding="utf-8"))
COLUMN_REF = "#/$defs/Column"
# The Column keys this test knows how to exercise; a new key must be added here.
CONSTRUCTS = {"column", "value", "expression", "lookup", "map", "required", "default", "format"}

# A long-layout section, so its fields are exercised too (study A itself is wide).
LONG_SECTION = {
    "layout": "long",
    "table": "labs",
    "subject": "subject_id",
    "date": "lab_date",
    "visit": "lab_visit",
    "analyte": {"column": "test", "map": {"HBA1C": "hba1c"}},
    "value": "result",
    "unit": {"column": "unit_text", "map": {"pct": "%"}},
}
LABS = [
    dict(
        subject_id="A-001",
        lab_visit="LAB1",
        lab_date="2019-02-03",
        test="HBA1C",
        result="8.1",
        unit_text="pct",
    ),
    dict(
        subject_id="A-002",
        lab_visit="LAB1",
        lab_date="2019-02-04",
        test="HBA1C",
        result="9.0",
        unit_text="pct",
    ),
]


def _refs(node: Any) -> Iterator[str]:
    """$refs directly in a property schema (through anyOf/oneOf/items, not into $defs)."""
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for key in ("anyOf", "oneOf", "allOf"):
            for option in node.get(key, []):
                yield from _refs(option)
        if "items" in node:
            yield from _refs(node["items"])


def _column_fields() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(top-level key, section definition, field, field schema) for every Column field."""
    found = []
    for top, prop in SCHEMA["properties"].items():
        for ref in _refs(prop):
            name = ref.rsplit("/", 1)[-1]
            for field, schema in SCHEMA["$defs"][name].get("properties", {}).items():
                if COLUMN_REF in _refs(schema):
                    found.append((top, name, field, schema))
    return found


FIELDS = _column_fields()


def test_the_walk_finds_every_section_and_the_known_constructs():
    assert set(SCHEMA["$defs"]["Column"]["properties"]) == CONSTRUCTS
    sections = {name for _, name, _, _ in FIELDS}
    assert sections == {
        "Participants",
        "Diagnosis",
        "WideObservations",
        "LongObservations",
        "Procedures",
        "Products",
        "Medications",
        "AdverseEvents",
    }
    assert all(s.get("x-reads") and s.get("x-blank") for *_, s in FIELDS)


# --- the base mapping and export, and running them ------------------------------------------


@pytest.fixture(scope="module")
def study_a_plain() -> dict[str, Any]:
    spec = load_mapping(REPO / "mappings" / "study_a.yaml").spec
    plain = spec.model_dump(exclude_unset=True, mode="json")
    plain["tables"]["labs"] = {"file": "labs.csv"}
    plain["observations"].append(copy.deepcopy(LONG_SECTION))
    plain["participants"]["stratum"] = "baseline_med_group"  # study A maps no stratum
    # The product's dose unit read from a column (study A's is a constant).
    plain["products"]["dose_unit"] = {"column": "dose_unit_text", "map": {"10^6/kg": "10*6/kg"}}
    return plain


def _frequency_mapping(plain: dict[str, Any]) -> None:
    del plain["medications"]["times_per_day"]
    plain["medications"]["frequency"] = {"column": "frequency"}


def _frequency_export(tables: dict[str, list[dict[str, str]]]) -> None:
    for row in tables["medications.csv"]:
        row["frequency"] = f"{row.pop('times_per_day')}x/day"


# A field the study A mapping cannot hold beside another (frequency and times_per_day are
# exclusive): (section, field) → how the base mapping and its export change to hold it.
ALTERNATIVES = {("Medications", "frequency"): (_frequency_mapping, _frequency_export)}


def _case_of(request: pytest.FixtureRequest) -> tuple[str | None, str | None]:
    """The (section definition, field) a test is parametrized with, where it is."""
    params = getattr(request.node, "callspec", None)
    given = params.params if params else {}
    return given.get("definition"), given.get("field")


@pytest.fixture
def base_plain(study_a_plain, request) -> dict[str, Any]:
    definition, field = _case_of(request)
    plain = copy.deepcopy(study_a_plain)
    if (definition, field) in ALTERNATIVES:
        ALTERNATIVES[definition, field][0](plain)
    return plain


@pytest.fixture
def base_tables(tables, request) -> dict[str, list[dict[str, str]]]:
    definition, field = _case_of(request)
    products = [{**r, "dose_unit_text": "10^6/kg"} for r in tables["cell_products.csv"]]
    tables = {**tables, "labs.csv": [dict(r) for r in LABS], "cell_products.csv": products}
    if (definition, field) in ALTERNATIVES:
        ALTERNATIVES[definition, field][1](tables)
    return tables


def _section(plain: dict[str, Any], top: str, definition: str) -> dict[str, Any]:
    node = plain[top]
    if isinstance(node, list):
        layout = SCHEMA["$defs"][definition]["properties"]["layout"]["const"]
        return next(s for s in node if s["layout"] == layout)
    return node


def _as_dict(column: Any) -> dict[str, Any]:
    return {"column": column} if isinstance(column, str) else dict(column)


class Refused(Exception):
    def __init__(self, loc: list[Any], message: str):
        super().__init__(message)
        self.loc = [str(p) for p in loc]


def _spec(plain: dict[str, Any]) -> MappingSpec:
    """The loader's checks, in memory (the line numbers are tested through files below)."""
    try:
        spec = MappingSpec.model_validate(plain)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [p for p in error["loc"] if p not in ("wide", "long")]
        raise Refused(loc, error["msg"]) from None
    for message, loc in semantic_problems(spec):
        raise Refused(list(loc), message)
    return spec


class Runner:
    def __init__(self, tmp_path: Path, write_export):
        self.tmp_path, self.write_export, self.count = tmp_path, write_export, 0

    def __call__(self, plain: dict[str, Any], tables: dict[str, list[dict[str, str]]]) -> Any:
        """The outcome: every resource as JSON and every row error, or the file error."""
        spec = _spec(plain)
        self.count += 1
        directory = self.write_export(self.tmp_path / f"run{self.count}", tables)
        loaded = LoadedMapping(spec=spec, path=self.tmp_path / "variant.yaml", digest="0" * 64)
        mapping = StudyMapping(loaded, directory)
        try:
            resources = [r for p in mapping.participants() for r in p.resources]
        except SourceDataError as error:
            return ("file-error", error.file, error.rule)
        for resource in resources:
            assert _empty_paths(resource) == [], resource["resourceType"]
        errors = sorted((e.file, e.row or 0, e.column or "", e.rule) for e in mapping.report.errors)
        return tuple(canonical_json(r) for r in resources), tuple(errors)


def _empty_paths(node: Any, path: str = "") -> list[str]:
    """Independent of fhir/structure.py: null, '', {} or [] anywhere."""
    if node is None or node == "" or node == {} or node == []:
        return [path]
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _empty_paths(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _empty_paths(v, f"{path}[{i}]")]
    return []


@pytest.fixture
def run(tmp_path, write_export) -> Runner:
    return Runner(tmp_path, write_export)


class Case:
    """One field of the base mapping: where it is and what its column holds."""

    def __init__(self, plain, tables, top, definition, field):
        self.plain = copy.deepcopy(plain)
        self.section = _section(self.plain, top, definition)
        assert field in self.section, f"the base mapping lacks {definition}.{field}: add it"
        self.field = field
        self.original = _as_dict(self.section[field])
        self.file = self.plain["tables"][self.section["table"]]["file"]
        self.column = self.original["column"]
        self.tables = tables
        self.loc = [
            top,
            *([str(self.plain[top].index(self.section))] if top == "observations" else []),
            field,
        ]

    def with_field(self, **column: Any) -> dict[str, Any]:
        self.section[self.field] = column
        return copy.deepcopy(self.plain)

    def with_cells(self, change) -> dict[str, list[dict[str, str]]]:
        tables = copy.deepcopy(self.tables)
        for row in tables[self.file]:
            row[self.column] = change(row[self.column])
        return tables

    def first_value(self) -> str:
        return next(r[self.column] for r in self.tables[self.file] if r[self.column].strip())


def _refused_at(run: Runner, plain, loc: list[str]) -> Refused | None:
    try:
        _spec(plain)
    except Refused as refused:
        assert refused.loc[: len(loc)] == loc, (refused.loc, str(refused))
        return refused
    return None


PARAMS = [pytest.param(top, d, f, s, id=f"{d}.{f}") for top, d, f, s in FIELDS]


@pytest.mark.parametrize(("top", "definition", "field", "schema"), PARAMS)
def test_column_is_applied(run, base_plain, base_tables, top, definition, field, schema):
    case = Case(base_plain, base_tables, top, definition, field)
    baseline = run(case.plain, case.tables)
    assert baseline[0] != "file-error" and baseline[1] == ()
    renamed = {k: v for k, v in case.original.items() if k != "column"}
    plain = case.with_field(column="renamed_col", **renamed)
    tables = copy.deepcopy(case.tables)
    for row in tables[case.file]:
        row["renamed_col"] = row.pop(case.column)
    assert run(plain, tables) == baseline
    assert run(base_plain, tables)[0] == "file-error"  # the old name is really gone


@pytest.mark.parametrize(("top", "definition", "field", "schema"), PARAMS)
def test_map_is_applied(run, base_plain, base_tables, top, definition, field, schema):
    case = Case(base_plain, base_tables, top, definition, field)
    baseline = run(case.plain, case.tables)
    old_map = case.original.get("map")
    cells = {r[case.column] for r in case.tables[case.file] if r[case.column].strip()}
    new_map = {f"L:{v}": (old_map[v] if old_map else v) for v in sorted(cells)}
    plain = case.with_field(**{**case.original, "map": new_map})
    relabelled = case.with_cells(lambda v: f"L:{v}" if v.strip() else v)
    if _refused_at(run, plain, [*case.loc, "map"]):
        return
    assert run(plain, relabelled) == baseline  # the map reads the relabelled codes
    assert run(base_plain, relabelled) != baseline  # and without it they read otherwise


@pytest.mark.parametrize(("top", "definition", "field", "schema"), PARAMS)
def test_value_is_applied(run, base_plain, base_tables, top, definition, field, schema):
    case = Case(base_plain, base_tables, top, definition, field)
    constant = case.first_value()
    everywhere = case.with_cells(lambda v: constant)
    garbage = case.with_cells(lambda v: "?? not a value")
    spec = {k: v for k, v in case.original.items() if k in ("map", "format")}
    plain = case.with_field(value=constant, **spec)
    if _refused_at(run, plain, [*case.loc, "value"]):
        return
    # The constant reads exactly as if every cell held it, whatever the column holds (a row
    # error it causes, such as an end before the start, names no column: it has none).
    assert _columnless(run(plain, garbage)) == _columnless(run(base_plain, everywhere))
    assert run(base_plain, garbage) != run(base_plain, everywhere)


@pytest.mark.parametrize(("top", "definition", "field", "schema"), PARAMS)
def test_expression_is_applied(run, base_plain, base_tables, top, definition, field, schema):
    case = Case(base_plain, base_tables, top, definition, field)
    baseline = run(case.plain, case.tables)
    others = {k: v for k, v in case.original.items() if k != "column"}
    # Every filled cell gains a prefix the expression takes off again: the field reads as
    # before, through its map and format, and blank cells stay blank.
    plain = case.with_field(expression=f"`{case.column}`.substring(2)", **others)
    prefixed = case.with_cells(lambda v: f"X:{v}" if v.strip() else v)
    assert run(plain, prefixed) == baseline
    assert run(base_plain, prefixed) != baseline  # the prefix matters without it


@pytest.mark.parametrize(("top", "definition", "field", "schema"), PARAMS)
def test_lookup_is_applied(run, base_plain, base_tables, top, definition, field, schema):
    case = Case(base_plain, base_tables, top, definition, field)
    baseline = run(case.plain, case.tables)
    # Each row's value moves to the next row of the same participant (in a new column); the
    # lookup finds it there by a key the row names, so the field reads as before.
    tables = copy.deepcopy(case.tables)
    subject = case.section["subject"]
    rows = tables[case.file]
    for index, row in enumerate(rows):
        row["row_key"] = f"K{index}"
    for person in {r[subject] for r in rows}:
        own = [r for r in rows if r[subject] == person]
        for row, holder in zip(own, own[1:] + own[:1], strict=True):
            row["found_at"] = holder["row_key"]
            holder["moved"] = row[case.column]
    for row in rows:
        row[case.column] = "?? not read"
    others = {k: v for k, v in case.original.items() if k != "column"}
    lookup = {"table": case.section["table"], "match": "found_at", "on": "row_key"}
    plain = case.with_field(lookup={**lookup, "column": "moved"}, **others)
    assert run(plain, tables) == baseline
    plain = case.with_field(lookup={**lookup, "column": case.column}, **others)
    assert run(plain, tables) != baseline  # the column it reads matters


@pytest.mark.parametrize(("top", "definition", "field", "schema"), PARAMS)
def test_default_is_applied(run, base_plain, base_tables, top, definition, field, schema):
    case = Case(base_plain, base_tables, top, definition, field)
    baseline = run(base_plain, case.tables)
    index = next(i for i, r in enumerate(case.tables[case.file]) if r[case.column].strip())
    constant = case.tables[case.file][index][case.column]
    blanked = copy.deepcopy(case.tables)
    blanked[case.file][index][case.column] = ""
    assert run(base_plain, blanked) != baseline  # a blank cell matters ...
    kept = {k: v for k, v in case.original.items() if k in ("column", "map", "format")}
    plain = case.with_field(default=constant, **kept)
    # ... and every blank cell reads as if it held the default
    filled = copy.deepcopy(blanked)
    for row in filled[case.file]:
        row[case.column] = row[case.column] if row[case.column].strip() else constant
    assert run(plain, blanked) == run(base_plain, filled)
    for other in ({"required": False}, {"required": True}):
        refused = _refused_at(run, case.with_field(default=constant, **kept, **other), case.loc)
        assert refused is not None and refused.loc == [*case.loc, "required"]
    with_value = {k: v for k, v in kept.items() if k != "column"}
    refused = _refused_at(
        run, case.with_field(value=constant, default=constant, **with_value), case.loc
    )
    assert refused is not None and refused.loc == [*case.loc, "default"]


# A field that may be blank only together with another (the other is blanked with it).
COMPANIONS = {("Medications", "dose_unit"): "dose", ("Products", "dose_unit"): "dose"}


def _columnless(outcome: Any) -> Any:
    return outcome[0], tuple((f, r, rule) for f, r, _, rule in outcome[1])


@pytest.mark.parametrize(("top", "definition", "field", "schema"), PARAMS)
def test_required_is_applied(run, base_plain, base_tables, top, definition, field, schema):
    case = Case(base_plain, base_tables, top, definition, field)
    index = next(i for i, r in enumerate(case.tables[case.file]) if r[case.column].strip())
    blanked = copy.deepcopy(case.tables)
    blanked[case.file][index][case.column] = ""
    row_number = index + 2
    companion = COMPANIONS.get((definition, field))
    if companion:  # a unit may be blank only where its value is blank too
        blanked[case.file][index][_as_dict(case.section[companion])["column"]] = ""
        case.section[companion] = {**_as_dict(case.section[companion]), "required": False}
    required = case.with_field(**{**case.original, "required": True})
    outcome = run(required, blanked)
    assert (case.file, row_number, case.column, "required") in outcome[1]

    optional = case.with_field(**{**case.original, "required": False})
    refused = _refused_at(run, optional, [*case.loc, "required"])
    assert (refused is not None) == (schema["x-blank"] == "row-error"), schema["x-blank"]
    if refused:
        assert "cannot be left blank" in str(refused)
        return
    left_out = run(optional, blanked)
    assert left_out[1] == ()  # no row error: the element is left out ...
    assert left_out != run(optional, case.tables)  # ... so the output changed


@pytest.mark.parametrize(("top", "definition", "field", "schema"), PARAMS)
def test_format_is_applied(run, base_plain, base_tables, top, definition, field, schema):
    case = Case(base_plain, base_tables, top, definition, field)
    baseline = run(case.plain, case.tables)
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    years = case.with_cells(lambda v: v[:4] if iso.match(v) else v)
    explicit = case.with_field(**{**case.original, "format": "date"})
    by_year = case.with_field(**{**case.original, "format": "year"})
    if schema["x-reads"] != "date":
        assert _refused_at(run, explicit, [*case.loc, "format"])
        assert _refused_at(run, by_year, [*case.loc, "format"])
        return
    assert _refused_at(run, by_year, [*case.loc, "format"]) is None
    assert run(explicit, case.tables) == baseline  # 'date' is the default, spelt out
    outcome = run(by_year, years)
    assert outcome[1] == () and outcome != baseline  # year precision, no error
    assert run(base_plain, years)[1] != ()  # a year alone is not a full date


# --- 'where' on every section ----------------------------------------------------------------


def _sections_with_where() -> list[tuple[str, str]]:
    found = []
    for top, prop in SCHEMA["properties"].items():
        for ref in _refs(prop):
            name = ref.rsplit("/", 1)[-1]
            if "where" in SCHEMA["$defs"][name].get("properties", {}):
                found.append((top, name))
    return found


SECTIONS = _sections_with_where()


def test_every_section_takes_where():
    assert {name for _, name in SECTIONS} == {name for _, name, _, _ in FIELDS}


@pytest.mark.parametrize(("top", "definition"), [pytest.param(*s, id=s[1]) for s in SECTIONS])
def test_where_is_applied(run, base_plain, base_tables, top, definition):
    plain = copy.deepcopy(base_plain)
    section = _section(plain, top, definition)
    table = section["table"]
    file = plain["tables"][table]["file"]
    tables = copy.deepcopy(base_tables)
    for row in tables[file]:
        row["keep"] = "Y"
    baseline = run(base_plain, tables)
    # A copy of the first row that the filter must leave out (read, it is a duplicate).
    tables[file].append({**tables[file][0], "keep": "N"})
    assert run(base_plain, tables) != baseline
    for _, other in plain_sections(plain):
        if other["table"] == table:  # every section reading the table filters it
            other["where"] = "keep = 'Y'"
    assert run(plain, tables) == baseline


def plain_sections(plain: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for top, _ in SECTIONS:
        node = plain.get(top)
        for item in node if isinstance(node, list) else [node] if node else []:
            yield top, item


# --- own keys: a column, a list of columns, or the row's position -------------------------------

KEY_TYPES = {
    "Procedures": "Procedure",
    "Products": "BiologicallyDerivedProduct",
    "Medications": "MedicationStatement",
    "AdverseEvents": "AdverseEvent",
}


def _key_fields() -> list[tuple[str, str, str]]:
    found = []
    for top, name in SECTIONS:
        for field, schema in SCHEMA["$defs"][name]["properties"].items():
            if "#/$defs/RowNumber" in _refs(schema):
                found.append((top, name, field))
    return found


KEY_FIELDS = _key_fields()


def test_the_walk_finds_every_own_key():
    assert {(name, field) for _, name, field in KEY_FIELDS} == {
        ("Procedures", "id"),
        ("Products", "id"),
        ("Medications", "line"),
        ("AdverseEvents", "id"),
    }


@pytest.mark.parametrize(("top", "definition", "field"), KEY_FIELDS)
def test_key_forms_are_applied(run, base_plain, base_tables, top, definition, field):
    plain = copy.deepcopy(base_plain)
    plain["products"].pop("harvest")  # references name the other section's keys
    plain["procedures"].pop("product")
    section = _section(plain, top, definition)
    column = section[field]
    baseline = run(plain, base_tables)
    section[field] = [column]
    assert run(plain, base_tables) == baseline  # a list of one column is that column
    section[field] = [section["subject"], column]
    composite = run(plain, base_tables)
    section[field] = {"row_number": True}
    numbered = run(plain, base_tables)
    assert composite[1] == () and numbered[1] == ()
    values = _key_values(numbered, KEY_TYPES[definition])
    subjects = [v.split("/")[0] for v in values]
    # each participant's records numbered 1, 2, ... in row order
    assert values == [
        f"{subject}/{subjects[: i + 1].count(subject)}" for i, subject in enumerate(subjects)
    ]
    keys = _key_values(composite, KEY_TYPES[definition])
    assert keys and all(k.split("/")[0] == k.split("/")[1] for k in keys)  # subject/subject/id


def _key_values(outcome: Any, resource_type: str) -> list[str]:
    values = []
    for text in outcome[0]:
        resource = json.loads(text)
        if resource["resourceType"] == resource_type:
            identifier = resource["identifier"]  # a list, but one object on AdverseEvent
            values.append((identifier[0] if isinstance(identifier, list) else identifier)["value"])
    return values


# --- refusals carry file:line ----------------------------------------------------------------


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = (REPO / "mappings" / "study_a.yaml").read_text(encoding="utf-8")
    assert old in text, old
    (tmp_path / "codes").mkdir(exist_ok=True)
    catalogue = REPO / "mappings" / "codes" / "diabetes-cell-therapy.yaml"
    (tmp_path / "codes" / catalogue.name).write_text(catalogue.read_text(encoding="utf-8"))
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


@pytest.mark.parametrize(
    ("old", "new", "key", "needle", "why"),
    [
        (
            "  times_per_day: times_per_day",
            "  times_per_day: {column: times_per_day, map: {1x/day: '1', 2x/day: twice}}",
            "medications.times_per_day.map.2x/day",
            "2x/day",
            "not a whole number",
        ),
        (
            "  times_per_day: times_per_day",
            "  frequency: {column: times_per_day, map: {'1': 1x/day, '2': twice a fortnight}}",
            "medications.frequency.map.2",
            "twice a fortnight",
            "not frequency text",
        ),
        (
            "  times_per_day: times_per_day",
            "  frequency: {value: 1-2-1}",
            "medications.frequency.value",
            "1-2-1",
            "cannot be read as frequency",
        ),
        (
            "  dose: dose\n",
            "  dose: {column: dose, format: year}\n",
            "medications.dose.format",
            "format: year",
            "only to date fields",
        ),
        (
            "  status: {column: status,",
            "  status: {required: false, column: status,",
            "participants.status.required",
            "required: false",
            "cannot be left blank",
        ),
        (
            "  birth_date: birth_date",
            "  birth_date: {column: birth_date, map: {X: 03/04/1960}}",
            "participants.birth_date.map.X",
            "03/04/1960",
            "YYYY-MM-DD",
        ),
        (
            "  dose: dose\n",
            "  dose: {value: '1,5'}\n",
            "medications.dose.value",
            "1,5",
            "cannot be read as number",
        ),
        (
            "  arm: arm",
            "  arm: {value: IV, required: true}",
            "participants.arm.required",
            "value: IV",
            "no effect with a constant",
        ),
        (
            "  dose: dose\n",
            '  dose: {expression: "dose.where("}\n',
            "medications.dose.expression",
            "dose.where(",
            "FHIRPath syntax error",
        ),
        (
            '{column: hba1c_pct, analyte: hba1c, unit: "%"}',
            '{column: hba1c_pct, analyte: hba1c, unit: "%", decimals: 1}',
            "observations.0.values.0.decimals",
            "decimals: 1",
            "applies only with a 'convert_to'",
        ),
    ],
)
def test_refusals_name_file_line_and_key(tmp_path, old, new, key, needle, why):
    path = _variant(tmp_path, old, new)
    with pytest.raises(MappingSpecError, match=why) as error:
        load_mapping(path)
    assert (error.value.file, error.value.key) == (str(path), key)
    assert error.value.line == _line_of(path, needle)
