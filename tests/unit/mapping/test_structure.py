"""The structural guard: a null or empty element anywhere makes a row error, never a resource."""

from __future__ import annotations

import pytest

from fhir_adapter.errors import MappingSpecError
from fhir_adapter.fhir.resources import ResourceFactory
from fhir_adapter.fhir.structure import empty_elements
from fhir_adapter.kinds import registry
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping


def test_sound_resource_has_no_empty_elements():
    assert empty_elements({"resourceType": "Patient", "id": "x", "active": False, "n": 0}) == []


def test_every_kind_of_empty_is_named_by_path():
    resource = {
        "resourceType": "MedicationStatement",
        "dosage": [{"doseAndRate": [{"doseQuantity": {"value": None, "unit": "mg"}}]}],
        "note": [],
        "subject": {},
        "status": "",
        "text": {"div": "  "},
    }
    assert empty_elements(resource) == [
        "MedicationStatement.dosage[0].doseAndRate[0].doseQuantity.value is null",
        "MedicationStatement.note is an empty array",
        "MedicationStatement.subject is an empty object",
        "MedicationStatement.status is an empty string",
        "MedicationStatement.text.div is an empty string",
    ]


def test_examples_build_no_empty_element(repo):
    for name in ("study_a", "study_b", "study_a_alt", "study_a_redcap", "study_a_hospital"):
        mapping = StudyMapping(
            load_mapping(repo / "mappings" / f"{name}.yaml"), repo / "examples" / name
        )
        for resource, _ in mapping.all_resources():
            assert empty_elements(resource) == [], resource["resourceType"]
        assert not [e for e in mapping.report.errors if e.rule == "structure"]


def test_an_empty_element_rejects_the_participant_naming_row_and_path(
    tmp_path, tables, write_export, study_a_mapping, monkeypatch
):
    build = ResourceFactory.participant

    def faulty(self, records):  # a builder bug: one element written as null
        built = build(self, records)
        for resource, _ in built:
            if resource["resourceType"] == "AdverseEvent":
                resource["outcome"] = None
        return built

    monkeypatch.setattr(ResourceFactory, "participant", faulty)
    mapping = StudyMapping(load_mapping(study_a_mapping), write_export(tmp_path, tables))
    mapped = list(mapping.participants())
    assert [p.resources[0]["id"] for p in mapped] == [
        registry.resource_id(mapping.spec.study.key, "Patient", "A-002")
    ]
    [error] = mapping.report.errors
    assert (error.file, error.row, error.rule) == ("adverse_events.csv", 2, "structure")
    assert "AdverseEvent.outcome is null" in error.message
    assert error.subject_row is not None and error.subject_row.row == 2
    assert mapping.report.participants_rejected == 1 and len(mapping.report.rejected_keys) == 1


def test_empty_study_value_is_a_mapping_error(tmp_path, study_a_mapping):
    loaded = load_mapping(study_a_mapping)
    arms = [arm.model_copy(update={"name": ""}) for arm in loaded.spec.study.arms]
    spec = loaded.spec.model_copy(
        update={"study": loaded.spec.study.model_copy(update={"arms": arms})}
    )
    mapping = StudyMapping(loaded.__class__(spec, loaded.path, loaded.digest), tmp_path)
    with pytest.raises(MappingSpecError, match="ResearchStudy.arm\\[0\\].name is an empty"):
        mapping.study_resources()


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("  primary_purpose: treatment\n", '  primary_purpose: ""\n', "study.primary_purpose"),
        (
            "  status: completed\n",
            "  status: completed\n  period_start: 01/02/2019\n",
            "study.period_start",
        ),
        ("{code: IV, name: intravenous,", '{code: IV, name: "",', "study.arms.0.name"),
        (
            "  status: completed\n",
            "  status: completed\n  period_start: 2019-05-01\n  period_end: 2019-04\n",
            "study.period_end",
        ),
    ],
)
def test_empty_or_malformed_study_values_are_refused_at_load(tmp_path, repo, old, new, key):
    text = (repo / "mappings" / "study_a.yaml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "codes").mkdir()
    for item in (repo / "mappings" / "codes").iterdir():
        (tmp_path / "codes" / item.name).write_bytes(item.read_bytes())
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(MappingSpecError) as error:
        load_mapping(path)
    assert error.value.key == key and error.value.line is not None
