"""Refusal messages keep the HAPI code, resource keys and paths, never identifiers or values.

The messages are verbatim answers of HAPI FHIR (the local server), with the test's own
identifier values: site ``urn:site:a``, subject ``A-001``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_adapter.sync.redact import REDACTED, redact_diagnostics, scrub
from fhir_adapter.sync.report import SyncFailure

SECRETS = ("A-001", "urn:site:a", "Jane Doe", "12,5", "1970-13-01", "other-id", "12345")

HAPI = {
    "conditional update, duplicates": "HAPI-0988: Failed to UPDATE Patient with match URL "
    '"Patient?identifier=urn:site:a|A-001" because this search matched 2 resources',
    "conditional create, duplicates": "HAPI-0958: Failed to CREATE Patient with match URL "
    '"identifier=urn:site:a|A-001" because this search matched 2 resources',
    "match URL in a transaction": 'HAPI-2207: Invalid match URL "Patient?identifier='
    'urn:site:a|A-001" - Multiple resources match this search',
    "duplicate entries": "HAPI-2008: Unable to process Transaction - Request contains multiple "
    "anonymous entries (Bundle.entry.fullUrl not populated) with conditional URL: "
    '"Patient?identifier=urn:site:a|A-001". Does transaction request contain duplicates?',
    "inline match URL": "HAPI-2282: Inline match URLs are not supported on this server. Cannot "
    'process reference: "Patient?identifier=urn:site:a|A-001"',
    "bad code": "HAPI-0450: Failed to parse request body as JSON resource. Error was: HAPI-1821: "
    '[element="gender"] Invalid attribute value "Jane Doe": Unknown AdministrativeGender code '
    "'Jane Doe'",
    "bad date": "HAPI-0450: Failed to parse request body as JSON resource. Error was: HAPI-1821: "
    '[element="birthDate"] Invalid attribute value "1970-13-01": Invalid date/time format: '
    '"1970-13-01"',
    "bad decimal": "HAPI-0450: Failed to parse request body as JSON resource. Error was: "
    'HAPI-1821: [element="value"] Invalid attribute value "12,5": Character , is neither a '
    'decimal digit number, decimal point, nor "e" notation exponential mark.',
    "id mismatch": "HAPI-0420: Can not update resource, resource body must contain an ID element "
    "which matches the request URL for update (PUT) operation - Resource body ID of "
    '"other-id" does not match URL ID of "s-pat-1"',
    "numeric id": "HAPI-0960: Can not create resource with ID[12345], no resource with this ID "
    "exists and clients may only assign IDs which contain at least one non-numeric character",
}


@pytest.mark.parametrize("text", HAPI.values(), ids=HAPI.keys())
def test_known_messages_keep_the_code_and_nothing_of_the_request(text: str) -> None:
    redacted = redact_diagnostics(text)
    assert redacted.startswith("HAPI-")
    for secret in SECRETS:
        assert secret not in redacted
    assert "identifier=" not in redacted and "|" not in redacted and '"' not in redacted


def test_a_duplicate_identifier_says_what_to_do() -> None:
    assert redact_diagnostics(HAPI["conditional update, duplicates"]) == (
        "HAPI-0988: the conditional update matched several resources: the server holds more "
        "than one resource with this business identifier; remove the duplicates on the server"
    )


def test_the_innermost_known_code_explains_and_names_the_element() -> None:
    assert redact_diagnostics(HAPI["bad code"]) == (
        "HAPI-1821: a value does not fit its FHIR data type: not a valid code, date or number "
        "(element gender)"
    )


def test_resource_keys_and_paths_are_kept() -> None:
    text = "HAPI-1094: Resource Patient/s-pat-1 not found, specified in path: Observation.subject"
    assert redact_diagnostics(text) == (
        "HAPI-1094: a referenced resource does not exist on the server "
        "(Patient/s-pat-1, path Observation.subject)"
    )


def test_a_wrapped_version_conflict_names_the_resource() -> None:
    text = (
        "HAPI-0550: HAPI-0989: Trying to update Patient/s-pat-1/_history/1 but this is not the "
        "current version"
    )
    assert redact_diagnostics(text).startswith("HAPI-0989: version conflict")
    assert redact_diagnostics(text).endswith("(Patient/s-pat-1)")


def test_an_unknown_message_keeps_its_words_without_values() -> None:
    text = (
        "Unable to delete Patient/s-pat-1 because at least one resource has a reference to "
        "this resource. First reference found was resource Observation/3149 in path "
        "Observation.subject.where(resolve() is Patient)"
    )
    assert redact_diagnostics(text) == text  # keys and paths only: nothing to hide
    assert redact_diagnostics(
        'HAPI-9999: Subject "A-001" of urn:site:a born 1970-01-02 refused by '
        "https://site.example/fhir/Patient?identifier=urn:site:a|A-001 rule ID[A-001]"
    ) == (
        f"HAPI-9999: Subject {REDACTED} of {REDACTED} born {REDACTED} refused by {REDACTED} "
        f"rule ID{REDACTED}"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Patient?identifier=urn:site:a|A-001 matched twice", f"{REDACTED} matched twice"),
        ("search identifier=A-001 failed", f"search identifier={REDACTED} failed"),
        ("value sys|A-001 is taken", f"value {REDACTED} is taken"),
        (
            'truncated at 300: match URL "Patient?identifier=urn:site:a|A-0',
            f"truncated at 300: match URL {REDACTED}",
        ),
        ("the server can't say; entry[2] is bad", "the server can't say; entry[2] is bad"),
        ("value 'A-001' refused", f"value {REDACTED} refused"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_empty_diagnostics() -> None:
    assert redact_diagnostics(None) == "" and redact_diagnostics("") == ""


@given(
    value=st.from_regex(r"[A-Z]{3}[0-9]{4,6}", fullmatch=True),
    template=st.sampled_from(
        [
            'HAPI-0988: Failed to UPDATE Patient with match URL "Patient?identifier=urn:s|{v}"',
            'HAPI-2282: Cannot process reference: "Patient?identifier=urn:s|{v}"',
            "Some new message about Patient?identifier=urn:s|{v} and 'x{v}'",
            'HAPI-1821: [element="gender"] Invalid attribute value "{v}": Unknown code \'{v}\'',
            "unknown: identifier={v} or urn:oid:{v} or http://x/{v} or [{v}]",
        ]
    ),
)
def test_identifier_values_never_survive(value: str, template: str) -> None:
    assert value not in redact_diagnostics(template.replace("{v}", value))


@given(st.text(max_size=400))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_diagnostics(text)
    assert redact_diagnostics(once) == once


def test_sync_failures_carry_redacted_messages_with_key_and_row() -> None:
    failure = SyncFailure(
        participant="subjects.csv row 2",
        status=412,
        hapi_code="HAPI-0988",
        message=HAPI["conditional update, duplicates"],
        resource="Patient/s-pat-1",
        file="subjects.csv",
        row=2,
    )
    shown = str(failure)
    assert shown.startswith("subjects.csv row 2 (Patient/s-pat-1): server refused (412 HAPI-0988)")
    for secret in SECRETS:
        assert secret not in shown and secret not in str(failure.as_dict())


def test_our_own_output_is_rechecked_not_trusted() -> None:
    forged = redact_diagnostics(HAPI["conditional update, duplicates"])[:-1] + " (A-001, "
    assert "A-001" not in redact_diagnostics(forged + "Patient/s-pat-1)")
    assert redact_diagnostics(forged + "Patient/s-pat-1)").endswith("(Patient/s-pat-1)")
