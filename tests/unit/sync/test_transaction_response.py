"""Transaction-response parsing by the spec: relative and absolute locations, with and without
``_history``, versions from ETags, HAPI's no-change outcome; foreign origins refused."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_adapter.client import BaseUrl
from fhir_adapter.errors import TerminalServerError, UnsafeUrlError
from fhir_adapter.sync.response import parse_transaction_response

BASE = BaseUrl("http://127.0.0.1:8080/fhir")


def _answer(*responses: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": r} for r in responses],
    }


@pytest.mark.parametrize(
    "location",
    [
        "Patient/p1/_history/4",
        "Patient/p1/_history/4/",
        "http://127.0.0.1:8080/fhir/Patient/p1/_history/4",
        "HTTP://127.0.0.1:8080/fhir/Patient/p1/_history/4",
        "/fhir/Patient/p1/_history/4",
    ],
)
def test_relative_and_absolute_locations_name_the_same_resource(location):
    (result,) = parse_transaction_response(
        _answer({"status": "200 OK", "location": location}), ["Patient"], BASE
    )
    assert (result.status, result.server_id, result.version) == (200, "p1", "4")


def test_location_without_history_takes_the_version_from_the_etag():
    (result,) = parse_transaction_response(
        _answer(
            {
                "status": "201 Created",
                "location": "http://127.0.0.1:8080/fhir/Observation/77",
                "etag": 'W/"2"',
            }
        ),
        ["Observation"],
        BASE,
    )
    assert (result.status, result.server_id, result.version) == (201, "77", "2")


def test_a_bare_etag_as_hapi_sends_it_in_transactions():
    (result,) = parse_transaction_response(
        _answer({"status": "200 OK", "location": "Observation/77", "etag": "3"}),
        ["Observation"],
        BASE,
    )
    assert result.version == "3"


def test_a_location_on_another_origin_is_refused_and_names_the_server():
    answer = _answer(
        {"status": "201 Created", "location": "Patient/p1/_history/1"},
        {
            "status": "201 Created",
            "location": "https://elsewhere.example/fhir/Observation/9/_history/1",
        },
    )
    with pytest.raises(UnsafeUrlError, match="another origin.*elsewhere.example"):
        parse_transaction_response(answer, ["Patient", "Observation"], BASE)


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:9999/fhir/Patient/p1",  # another port is another origin
        "http://127.0.0.1:8080/other/Patient/p1",  # outside the base path
        "http://127.0.0.1:8080/fhir/../Patient/p1",
    ],
)
def test_locations_outside_the_base_are_refused(location):
    with pytest.raises(UnsafeUrlError):
        parse_transaction_response(
            _answer({"status": "200 OK", "location": location}), ["Patient"], BASE
        )


@pytest.mark.parametrize("location", ["Observation/p1", "Patient", "Patient/p 1", "Patient/"])
def test_a_location_that_does_not_fit_the_entry_is_an_error(location):
    with pytest.raises(TerminalServerError):
        parse_transaction_response(
            _answer({"status": "200 OK", "location": location}), ["Patient"], BASE
        )


@pytest.mark.parametrize("status", ["", "OK", "2000", "²00 OK", None])
def test_an_unreadable_status_is_an_error(status):
    with pytest.raises(TerminalServerError, match="status"):
        parse_transaction_response(
            _answer({"status": status, "location": "Patient/p1"}), ["Patient"], BASE
        )


def test_the_entry_count_must_match_the_transaction():
    with pytest.raises(TerminalServerError, match="1 entries for a transaction of 2"):
        parse_transaction_response(_answer({"status": "200 OK"}), ["Patient", "Patient"], BASE)


def test_a_delete_has_no_location():
    (result,) = parse_transaction_response(
        _answer({"status": "204 No Content"}), ["Observation"], BASE
    )
    assert (result.status, result.server_id, result.version) == (204, None, None)


def _with_outcome(code: str) -> dict[str, Any]:
    system = "https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code"
    return {
        "status": "200 OK",
        "location": "Patient/p1/_history/1",
        "etag": "1",
        "outcome": {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "informational",
                    "details": {"coding": [{"system": system, "code": code}]},
                }
            ],
        },
    }


def test_hapi_says_whether_an_update_changed_anything():
    unchanged, updated = parse_transaction_response(
        _answer(_with_outcome("SUCCESSFUL_UPDATE_NO_CHANGE"), _with_outcome("SUCCESSFUL_UPDATE")),
        ["Patient", "Patient"],
        BASE,
    )
    assert (unchanged.changed, updated.changed) == (False, True)
    (plain,) = parse_transaction_response(_answer({"status": "200 OK"}), ["Patient"], BASE)
    assert plain.changed is None
