"""Property: random blank cells never produce an empty element; blank required cells are errors.

Rows come from the study A generator (a few subjects). The mapping is study A with
``required: false`` on every field that may be left out (``x-blank: omit`` in the schema),
so every optional column is exercised. Hypothesis blanks any set of cells; then:
- no resource holds null, "", {} or [] anywhere (checked here independently of the guard,
  and the guard itself never had to step in);
- a blank cell in a column the mapping requires is a row error at that file, row and column
  (unless the participant's own row already failed, which leaves the person out whole);
- a participant none of whose required cells is blank is mapped, whatever else is blank.
"""

from __future__ import annotations

import csv
import importlib.util
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_adapter.mapping.dependents import BadRowPolicy
from fhir_adapter.mapping.loader import LoadedMapping, load_mapping
from fhir_adapter.mapping.spec import MappingSpec, column_fields
from fhir_adapter.pipeline import StudyMapping

REPO = Path(__file__).resolve().parents[3]
SUBJECTS = 4
# A unit may be blank only with its dose: it stays required here (a blank one is an error).
KEEP_REQUIRED = {("medications", "dose_unit")}

Cell = tuple[str, int, str]  # file, index of the data row, column


def _generate(directory: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "examples_generate", REPO / "examples" / "generate.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate("a", directory, subjects=SUBJECTS)


def _optional_mapping() -> tuple[MappingSpec, set[tuple[str, str]]]:
    """Study A with every blank-capable field optional; also the (file, column) it requires."""
    loaded = load_mapping(REPO / "mappings" / "study_a.yaml")
    plain = loaded.spec.model_dump(exclude_unset=True, mode="json")
    for loc, section in loaded.spec.sections():
        node: Any = plain
        for part in loc:
            node = node[part]
        for name, column, declared in column_fields(section):
            if column is None or column.value is not None:
                continue
            if declared.blank and (loc[0], name) not in KEEP_REQUIRED:
                entry = node[name]
                node[name] = {
                    **({"column": entry} if isinstance(entry, str) else entry),
                    "required": False,
                }
    spec = MappingSpec.model_validate(plain)
    required: set[tuple[str, str]] = set()
    for _, section in spec.sections():
        file = spec.tables[section.table].file
        required.add((file, section.subject))
        for key in ("id", "line"):
            if isinstance(getattr(section, key, None), str):
                required.add((file, getattr(section, key)))
        for _, column, _ in column_fields(section):
            if column is not None and column.column and column.required:
                required.add((file, column.column))
    return spec, required


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> dict[str, list[dict[str, str]]]:
    directory = tmp_path_factory.mktemp("gen")
    _generate(directory)
    tables = {}
    for path in sorted((directory / "study_a").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            tables[path.name] = list(csv.DictReader(handle))
    return tables


@pytest.fixture(scope="module")
def mapping() -> tuple[LoadedMapping, set[tuple[str, str]]]:
    spec, required = _optional_mapping()
    return LoadedMapping(spec, REPO / "mappings" / "study_a.yaml", "0" * 64), required


def _empty_paths(node: Any, path: str = "") -> list[str]:
    if node is None or node == "" or node == {} or node == []:
        return [path or "."]
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _empty_paths(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _empty_paths(v, f"{path}[{i}]")]
    return []


def _write(directory: Path, tables: dict[str, list[dict[str, str]]]) -> None:
    for name, rows in tables.items():
        with (directory / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def _cells(export: dict[str, list[dict[str, str]]]) -> list[Cell]:
    return [
        (name, index, column)
        for name, rows in sorted(export.items())
        for index, row in enumerate(rows)
        for column in row
        if row[column].strip()
    ]


@st.composite
def blanks(draw, export) -> set[Cell]:
    return draw(st.sets(st.sampled_from(_cells(export)), max_size=20))


def test_generated_rows_map_cleanly(export, mapping):
    loaded, _ = mapping
    with tempfile.TemporaryDirectory() as folder:
        _write(Path(folder), export)
        run = StudyMapping(loaded, Path(folder))
        assert len(list(run.participants())) == SUBJECTS and run.report.errors == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_blanks(export, mapping, data):
    loaded, required = mapping
    blanked: set[Cell] = data.draw(blanks(export))
    tables = {name: [dict(row) for row in rows] for name, rows in export.items()}
    for name, index, column in blanked:
        tables[name][index][column] = ""
    with tempfile.TemporaryDirectory() as folder:
        _write(Path(folder), tables)
        # Under the default policy (bad rows left out alone) nothing comes out empty either.
        by_row = StudyMapping(loaded, Path(folder))
        for participant in by_row.participants():
            for resource in participant.resources:
                assert _empty_paths(resource) == [], resource["resourceType"]
        assert not [e for e in by_row.report.errors if e.rule == "structure"]
        run = StudyMapping(loaded, Path(folder), on_bad_row=BadRowPolicy.PARTICIPANT)
        mapped = list(run.participants())
    errors = {(e.file, e.row, e.column, e.rule) for e in run.report.errors}
    assert not [e for e in errors if e[3] == "structure"]
    for participant in mapped:
        for resource in participant.resources:
            assert _empty_paths(resource) == [], (resource["resourceType"], _empty_paths(resource))

    def owner(name: str, index: int) -> str:
        return export[name][index]["subject_id"]

    participant_columns = {
        column.column
        for _, column, _ in column_fields(loaded.spec.participants)
        if column is not None and column.column
    } | {"subject_id"}
    unowned = {(name, index) for name, index, column in blanked if column == "subject_id"}
    failed_subject_rows = {
        owner(name, index)
        for name, index, column in blanked
        if name == "subjects.csv" and column in participant_columns and (name, column) in required
    }
    broken, maybe = set(), set()
    for name, index, column in blanked:
        if (name, column) not in required:
            continue
        if (name, index) in unowned and column != "subject_id":
            continue  # the row belongs to no one: it is rejected for its subject cell alone
        if column == "subject_id" and name != "subjects.csv":
            # A row without its subject is rejected alone; a row others point to (a harvest)
            # takes its dependants with it, so its owner may go too (unknown-reference).
            maybe.add(owner(name, index))
        else:
            broken.add(owner(name, index))
        if owner(name, index) in failed_subject_rows and column not in participant_columns:
            continue  # the participant's own row failed: the person is left out unread
        assert (name, index + 2, column, "required") in errors, (name, index, column)
    mapped_subjects = {p.resources[0]["identifier"][0]["value"] for p in mapped}
    everyone = {row["subject_id"] for row in export["subjects.csv"]}
    assert everyone - broken - maybe <= mapped_subjects <= everyone - broken
