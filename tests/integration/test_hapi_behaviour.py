"""The HAPI server behaves like the public sandbox in the ways our client relies on.

Each test checks what the server actually holds afterwards (reads and no-cache searches),
not only the status code. Facts: /work/shared/hapi/NOTES.md; FHIR REST rules:
https://hl7.org/fhir/R4/http.html
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

NO_CACHE = {"Cache-Control": "no-cache"}


def _client_id(prefix: str = "t") -> str:
    """A client-assigned id HAPI accepts: letters and digits, not purely numeric."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def _patient(system: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": value}], **extra}


def _count(http: httpx.Client, resource_type: str, system: str, value: str = "") -> int:
    """How many resources the server holds with this identifier, bypassing the search cache."""
    response = http.get(
        f"/{resource_type}",
        params={"identifier": f"{system}|{value}", "_summary": "count"},
        headers=NO_CACHE,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def _diagnostics(outcome: dict[str, Any]) -> str:
    assert outcome["resourceType"] == "OperationOutcome"
    return " ".join(issue.get("diagnostics", "") for issue in outcome["issue"])


def _severities(outcome: dict[str, Any]) -> set[str]:
    assert outcome["resourceType"] == "OperationOutcome"
    return {issue["severity"] for issue in outcome["issue"]}


def test_put_with_client_id_creates_the_resource(fhir_http, unique_system):
    resource_id = _client_id("pt")
    body = _patient(unique_system, "A", id=resource_id, gender="female")

    created = fhir_http.put(f"/Patient/{resource_id}", json=body)

    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == 'W/"1"'
    stored = fhir_http.get(f"/Patient/{resource_id}")
    assert stored.status_code == 200
    assert stored.json()["id"] == resource_id
    assert stored.json()["meta"]["versionId"] == "1"
    assert stored.json()["identifier"] == body["identifier"]


def test_purely_numeric_client_id_is_rejected(fhir_http, unique_system):
    numeric_id = str(uuid.uuid4().int)[:12]

    response = fhir_http.put(
        f"/Patient/{numeric_id}", json=_patient(unique_system, "N", id=numeric_id)
    )

    assert response.status_code == 400
    assert "HAPI-0960" in _diagnostics(response.json())
    assert fhir_http.get(f"/Patient/{numeric_id}").status_code == 404
    assert _count(fhir_http, "Patient", unique_system) == 0


def test_unchanged_put_keeps_the_version(fhir_http, unique_system):
    resource_id = _client_id("pt")
    body = _patient(unique_system, "A", id=resource_id, birthDate="1970-01-01")
    assert fhir_http.put(f"/Patient/{resource_id}", json=body).status_code == 201

    again = fhir_http.put(f"/Patient/{resource_id}", json=body)

    assert again.status_code == 200
    assert again.json()["meta"]["versionId"] == "1"
    history = fhir_http.get(f"/Patient/{resource_id}/_history", headers=NO_CACHE).json()
    assert history["total"] == 1


def test_transaction_with_one_bad_entry_writes_nothing(fhir_http, unique_system):
    patient_url = f"urn:uuid:{uuid.uuid4()}"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": _patient(unique_system, "P1"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "identifier": [{"system": unique_system, "value": "O1"}],
                    "subject": {"reference": patient_url},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
            # The target does not exist: referential integrity rejects the whole bundle.
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "y"},
                    "identifier": [{"system": unique_system, "value": "O2"}],
                    "subject": {"reference": f"Patient/{_client_id('missing')}"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }

    response = fhir_http.post("", json=bundle)

    assert response.status_code == 400, response.text
    assert "HAPI-1094" in _diagnostics(response.json())
    assert _count(fhir_http, "Patient", unique_system) == 0
    assert _count(fhir_http, "Observation", unique_system) == 0


def test_transaction_resolves_urn_uuid_references(fhir_http, unique_system):
    patient_url = f"urn:uuid:{uuid.uuid4()}"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": _patient(unique_system, "P1"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "identifier": [{"system": unique_system, "value": "O1"}],
                    "subject": {"reference": patient_url},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }

    response = fhir_http.post("", json=bundle)

    assert response.status_code == 200, response.text
    statuses = [entry["response"]["status"] for entry in response.json()["entry"]]
    assert statuses == ["201 Created", "201 Created"]
    patient_id = response.json()["entry"][0]["response"]["location"].split("/_history")[0]
    found = fhir_http.get(
        "/Observation", params={"identifier": f"{unique_system}|O1"}, headers=NO_CACHE
    ).json()
    assert found["entry"][0]["resource"]["subject"]["reference"] == patient_id


