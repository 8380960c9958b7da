"""ViewDefinition validation: every refusal names the JSON path, before any data is read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.views import ViewDefinitionError, load_view, parse_view, run_view

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "birthDate": "1970-06",
    "name": [{"family": "F", "given": ["A", "B"]}],
}


def view(*columns: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resource": "Patient", "select": [{"column": list(columns)}], **extra}


def col(name: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "path": path, **extra}


@pytest.mark.parametrize(
    ("definition", "key", "words"),
    [
        (
            {"resource": "Observaton", "select": [{"column": [col("id", "id")]}]},
            "resource",
            "not a FHIR R4 resource type",
        ),
        ({"resource": "Patient", "select": []}, "select", "non-empty array"),
        (
            {"resource": "Patient", "select": [{"foreach": "name", "column": []}]},
            "select[0].foreach",
            "unknown element",
        ),
        (view(col("id", "id", colection=True)), "select[0].column[0].colection", "unknown"),
        (view(col("1st", "id")), "select[0].column[0].name", "must match"),
        (
            view(col("id", "id"), col("id", "name.family")),
            "select[0].column[1].name",
            "already defined",
        ),
        (view(col("v", "name.where(")), "select[0].column[0].path", "syntax error"),
        (view(col("v", "name.family )")), "select[0].column[0].path", "syntax error"),
        (view(col("v", "name.family = %nope")), "select[0].column[0].path", "%nope"),
        (
            view(col("v", "birthDate.lowBoundary() = @1970")),
            "select[0].column[0].path",
            "last step",
        ),
        (view(col("v", "a or birthDate.lowBoundary()")), "select[0].column[0].path", "last step"),
        (view(col("v", "id", collection="yes")), "select[0].column[0].collection", "true or false"),
        (
            {
                "resource": "Patient",
                "select": [
                    {"forEach": "name", "forEachOrNull": "name", "column": [col("v", "family")]}
                ],
            },
            "select[0]",
            "only one of",
        ),
        (
            view(col("v", "id"), constant=[{"name": "c", "valueString": "x", "valueCode": "y"}]),
            "constant[0]",
            "exactly one value",
        ),
        (view(col("v", "id"), where=[{"path": ""}]), "where[0].path", "non-empty string"),
    ],
)
def test_invalid_views_are_refused_at_their_json_path(
    definition: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(ViewDefinitionError) as caught:
        parse_view(definition, file="v.json")
    assert caught.value.key == key
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"v.json [{key}]: ")


def test_load_view_names_the_file_for_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"resource": "Patient",\n "select": [}')
    with pytest.raises(ViewDefinitionError, match=r"broken.json: not valid JSON \(line 2"):
        load_view(path)


def test_load_view_refuses_a_huge_file(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(view(col("id", "id"), description="x" * (1 << 20))))
    with pytest.raises(ViewDefinitionError, match="larger than"):
        load_view(path)


def test_a_boundary_as_last_step_and_the_reference_keys_work() -> None:
    definition = parse_view(
        view(
            col("low", "birthDate.lowBoundary()", type="date"),
            col("high", "birthDate.highBoundary(6)", type="date"),
            col("given", "name.given.join('|')"),
            col("key", "getResourceKey()"),
        )
    )
    assert list(run_view(definition, [PATIENT])) == [
        {"low": "1970-06-01", "high": "1970-06", "given": "A|B", "key": "p1"}
    ]


@pytest.mark.parametrize(
    ("reference", "wanted", "key"),
    [
        ("Patient/p1", "Patient", "p1"),
        ("https://fhir.example.org/fhir/Patient/p1/_history/3", "Patient", "p1"),
        ("Patient/p1", "Group", None),
        ("urn:uuid:0a8e6f0e-0000-4000-8000-000000000000", "Patient", None),
    ],
)
def test_get_reference_key_reads_literal_references(
    reference: str, wanted: str, key: str | None
) -> None:
    definition = parse_view(
        {
            "resource": "Observation",
            "select": [{"column": [col("k", f"subject.getReferenceKey({wanted})")]}],
        }
    )
    observation = {"resourceType": "Observation", "id": "o", "subject": {"reference": reference}}
    assert list(run_view(definition, [observation])) == [{"k": key}]


def test_view_metadata_elements_are_accepted() -> None:
    definition = parse_view(
        view(
            col("id", "id"),
            name="patients",
            title="T",
            status="active",
            url="urn:x",
            fhirVersion=["4.0.1"],
            description="d",
        )
    )
    assert definition.column_names == ("id",)
