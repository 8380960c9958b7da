"""OperationOutcome answers become typed errors that carry context but no identifiers."""

from __future__ import annotations

import httpx
import pytest

from fhir_adapter.client import NO_RETRY, parse_issues
from fhir_adapter.errors import (
    AccessDeniedError,
    ConflictError,
    FhirServerError,
    OutcomeIssue,
    PreconditionFailedError,
    ResourceGoneError,
    TerminalServerError,
    TransientServerError,
)

STALE = {
    "severity": "error",
    "code": "processing",
    "diagnostics": "HAPI-0989: Trying to update Patient/p-1/_history/2 but this is not "
    "the current version",
    "expression": ["Patient"],
}


def test_conflict_carries_the_outcome_and_hapi_code(httpx_mock, make_client, outcome):
    httpx_mock.add_response(method="PUT", status_code=409, json=outcome(STALE))

    with pytest.raises(ConflictError) as caught:
        make_client().update({"resourceType": "Patient", "id": "p-1"}, if_match="1")
    error = caught.value
    assert (error.status, error.method, error.path, error.hapi_code) == (
        409,
        "PUT",
        "/fhir/Patient/p-1",
        "HAPI-0989",
    )
    assert error.issues == (
        OutcomeIssue(
            severity="error",
            code="processing",
            diagnostics=STALE["diagnostics"],
            expression=("Patient",),
        ),
    )
    assert isinstance(error, TerminalServerError)
    message = str(error)
    assert "PUT /fhir/Patient/p-1 answered 409 [HAPI-0989]" in message
    assert "error/processing at Patient" in message
    assert "not the current version" not in message  # diagnostics stay out of messages


def test_error_path_drops_the_query_string(httpx_mock, make_client):
    httpx_mock.add_response(
        status_code=412,
        json={
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "processing",
                    "diagnostics": "HAPI-0988: Failed to UPDATE resource with match URL because "
                    "this search matched 2 resources",
                }
            ],
        },
    )

    with pytest.raises(PreconditionFailedError) as caught:
        make_client().conditional_update(
            {"resourceType": "Patient"}, {"identifier": "urn:study|SUBJ-0042"}
        )
    assert caught.value.path == "/fhir/Patient"
    assert caught.value.hapi_code == "HAPI-0988"
    assert "SUBJ-0042" not in str(caught.value)
    assert "identifier" not in str(caught.value)


def test_gone_and_non_json_bodies(httpx_mock, make_client):
    httpx_mock.add_response(status_code=410, text="<html>Gone</html>")

    with pytest.raises(ResourceGoneError) as caught:
        make_client().read("Patient", "p-1")
    assert caught.value.issues == ()
    assert caught.value.hapi_code is None


@pytest.mark.parametrize(
    "status, kind",
    [
        (401, AccessDeniedError),
        (403, AccessDeniedError),
        (405, TerminalServerError),
        (418, TerminalServerError),
        (501, TerminalServerError),
        (429, TransientServerError),
        (500, TransientServerError),
    ],
)
def test_one_status_map(httpx_mock, make_client, status, kind):
    httpx_mock.add_response(status_code=status, is_reusable=True)

    with pytest.raises(kind) as caught:
        make_client(retry=NO_RETRY).read("Patient", "p-1")
    assert type(caught.value) is kind


def test_timeouts_become_transient_errors_without_the_url(httpx_mock, make_client):
    httpx_mock.add_exception(httpx.ConnectTimeout("timed out"), is_reusable=True)

    with pytest.raises(TransientServerError) as caught:
        list(make_client().search("Patient", {"identifier": "urn:study|SUBJ-0042"}))
    assert caught.value.status is None
    assert caught.value.path == "/fhir/Patient"
    assert "SUBJ-0042" not in str(caught.value)
    assert caught.value.attempts == 4
    assert "timed out" in str(caught.value) and "refused" not in str(caught.value)


def test_a_success_that_is_not_fhir_json_is_an_error(httpx_mock, make_client):
    httpx_mock.add_response(text="<html>login</html>")

    with pytest.raises(FhirServerError, match="not a FHIR JSON resource"):
        make_client().read("Patient", "p-1")


def test_parse_issues_tolerates_junk():
    assert parse_issues(None) == ()
    assert parse_issues({"resourceType": "Patient"}) == ()
    issues = parse_issues(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                "junk",
                {
                    "severity": "warning",
                    "code": "informational",
                    "details": {"text": "HAPI-2001: note"},
                    "location": ["Patient.name", 3],
                },
            ],
        }
    )
    assert issues == (
        OutcomeIssue(
            severity="warning",
            code="informational",
            details="HAPI-2001: note",
            location=("Patient.name",),
        ),
    )
    assert not issues[0].is_error