def test_conditional_update_with_two_matches_is_412(fhir_http, unique_system):
    for _ in range(2):
        assert fhir_http.post("/Patient", json=_patient(unique_system, "DUP")).status_code == 201

    response = fhir_http.put(
        f"/Patient?identifier={unique_system}|DUP",
        json=_patient(unique_system, "DUP", gender="male"),
    )

    assert response.status_code == 412
    assert "HAPI-0988" in _diagnostics(response.json())
    held = fhir_http.get(
        "/Patient", params={"identifier": f"{unique_system}|DUP"}, headers=NO_CACHE
    ).json()
    assert held["total"] == 2
    assert all(e["resource"]["meta"]["versionId"] == "1" for e in held["entry"])
    assert all("gender" not in e["resource"] for e in held["entry"])


def test_conditional_create_with_one_match_writes_nothing(fhir_http, unique_system):
    first = fhir_http.post("/Patient", json=_patient(unique_system, "C1"))
    assert first.status_code == 201

    again = fhir_http.post(
        "/Patient",
        json=_patient(unique_system, "C1"),
        headers={"If-None-Exist": f"identifier={unique_system}|C1"},
    )

    assert again.status_code == 200
    assert _count(fhir_http, "Patient", unique_system, "C1") == 1


def test_stale_if_match_is_409_and_keeps_the_newer_version(fhir_http, unique_system):
    resource_id = _client_id("pt")
    url = f"/Patient/{resource_id}"
    assert fhir_http.put(url, json=_patient(unique_system, "A", id=resource_id)).status_code == 201
    v2 = fhir_http.put(
        url,
        json=_patient(unique_system, "A", id=resource_id, gender="male"),
        headers={"If-Match": 'W/"1"'},
    )
    assert v2.status_code == 200

    stale = fhir_http.put(
        url,
        json=_patient(unique_system, "A", id=resource_id, gender="female"),
        headers={"If-Match": 'W/"1"'},
    )

    assert stale.status_code == 409
    assert "HAPI-0989" in _diagnostics(stale.json())
    stored = fhir_http.get(url).json()
    assert stored["meta"]["versionId"] == "2"
    assert stored["gender"] == "male"


def test_validate_accepts_a_valid_resource(fhir_http):
    patient = {"resourceType": "Patient", "gender": "female", "birthDate": "1970-01-01"}

    response = fhir_http.post("/Patient/$validate", json=patient)

    assert response.status_code == 200
    assert not _severities(response.json()) & {"error", "fatal"}


def test_validate_reports_errors_in_an_outcome_with_status_200(fhir_http):
    observation = {"resourceType": "Observation", "code": {"text": "no status"}}  # status 1..1

    response = fhir_http.post("/Observation/$validate", json=observation)

    assert response.status_code == 200
    outcome = response.json()
    assert "error" in _severities(outcome)
    assert "Observation.status" in _diagnostics(outcome)


def test_validate_answers_400_when_the_body_does_not_parse(fhir_http):
    # An invalid code for a required binding on a primitive fails in the parser, before
    # validation: the client must treat 400 from $validate as "invalid" too.
    response = fhir_http.post(
        "/Patient/$validate", json={"resourceType": "Patient", "gender": "not-a-gender"}
    )

    assert response.status_code == 400
    assert "error" in _severities(response.json())


def test_validate_does_not_check_external_code_systems(fhir_http):
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "0000-0"}]},
    }

    response = fhir_http.post("/Observation/$validate", json=observation)

    assert response.status_code == 200
    assert not _severities(response.json()) & {"error", "fatal"}


