"""Transport behaviour of an EHR pull on a fake server (pytest-httpx): the Patient search by
escaped MRN, paging of Observations through the server's links, a participant not found or
found twice, and what the server returns beyond what was asked (dropped, counted, never
named in a later request)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from fhir_adapter.client import FhirClient, RetryPolicy
from fhir_adapter.ehr import EhrPullOptions, Enrolled, lab_targets, pull_labs
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.mapping.spec import MappingSpec

BASE = "https://ehr.example.org/fhir"
SYSTEM = "urn:oid:1.2.3.4"


@pytest.fixture(scope="module")
def spec() -> MappingSpec:
    return load_mapping("mappings/study_a.yaml").spec


def _client() -> FhirClient:
    return FhirClient(BASE, retry=RetryPolicy(max_attempts=1), max_concurrency=1)


def _bundle(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    links = [{"relation": "self", "url": BASE}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def _patient(pid: str, mrn: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "identifier": [{"system": SYSTEM, "value": mrn}]}


def _hba1c(oid: str, patient: str, value: float, unit: str = "%") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": f"2024-0{oid[-1]}-15T09:30:00+07:00",
        "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit},
    }


def _options() -> EhrPullOptions:
    return EhrPullOptions(dt.date(2024, 1, 1), dt.date(2024, 12, 31), page_size=2)


def _form(request: httpx.Request) -> dict[str, list[str]]:
    params = httpx.QueryParams(request.content.decode())
    return {key: params.get_list(key) for key in params}


def test_the_mrn_is_posted_escaped_and_observations_are_paged(httpx_mock, spec) -> None:
    mrn = "12,34|5$6\\7"  # every character R4 escapes: never an OR or a second system
    httpx_mock.add_response(
        method="POST", url=f"{BASE}/Patient/_search", json=_bundle(_patient("p1", mrn))
    )
    next_url = f"{BASE}?_getpages=x&_getpagesoffset=2"
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/Observation/_search",
        json=_bundle(_hba1c("o1", "p1", 7.1), _hba1c("o2", "p1", 7.3), next_url=next_url),
    )
    httpx_mock.add_response(method="GET", url=next_url, json=_bundle(_hba1c("o3", "p1", 7.6)))

    with _client() as client:
        result = pull_labs(client, [Enrolled(2, "S-1", SYSTEM, mrn)], lab_targets(spec), _options())

    patient, observations, page = httpx_mock.get_requests()
    assert _form(patient)["identifier"] == [f"{SYSTEM}|12\\,34\\|5\\$6\\\\7"]
    assert mrn not in str(patient.url)  # in the body only, out of request lines
    form = _form(observations)
    assert form["patient"] == ["Patient/p1"]
    assert form["date"] == ["ge2024-01-01", "le2024-12-31"]
    codes = ("14771-0", "1558-6", "1986-9", "4548-4", "59261-8")  # study A's lab analytes
    assert form["code"] == [",".join(f"http://loinc.org|{code}" for code in codes)]
    assert form["_count"] == ["2"]
    assert page.method == "GET"
    assert [(r.value.date.isoformat(), r.value.text, r.visit) for r in result.rows] == [
        ("2024-01-15", "7.1", "EHR 2024-01-15"),
        ("2024-02-15", "7.3", "EHR 2024-02-15"),
        ("2024-03-15", "7.6", "EHR 2024-03-15"),
    ]
    assert result.found == 1 and result.problems == []


def test_not_found_and_found_twice_are_problems_and_nothing_more_is_asked(httpx_mock, spec) -> None:
    httpx_mock.add_response(method="POST", url=f"{BASE}/Patient/_search", json=_bundle())
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/Patient/_search",
        json=_bundle(_patient("p7", "M-2"), _patient("p8", "M-2")),
    )
    people = [Enrolled(2, "S-1", SYSTEM, "M-1"), Enrolled(3, "S-2", SYSTEM, "M-2")]

    with _client() as client:
        result = pull_labs(client, people, lab_targets(spec), _options())

    assert [r.url.path for r in httpx_mock.get_requests()] == ["/fhir/Patient/_search"] * 2
    assert [(p.row, p.rule) for p in result.problems] == [
        (2, "patient-not-found"),
        (3, "patient-ambiguous"),
    ]
    assert all("M-" not in p.message for p in result.problems)
    assert result.rows == [] and result.found == 0


def test_a_server_that_ignores_the_identifier_gets_no_further_request(httpx_mock, spec) -> None:
    # A server that drops an unknown parameter answers with everyone: only a Patient that
    # carries the MRN counts, and no other Patient is ever named afterwards.
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/Patient/_search",
        json=_bundle(_patient("other", "M-9"), _patient("p1", "M-1")),
    )
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/Observation/_search",
        json=_bundle(_hba1c("o1", "p1", 6.9), _hba1c("o2", "other", 9.9)),
    )

    with _client() as client:
        result = pull_labs(
            client, [Enrolled(2, "S-1", SYSTEM, "M-1")], lab_targets(spec), _options()
        )

    requests = httpx_mock.get_requests()
    assert all(b"other" not in r.content and "other" not in str(r.url) for r in requests)
    assert [r.value.text for r in result.rows] == ["6.9"]  # the other subject's value dropped
    assert result.counts["foreign"] == 2  # one Patient, one Observation


def test_a_patient_search_with_a_next_page_is_ambiguous(httpx_mock, spec) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{BASE}/Patient/_search",
        json=_bundle(_patient("p1", "M-1"), next_url=f"{BASE}?_getpages=y"),
    )
    with _client() as client:
        result = pull_labs(
            client, [Enrolled(2, "S-1", SYSTEM, "M-1")], lab_targets(spec), _options()
        )
    assert len(httpx_mock.get_requests()) == 1  # its next page is never fetched
    assert [p.rule for p in result.problems] == ["patient-ambiguous"]
