"""The de-identification rules on small hand-made resources: PHI elements removed, unknown
elements refused, ages 90 and over grouped, references confined, keys and profiles checked."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.deid import (
    AGE_90_OR_OVER,
    DeidentificationError,
    Deidentifier,
    DeidKeyError,
    DeidProfileError,
    builtin_profile,
    key_from_secret,
    load_profile,
    resolve_profile,
)
from fhir_adapter.deid._dates import shift
from fhir_adapter.fhir.structure import empty_elements

KEY = b"k" * 32
STUDY = {
    "resourceType": "ResearchStudy",
    "id": "s-study-1",
    "identifier": [{"system": "urn:x:study", "value": "STUDY-X"}],
    "title": "A study",
    "status": "completed",
    "arm": [{"name": "arm-1"}],
}


def patient(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "s-pat-1",
        "identifier": [{"system": "urn:x/subject", "value": "X-001"}],
        "gender": "female",
        "birthDate": "1930-05-06",
        **extra,
    }


def observation(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "s-obs-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": "Patient/s-pat-1"},
        "effectiveDateTime": "2019-03-04",
        "valueQuantity": {
            "value": 7.1,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        },
        **extra,
    }


def deid(profile: str = "safe-harbor", **options: Any) -> Deidentifier:
    return Deidentifier(builtin_profile(profile), KEY, **options)


def test_names_addresses_telecom_narrative_notes_removed_and_counted() -> None:
    d = deid()
    out = d.participant(
        [
            patient(
                name=[{"family": "Doe"}],
                telecom=[{"system": "phone", "value": "555"}],
                address=[{"city": "X"}],
                text={"status": "generated", "div": "<div>x</div>"},
            ),
            observation(note=[{"text": "seen by Dr X"}]),
        ]
    )
    assert set(out[0]) == {"resourceType", "id", "identifier", "gender", "birthDate"}
    assert "note" not in out[1]
    removed = {element: reason for element, reason in d.report.removed}
    assert removed["Patient.name"] == "identifying"
    assert removed["Observation.note"] == "free-text"
    assert all(empty_elements(r) == [] for r in out)


def test_unknown_element_is_refused_without_its_value() -> None:
    with pytest.raises(DeidentificationError) as caught:
        deid().participant([patient(), observation(comment2="SECRET-VALUE")])
    assert caught.value.element == "Observation.comment2"
    assert "SECRET" not in str(caught.value)


def test_a_profile_can_drop_unknown_elements_or_classify_them() -> None:
    base = builtin_profile("safe-harbor")
    dropping = base.model_copy(update={"unknown_elements": "drop"})
    d = Deidentifier(dropping, KEY)
    out = d.participant([patient(), observation(comment2="x")])
    assert "comment2" not in out[1]
    assert d.report.removed[("Observation.comment2", "unknown-element")] == 1


def test_string_where_a_number_belongs_is_refused() -> None:
    bad = observation()
    bad["valueQuantity"] = {**bad["valueQuantity"], "value": "7.1 (J. Doe)"}
    with pytest.raises(DeidentificationError, match="unexpected-type"):
        deid().participant([patient(), bad])


def test_reference_to_another_participant_is_refused() -> None:
    other = observation(subject={"reference": "Patient/someone-else"})
    with pytest.raises(DeidentificationError, match="reference"):
        deid().participant([patient(), other])


def test_age_90_or_over_loses_birth_date_and_gets_the_flag() -> None:
    d = deid(as_of=date(2021, 1, 1))
    out = d.participant([patient(), observation()])
    assert "birthDate" not in out[0]
    assert out[0]["extension"] == [{"url": AGE_90_OR_OVER, "valueBoolean": True}]
    assert list(out[0])[:3] == ["resourceType", "id", "extension"]
    young = d.participant([patient(birthDate="1960-05-06"), observation()])[0]
    assert young["birthDate"] == "1960"
    # Without as_of the latest date of the participant counts: 88 at 2019-03-04.
    assert deid().participant([patient(), observation()])[0]["birthDate"] == "1930"


def test_year_only_birth_counts_as_born_on_1_january() -> None:
    out = deid().participant([patient(birthDate="1929"), observation()])
    assert "birthDate" not in out[0]  # could be 90 on 2019-03-04


def test_shift_keeps_precision_and_time() -> None:
    assert shift("2019-03-04", 10) == "2019-03-14"
    assert shift("2019-03-04T10:00:00Z", -4) == "2019-02-28T10:00:00Z"
    assert shift("2019", 182) == "2019" and shift("2019", -182) == "2019"
    assert shift("2019-12", 30) == "2020-01"


def test_references_to_the_study_match_the_study_id() -> None:
    d = deid()
    study = d.study([STUDY])[0]
    subject = {
        "resourceType": "ResearchSubject",
        "id": "s-rs-1",
        "status": "on-study",
        "study": {"reference": "ResearchStudy/s-study-1"},
        "individual": {"reference": "Patient/s-pat-1"},
        "assignedArm": "arm-1",
    }
    out = d.participant([patient(), subject])
    assert out[1]["study"]["reference"] == f"ResearchStudy/{study['id']}"
    assert out[1]["individual"]["reference"] == f"Patient/{out[0]['id']}"
    assert "assignedArm" not in out[1]  # not vouched for: no vocabulary given
    kept = deid(vocabulary={"arm-1"}).participant([patient(), subject])
    assert kept[1]["assignedArm"] == "arm-1"
    assert study["identifier"] == STUDY["identifier"]  # the study's own, kept


def test_inputs_are_not_modified() -> None:
    resources = [patient(name=[{"family": "Doe"}]), observation()]
    before = repr(resources)
    deid("registry-dates-shifted").participant(resources)
    assert repr(resources) == before


def test_key_rules() -> None:
    with pytest.raises(DeidKeyError):
        Deidentifier(builtin_profile("safe-harbor"), b"short")
    with pytest.raises(DeidKeyError):
        key_from_secret("  too short \n")
    assert key_from_secret(b"a" * 64 + b"\n") == b"a" * 64
    d = deid()
    assert "k" * 32 not in repr(d) and len(d.key_fingerprint) == 16


def test_profile_files(tmp_path: Path) -> None:
    good = tmp_path / "p.yaml"
    good.write_text(
        "format: fhir-adapter/deidentify/v1\nname: mine\ndates: {mode: shift, "
        "shift_window_days: 30}\nelements: {Observation.comment2: drop}\n"
    )
    profile = load_profile(good)
    assert profile.dates.shift_window_days == 30
    assert resolve_profile(str(good)) == profile
    assert resolve_profile("safe-harbor").name == "safe-harbor"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "format: fhir-adapter/deidentify/v1\nname: x\ndates: {mode: year}\nfree_text: keep\n"
    )
    with pytest.raises(DeidProfileError, match="free_text"):
        load_profile(bad)
    alias = tmp_path / "alias.yaml"
    alias.write_text("format: &f fhir-adapter/deidentify/v1\nname: *f\ndates: {mode: year}\n")
    with pytest.raises(DeidProfileError, match="alias"):
        load_profile(alias)
    with pytest.raises(DeidProfileError, match="safe-harbor"):
        builtin_profile("nope")


def test_the_profile_in_the_docs_is_the_built_in_safe_harbor(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "deidentification.md").read_text()
    block = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "p.yaml").write_text(block)
    documented = load_profile(tmp_path / "p.yaml")
    assert documented == builtin_profile("safe-harbor").model_copy(
        update={"description": documented.description}
    )
