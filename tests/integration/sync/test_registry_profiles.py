"""Registry profiles against the real server: a small synthetic Observation profile (category
laboratory, effective[x] a dateTime) is loaded with --profile-dir; `validate --server` reports
the resources that break it with their source rows, and `sync --require-profile` sends the
participants whose resources conform and refuses the other, writing nothing of it, on every
run."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.client import FhirClient
from fhir_adapter.kinds import registry
from fhir_adapter.profiles import ProfileCheck, ProfileError, resolve_profiles

from .conftest import Study, held

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "registry_profiles" / "StructureDefinition-lab-observation.json"
VITALS = ("weight_kg", "height_cm", "bmi_kg_m2")


def _profile(tag: str) -> dict[str, Any]:
    """The shipped example profile under a URL and id of this test's own."""
    profile = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    profile["id"] = f"t{tag}-lab-observation"
    profile["url"] = profile["url"].replace("/registry/", f"/test-{tag}/")
    return profile


@pytest.fixture
def registry_study(make_study, tmp_path: Path) -> tuple[Study, Path, str]:
    """Study A's first three subjects, A-002 and A-003 with lab results only (vital signs
    blanked), and a folder holding the lab-observation profile under a unique URL."""
    study = make_study("study_a", subjects=3)

    def labs_only(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        for row in rows:
            if row["subject_id"] != "A-001":
                row.update({column: "" for column in VITALS})
        return rows

    study.edit("visits.csv", labs_only)
    profile = _profile(uuid.uuid4().hex[:8])
    folder = tmp_path / "registry-profiles"
    folder.mkdir()
    (folder / f"StructureDefinition-{profile['id']}.json").write_text(json.dumps(profile))
    return study, folder, profile["url"]


def _by_subject(study: Study) -> dict[str, list[dict[str, Any]]]:
    mapping = study.mapping()
    found = {}
    for participant in mapping.participants():
        patient = participant.resources[0]
        assert patient["resourceType"] == "Patient"
        found[patient["identifier"][0]["value"]] = participant.resources
    return found


def _vital_ids(resources: list[dict[str, Any]]) -> set[str]:
    return {
        r["id"]
        for r in resources
        if r["resourceType"] == "Observation"
        and r["category"][0]["coding"][0]["code"] == "vital-signs"
    }


def _run(args: list[str]) -> Any:
    return CliRunner().invoke(main, args)


def test_validate_reports_what_breaks_the_registry_profile(registry_study):
    study, folder, url = registry_study
    subjects = _by_subject(study)
    vitals = _vital_ids(subjects["A-001"])
    assert vitals and not _vital_ids(subjects["A-002"]) and not _vital_ids(subjects["A-003"])
    args = ["--mapping", str(study.mapping_path), "--data", str(study.data_dir)]

    result = _run(
        [
            "validate",
            *args,
            "--server",
            study.server_url,
            "--profile-dir",
            str(folder),
            "--require-profile",
            url,
            "--json",
        ]
    )

    assert result.exit_code == 1, result.output
    report = json.loads(result.output)["validation"]
    errors = [f for f in report["findings"] if f["severity"] in ("error", "fatal")]
    assert {f["resource"] for f in errors} == {f"Observation/{i}" for i in vitals}
    assert {f["profile"] for f in errors} == {url}
    assert {f["location"] for f in errors} == {"Observation.category[0]"}
    assert {f["where"].split(" row ")[0] for f in errors} == {"visits.csv"}
    total = sum(len(r) for r in subjects.values()) + 1  # and the ResearchStudy
    assert report["resources"] == total


def test_an_unknown_required_profile_is_a_setup_error(registry_study):
    study, _, url = registry_study
    missing = url.replace("lab-observation", "not-loaded")
    result = _run(
        [
            "validate",
            "--mapping",
            str(study.mapping_path),
            "--data",
            str(study.data_dir),
            "--server",
            study.server_url,
            "--require-profile",
            missing,
        ]
    )
    assert result.exit_code == 7, result.output
    assert f"the server has no StructureDefinition with url {missing}" in result.output


def test_sync_refuses_the_participant_that_breaks_the_profile_and_sends_the_others(
    registry_study, client: FhirClient
):
    study, folder, url = registry_study
    subjects = _by_subject(study)
    args = [
        "sync",
        "--mapping",
        str(study.mapping_path),
        "--data",
        str(study.data_dir),
        "--server",
        study.server_url,
        "--ledger",
        str(study.ledger_path),
        "--require-profile",
        url,
        "--json",
    ]

    first = _run([*args, "--profile-dir", str(folder)])
    second = _run(args)

    for result in (first, second):
        assert result.exit_code == 1, result.output
        report = json.loads(result.output)
        assert report["participants"]["failed"] == 1
        refused = report["failures"]
        assert {f["resource"] for f in refused} == {
            f"Observation/{i}" for i in _vital_ids(subjects["A-001"])
        }
        assert {f["profile"] for f in refused} == {url}
        assert {f["file"] for f in refused} == {"visits.csv"}
        assert all(f["message"].startswith("Observation.category[0]: ") for f in refused)
    assert json.loads(first.output)["participants"]["synced"] == 2
    again = json.loads(second.output)
    assert again["participants"]["unchanged"] == 2
    assert sum(again["totals"][k] for k in ("created", "updated", "deleted", "marked")) == 0
    for subject, resources in subjects.items():
        for kind in {r["resourceType"] for r in resources}:
            ids = [r["id"] for r in resources if r["resourceType"] == kind]
            on_server = held(client, kind, ids)
            assert len(on_server) == (0 if subject == "A-001" else len(ids)), (subject, kind)
    key = study.mapping().spec.study.key
    assert held(client, "Patient", [registry.resource_id(key, "Patient", "A-001")]) == {}


def test_the_check_names_each_broken_element(registry_study, client: FhirClient):
    study, folder, url = registry_study
    _run(
        [
            "validate",
            "--mapping",
            str(study.mapping_path),
            "--data",
            str(study.data_dir),
            "--server",
            study.server_url,
            "--profile-dir",
            str(folder),
        ]
    )
    resources = _by_subject(study)["A-001"]
    lab = next(
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and r["category"][0]["coding"][0]["code"] == "laboratory"
    )
    period = {k: v for k, v in lab.items() if k != "effectiveDateTime"}
    period["id"] = f"{lab['id']}-p"
    period["effectivePeriod"] = {"start": lab["effectiveDateTime"]}
    vital = next(r for r in resources if r["id"] in _vital_ids(resources))
    patient = resources[0]

    required = resolve_profiles(client, [url])
    with ProfileCheck(client, required) as check:
        findings = check.findings([lab, period, vital, patient])

    assert {f.resource for f in findings} == {
        f"Observation/{period['id']}",
        f"Observation/{vital['id']}",
    }
    assert {(f.resource, f.element.split(".ofType")[0]) for f in findings} >= {
        (f"Observation/{period['id']}", "Observation.effective"),
        (f"Observation/{vital['id']}", "Observation.category[0]"),
    }
    assert {f.profile for f in findings} == {url}
    with pytest.raises(ProfileError, match="has no StructureDefinition with url"):
        resolve_profiles(client, [url + "-missing"])
