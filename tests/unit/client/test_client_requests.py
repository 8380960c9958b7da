"""Request shapes: media types, headers, bodies, and the typed results of writes."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from fhir_adapter.errors import BadRequestError

PATIENT = {"resourceType": "Patient", "id": "p-1", "active": True}
ERROR = {
    "severity": "error",
    "code": "invariant",
    "expression": ["Patient.birthDate"],
    "diagnostics": "bad date",
}
WARNING = {"severity": "warning", "code": "informational", "diagnostics": "no narrative"}


def test_no_cache_is_sent_on_every_page_when_asked(httpx_mock, make_client, base, bundle):
    next_url = f"{base}?_getpages=abc"
    httpx_mock.add_response(
        url=f"{base}/Patient?identifier=urn%3Astudy%7CS-1", json=bundle(PATIENT, next_url=next_url)
    )
    httpx_mock.add_response(url=next_url, json=bundle())

    found = list(make_client().search("Patient", {"identifier": "urn:study|S-1"}, no_cache=True))
    assert found == [PATIENT]
    assert [r.headers.get("Cache-Control") for r in httpx_mock.get_requests()] == [
        "no-cache",
        "no-cache",
    ]


def test_a_posted_search_sends_a_form_and_pages_by_get(
    httpx_mock, make_client, base, bundle, clock
):
    next_url = f"{base}?_getpages=abc"
    httpx_mock.add_exception(
        httpx.ReadTimeout("slow"), method="POST", url=f"{base}/Patient/_search"
    )
    httpx_mock.add_response(
        method="POST", url=f"{base}/Patient/_search", json=bundle(PATIENT, next_url=next_url)
    )
    httpx_mock.add_response(method="GET", url=next_url, json=bundle())

    found = list(
        make_client().search(
            "Patient", {"_id": "p-1,p-2", "_elements": "id"}, no_cache=True, post=True
        )
    )
    assert found == [PATIENT]
    first, retried, page = httpx_mock.get_requests()
    assert retried.content == first.content == b"_id=p-1%2Cp-2&_elements=id"
    assert retried.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (page.method, page.headers.get("Cache-Control")) == ("GET", "no-cache")
    assert len(clock.sleeps) == 1  # a search is safe to retry, even as a POST


def test_searches_are_cacheable_by_default(httpx_mock, make_client, bundle):
    httpx_mock.add_response(json=bundle())

    make_client().search_bundle("Observation", [("code", "a"), ("code", "b")])
    request = httpx_mock.get_request()
    assert "Cache-Control" not in request.headers
    assert request.url.params.get_list("code") == ["a", "b"]


def test_search_skips_included_and_outcome_entries(httpx_mock, make_client, bundle):
    page = bundle(PATIENT)
    page["entry"] += [
        {"resource": {"resourceType": "Organization", "id": "o"}, "search": {"mode": "include"}},
        {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}},
    ]
    httpx_mock.add_response(json=page)

    assert list(make_client().search("Patient", {"_include": "Patient:organization"})) == [PATIENT]


def test_update_sends_fhir_json_with_if_match(httpx_mock, make_client, base):
    httpx_mock.add_response(
        method="PUT", url=f"{base}/Patient/p-1", status_code=200, headers={"ETag": 'W/"4"'}
    )

    result = make_client().update(PATIENT, if_match="3")
    request = httpx_mock.get_request()
    assert request.headers["Content-Type"].startswith("application/fhir+json")
    assert request.headers["Accept"] == "application/fhir+json"
    assert request.headers["If-Match"] == 'W/"3"'
    assert request.headers["Prefer"] == "return=minimal"
    assert json.loads(request.content) == PATIENT
    assert (result.status, result.created, result.version_id, result.etag) == (
        200,
        False,
        "4",
        'W/"4"',
    )


def test_update_with_representation_returns_the_resource(httpx_mock, make_client):
    stored = {**PATIENT, "meta": {"versionId": "7"}}
    httpx_mock.add_response(method="PUT", status_code=200, json=stored)

    result = make_client().update(PATIENT, return_representation=True)
    assert httpx_mock.get_request().headers["Prefer"] == "return=representation"
    assert result.resource == stored and result.version_id == "7"


def test_update_needs_type_and_id(make_client):
    with pytest.raises(ValueError):
        make_client().update({"resourceType": "Patient"})


def test_conditional_update_puts_to_the_match_url(httpx_mock, make_client, base):
    httpx_mock.add_response(
        method="PUT",
        url=f"{base}/Patient?identifier=urn%3Astudy%7CS-1",
        status_code=201,
        headers={"Location": f"{base}/Patient/x9/_history/1"},
    )

    result = make_client().conditional_update(
        {"resourceType": "Patient"}, {"identifier": "urn:study|S-1"}
    )
    assert result.created and result.location == "Patient/x9/_history/1"


def test_delete_of_an_absent_resource_reports_the_information(
    httpx_mock, make_client, base, outcome
):
    info = {
        "severity": "information",
        "code": "informational",
        "diagnostics": "Not deleted, resource Patient/p-1 does not exist.",
    }
    httpx_mock.add_response(method="DELETE", url=f"{base}/Patient/p-1", json=outcome(info))

    result = make_client().delete("Patient", "p-1")
    assert result.status == 200 and result.resource is None
    assert [issue.severity for issue in result.issues] == ["information"]


def test_transaction_posts_to_the_base_with_prefer(httpx_mock, make_client, base):
    reply = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "201 Created", "location": "Patient/p-1/_history/1"}}],
    }
    httpx_mock.add_response(method="POST", url=base, json=reply)
    tx = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": PATIENT, "request": {"method": "PUT", "url": "Patient/p-1"}}],
    }

    assert make_client().transaction(tx, return_representation=True) == reply
    request = httpx_mock.get_request()
    assert request.headers["Prefer"] == "return=representation"
    assert json.loads(request.content) == tx


def test_transaction_refuses_other_bundles(make_client):
    with pytest.raises(ValueError):
        make_client().transaction({"resourceType": "Bundle", "type": "batch"})


@pytest.mark.parametrize("status", [200, 412, 422, 400])
def test_validate_turns_an_outcome_into_a_result(httpx_mock, make_client, base, outcome, status):
    httpx_mock.add_response(
        method="POST",
        url=f"{base}/Patient/$validate",
        status_code=status,
        json=outcome(ERROR, WARNING),
    )

    result = make_client().validate(PATIENT)
    assert result.status == status and not result.valid
    assert [i.expression for i in result.errors] == [("Patient.birthDate",)]
    assert len(result.warnings) == 1
    body = json.loads(httpx_mock.get_request().content)
    assert body == {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": PATIENT}],
    }


def test_validate_against_a_profile_sends_the_resource_and_the_profile_url(
    httpx_mock, make_client, base, outcome
):
    # HAPI resolves a profile given in the URL, not one inside a Parameters body.
    profile = "http://example.org/StructureDefinition/p"
    httpx_mock.add_response(
        method="POST",
        url=httpx.URL(f"{base}/Patient/$validate", params={"profile": profile}),
        json=outcome(WARNING),
    )

    assert make_client().validate(PATIENT, profile=profile).valid
    assert json.loads(httpx_mock.get_request().content) == PATIENT


def test_validate_passes_with_only_warnings(httpx_mock, make_client, outcome):
    httpx_mock.add_response(method="POST", json=outcome(WARNING))

    assert make_client().validate(PATIENT).valid


def test_validate_400_without_outcome_is_an_error(httpx_mock, make_client):
    httpx_mock.add_response(method="POST", status_code=400, text="bad")

    with pytest.raises(BadRequestError):
        make_client().validate(PATIENT)


def test_history_count(httpx_mock, make_client, base):
    httpx_mock.add_response(
        url=f"{base}/Patient/p-1/_history?_summary=count",
        json={"resourceType": "Bundle", "type": "history", "total": 3},
    )

    assert make_client().history_count("Patient", "p-1") == 3


def test_vread(httpx_mock, make_client, base):
    httpx_mock.add_response(url=f"{base}/Patient/p-1/_history/2", json=PATIENT)

    assert make_client().vread("Patient", "p-1", "2") == PATIENT


def test_in_flight_requests_never_exceed_max_concurrency(httpx_mock, make_client):
    lock = threading.Lock()
    in_flight, peak = 0, 0
    pair = threading.Barrier(2, timeout=5)

    def respond(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        pair.wait()  # two requests meet here: proves two may run at once
        with lock:
            in_flight -= 1
        return httpx.Response(200, json=PATIENT)

    httpx_mock.add_callback(respond, is_reusable=True)
    client = make_client(max_concurrency=2)
    threads = [threading.Thread(target=client.read, args=("Patient", "p-1")) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert peak == 2
    assert len(httpx_mock.get_requests()) == 8


def test_context_manager_closes(httpx_mock, make_client):
    with make_client() as client:
        pass
    with pytest.raises(RuntimeError):
        client.read("Patient", "p-1")