def test_searches_are_cached_unless_no_cache(fhir_http, unique_system):
    params = {"identifier": f"{unique_system}|"}
    assert fhir_http.post("/Patient", json=_patient(unique_system, "1")).status_code == 201
    assert fhir_http.get("/Patient", params=params).json()["total"] == 1
    assert fhir_http.post("/Patient", json=_patient(unique_system, "2")).status_code == 201

    cached = fhir_http.get("/Patient", params=params).json()
    fresh = fhir_http.get("/Patient", params=params, headers=NO_CACHE).json()

    assert cached["total"] == 1  # the stale, cached answer
    assert fresh["total"] == 2


def test_delete_of_a_referenced_resource_is_409_and_deleted_reads_are_410(fhir_http, unique_system):
    patient_id = _client_id("pt")
    assert (
        fhir_http.put(
            f"/Patient/{patient_id}", json=_patient(unique_system, "D", id=patient_id)
        ).status_code
        == 201
    )
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    observation_id = fhir_http.post("/Observation", json=observation).json()["id"]

    blocked = fhir_http.delete(f"/Patient/{patient_id}")
    assert blocked.status_code == 409
    # With the cascade interceptor registered (as on the sandbox) the message comes from it
    # and carries no HAPI-0515 code; it names the way out instead.
    assert "_cascade=delete" in _diagnostics(blocked.json())
    assert fhir_http.get(f"/Patient/{patient_id}").status_code == 200

    cascaded = fhir_http.delete(f"/Patient/{patient_id}", params={"_cascade": "delete"})
    assert cascaded.status_code == 200
    assert fhir_http.get(f"/Patient/{patient_id}").status_code == 410
    assert fhir_http.get(f"/Observation/{observation_id}").status_code == 410


def test_page_size_defaults_to_20_and_is_capped_at_500(fhir_http, unique_system):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": _patient(unique_system, str(i)),
                "request": {"method": "POST", "url": "Patient"},
            }
            for i in range(505)
        ],
    }
    assert fhir_http.post("", json=bundle).status_code == 200
    params = {"identifier": f"{unique_system}|"}

    default_page = fhir_http.get("/Patient", params=params, headers=NO_CACHE).json()
    capped_page = fhir_http.get(
        "/Patient", params={**params, "_count": "1000"}, headers=NO_CACHE
    ).json()

    assert len(default_page["entry"]) == 20
    assert len(capped_page["entry"]) == 500
    next_url = next(x["url"] for x in capped_page["link"] if x["relation"] == "next")
    assert "_count=500" in next_url


def test_inline_match_url_references_are_refused(fhir_http, unique_system):
    assert fhir_http.post("/Patient", json=_patient(unique_system, "M")).status_code == 201
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "identifier": [{"system": unique_system, "value": "O"}],
        "subject": {"reference": f"Patient?identifier={unique_system}|M"},
    }

    response = fhir_http.post("/Observation", json=observation)

    assert response.status_code == 400
    assert "HAPI-2282" in _diagnostics(response.json())
    assert _count(fhir_http, "Observation", unique_system) == 0


def test_external_references_are_stored_as_given(fhir_http, unique_system):
    external = "http://example.org/fhir/Patient/abc"
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "identifier": [{"system": unique_system, "value": "E"}],
        "subject": {"reference": external},
    }

    created = fhir_http.post("/Observation", json=observation)

    assert created.status_code == 201, created.text
    stored = fhir_http.get(f"/Observation/{created.json()['id']}").json()
    assert stored["subject"]["reference"] == external


def test_bulk_export_runs_to_a_manifest(fhir_http, unique_system):
    assert fhir_http.post("/Patient", json=_patient(unique_system, "X")).status_code == 201

    kickoff = fhir_http.get(
        "/$export", params={"_type": "Patient"}, headers={"Prefer": "respond-async"}
    )

    assert kickoff.status_code == 202
    status_url = kickoff.headers["Content-Location"]
    deadline = time.monotonic() + 120  # the local server runs job maintenance every 5 s
    while (poll := fhir_http.get(status_url)).status_code == 202:
        assert time.monotonic() < deadline, "bulk export did not finish in 120 s"
        time.sleep(1)
    assert poll.status_code == 200
    manifest = poll.json()
    assert manifest["error"] == []
    # One file or several (HAPI splits a large export; the shared server may hold many).
    types = [item["type"] for item in manifest["output"]]
    assert types and set(types) == {"Patient"}
