"""Mapping the shipped examples: determinism, golden participants, equivalence across shapes."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from fhir_adapter.fhir.bundle import transaction
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping
from fhir_adapter.pipeline.output import OutputWriter

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "unit" / "golden"
EXAMPLES = {
    "study_a": 30,
    "study_b": 118,
    "study_a_alt": 30,
    "study_a_redcap": 30,
    "study_a_hospital": 30,
}
# Two participants per study, pinned byte for byte (set UPDATE_GOLDEN=1 to rewrite after an
# intended change, and review the diff).
GOLDEN_PARTICIPANTS = {"study_a": 2, "study_b": 2, "study_a_redcap": 2, "study_a_hospital": 2}


def _map(name: str, check_models: bool = False) -> tuple[StudyMapping, list]:
    mapping = StudyMapping(
        load_mapping(REPO / "mappings" / f"{name}.yaml"),
        REPO / "examples" / name,
        check_models=check_models,
    )
    return mapping, [mapping.study_resources(), *list(mapping.participants())]


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_examples_map_completely(name):
    mapping, mapped = _map(name, check_models=True)
    report = mapping.report
    assert report.errors == [] and report.model_problems == []
    assert report.participants_mapped == EXAMPLES[name]
    for kind in ("Patient", "ResearchSubject", "Condition", "Provenance"):
        assert report.resources[kind] == EXAMPLES[name]
    ids = [r["id"] for p in mapped[1:] for r in p.resources]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9-]{1,64}", i) and not i.isdigit() for i in ids)


def test_expected_counts_for_study_a():
    mapping, _ = _map("study_a")
    counts = mapping.report.resources
    assert counts["Procedure"] == 90  # a harvest and two infusions each
    assert counts["BiologicallyDerivedProduct"] == 60
    assert counts["ResearchStudy"] == 1


def test_mapping_twice_gives_byte_identical_output(tmp_path):
    for run in ("one", "two"):
        mapping = StudyMapping(
            load_mapping(REPO / "mappings" / "study_b.yaml"), REPO / "examples" / "study_b"
        )
        writer = OutputWriter(tmp_path / run)
        writer.write_study(mapping.study_resources())
        for participant in mapping.participants():
            writer.write_participant(participant.key, participant.resources)
        writer.commit("{}")
    one = sorted((tmp_path / "one").rglob("*.*"))
    two = sorted((tmp_path / "two").rglob("*.*"))
    assert [p.relative_to(tmp_path / "one") for p in one] == [
        p.relative_to(tmp_path / "two") for p in two
    ]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one, two, strict=True))


@pytest.mark.parametrize("name", list(GOLDEN_PARTICIPANTS))
def test_golden_participants(name):
    _, mapped = _map(name)
    for participant in mapped[1 : 1 + GOLDEN_PARTICIPANTS[name]]:
        path = GOLDEN / name / f"{participant.key}.json"
        text = canonical_json(transaction(participant.resources)) + "\n"
        if os.environ.get("UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.read_text(encoding="utf-8") == text, f"{path} differs"


def _observations(name: str) -> dict[str, dict]:
    _, mapped = _map(name)
    return {
        r["id"]: r for p in mapped[1:] for r in p.resources if r["resourceType"] == "Observation"
    }


def test_alternative_shape_maps_to_the_same_resources_and_values():
    """study_a_alt is study A exported differently; only the mapping file differs."""
    a, alt = _observations("study_a"), _observations("study_a_alt")
    assert a.keys() == alt.keys()
    for rid, obs in a.items():
        other = alt[rid]
        q, q_alt = obs["valueQuantity"], other["valueQuantity"]
        loinc = obs["code"]["coding"][0]["code"]
        if loinc == "4548-4":  # kept as IFCC in the alternative shape
            assert q_alt["code"] == "mmol/mol"
            assert other["code"]["coding"][0]["code"] == "59261-8"
            ngsp = Decimal("0.09148") * q_alt["value"] + Decimal("2.152")
            assert abs(ngsp - q["value"]) <= Decimal("0.06"), rid
        elif loinc == "1558-6":  # glucose kept in mmol/L
            assert other["code"]["coding"][0]["code"] == "14771-0"
            assert abs(q_alt["value"] * Decimal("18.0156") - q["value"]) <= 1, rid
        else:  # C-peptide converted back to ng/mL; vitals identical
            assert other["code"] == obs["code"]
            assert q_alt.get("comparator") == q.get("comparator")
            assert abs(q_alt["value"] - q["value"]) <= Decimal("0.01"), rid


def test_bundle_spliced_from_resource_texts_equals_the_canonical_bundle():
    from fhir_adapter.fhir.bundle import transaction_json

    _, mapped = _map("study_b")
    for participant in mapped[1:4]:
        texts = [canonical_json(r) for r in participant.resources]
        assert transaction_json(participant.resources, texts) == canonical_json(
            transaction(participant.resources)
        )
