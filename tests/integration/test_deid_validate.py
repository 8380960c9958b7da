"""De-identified example resources pass the HAPI R4 server's ``$validate`` with no error,
under both built-in profiles: the first participants of study A and study B and enough others
to hold every resource type, the ResearchStudy, and a Patient grouped at 90 or over.

Run against a running server with FHIR_ADAPTER_TEST_SERVER=http://127.0.0.1:8090/fhir.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_adapter.deid import AGE_90_OR_OVER, Deidentifier, builtin_profile, catalogue_vocabulary
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping

REPO = Path(__file__).resolve().parents[2]
KEY = b"integration-test-key-0123456789abcdef0123"
PARTICIPANTS = 4


def _resources(name: str, profile: str) -> list[dict[str, Any]]:
    mapping = StudyMapping(
        load_mapping(REPO / "mappings" / f"{name}.yaml"), REPO / "examples" / name
    )
    deid = Deidentifier(
        builtin_profile(profile),
        KEY,
        vocabulary=catalogue_vocabulary(mapping.spec),
        as_of=date(2026, 1, 1),
    )
    out = deid.study(mapping.study_resources())
    seen: set[str] = set()
    for index, mapped in enumerate(mapping.participants()):
        kinds = {r["resourceType"] for r in mapped.resources}
        if index < PARTICIPANTS or kinds - seen:  # the first few, and every resource type
            out += deid.participant(mapped.resources)
            seen |= kinds
    # One participant aged 90 or over: birthDate removed, the age flag added.
    mapped = next(
        iter(
            StudyMapping(
                load_mapping(REPO / "mappings" / f"{name}.yaml"), REPO / "examples" / name
            ).participants()
        )
    )
    aged = deid.participant(
        [
            {**r, "birthDate": "1920-01-01"} if r["resourceType"] == "Patient" else r
            for r in mapped.resources
        ]
    )
    assert aged[0]["extension"][-1]["url"] == AGE_90_OR_OVER
    out.append(aged[0])
    return out


def _errors(http: httpx.Client, resource: dict[str, Any]) -> list[str]:
    answer = http.post(
        f"/{resource['resourceType']}/$validate", content=canonical_json(resource).encode()
    )
    outcome = answer.json()
    assert outcome.get("resourceType") == "OperationOutcome", answer.status_code
    return [
        f"{i.get('severity')} {i.get('expression') or i.get('location')}: "
        f"{i.get('diagnostics', '')[:200]}"
        for i in outcome.get("issue", [])
        if i.get("severity") in ("error", "fatal")
    ]


@pytest.mark.parametrize("profile", ["safe-harbor", "registry-dates-shifted"])
@pytest.mark.parametrize("name", ["study_a", "study_b"])
def test_deidentified_resources_validate(name: str, profile: str, fhir_http: httpx.Client) -> None:
    resources = _resources(name, profile)
    kinds = {r["resourceType"] for r in resources}
    assert len(kinds) == 11, kinds  # every type the examples write, Encounter included
    problems = {}
    for resource in resources:
        errors = _errors(fhir_http, resource)
        if errors:
            problems[f"{resource['resourceType']}/{resource['id']}"] = errors[:3]
    assert problems == {}
