"""The retry policy as seen on the wire: what is retried, how long it waits, when it stops."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_adapter.client import RetryPolicy, parse_retry_after
from fhir_adapter.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    TerminalServerError,
    TransientServerError,
)

PATIENT = {"resourceType": "Patient", "id": "p-1"}
TX = {"resourceType": "Bundle", "type": "transaction", "entry": []}
TX_RESPONSE = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}


def test_retry_after_seconds_is_honoured(httpx_mock, make_client, clock):
    httpx_mock.add_response(status_code=503, headers={"Retry-After": "7"})
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "2"})
    httpx_mock.add_response(json=PATIENT)

    assert make_client().read("Patient", "p-1") == PATIENT
    assert clock.sleeps == [7.0, 2.0]


def test_retry_after_http_date_is_measured_from_the_response_date(httpx_mock, make_client, clock):
    httpx_mock.add_response(
        status_code=503,
        headers={
            "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT",
            "Date": "Wed, 21 Oct 2015 07:27:30 GMT",
        },
    )
    httpx_mock.add_response(json=PATIENT)

    make_client().read("Patient", "p-1")
    assert clock.sleeps == [30.0]


def test_retry_after_http_date_without_date_header_uses_the_wall_clock(
    httpx_mock, make_client, clock
):
    # The injected wall clock says 07:27:15.
    httpx_mock.add_response(
        status_code=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    httpx_mock.add_response(json=PATIENT)

    make_client().read("Patient", "p-1")
    assert clock.sleeps == [45.0]


def test_retry_after_is_capped(httpx_mock, make_client, clock):
    httpx_mock.add_response(status_code=503, headers={"Retry-After": "3600"})
    httpx_mock.add_response(json=PATIENT)

    make_client(deadline=None).read("Patient", "p-1")
    assert clock.sleeps == [60.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_jittered_backoff_then_succeed(
    httpx_mock, make_client, clock, status
):
    for _ in range(3):
        httpx_mock.add_response(status_code=status)
    httpx_mock.add_response(json=PATIENT)

    assert make_client().read("Patient", "p-1") == PATIENT
    # Full jitter with random() == 0.5: half of 1, 2, 4 seconds.
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert len(httpx_mock.get_requests()) == 4


def test_gives_up_after_max_attempts_with_the_last_error(httpx_mock, make_client, clock):
    for _ in range(4):
        httpx_mock.add_response(status_code=502)

    with pytest.raises(TransientServerError) as caught:
        make_client().read("Patient", "p-1")
    assert caught.value.status == 502
    assert caught.value.attempts == 4
    assert "after 4 attempts" in str(caught.value)
    assert len(clock.sleeps) == 3


def test_backoff_is_capped():
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=8.0, random=lambda: 0.999)
    assert [round(policy.backoff(n), 3) for n in (1, 2, 3, 4, 5, 30)] == [
        0.999,
        1.998,
        3.996,
        7.992,
        7.992,
        7.992,
    ]


@pytest.mark.parametrize(
    "status, error",
    [
        (400, BadRequestError),
        (401, TerminalServerError),
        (403, TerminalServerError),
        (404, NotFoundError),
        (405, TerminalServerError),
        (409, ConflictError),
        (412, PreconditionFailedError),
        (422, BadRequestError),
    ],
)
def test_client_errors_are_never_retried(httpx_mock, make_client, clock, outcome, status, error):
    httpx_mock.add_response(
        status_code=status,
        headers={"Retry-After": "1"},
        json=outcome({"severity": "error", "code": "processing"}),
    )

    with pytest.raises(error):
        make_client().update(PATIENT)
    assert len(httpx_mock.get_requests()) == 1
    assert clock.sleeps == []


def test_non_idempotent_transaction_is_not_retried(httpx_mock, make_client, clock, base):
    httpx_mock.add_response(method="POST", url=base, status_code=503)

    with pytest.raises(TransientServerError) as caught:
        make_client().transaction(TX, idempotent=False)
    assert caught.value.attempts == 1
    assert clock.sleeps == []


def test_non_idempotent_transaction_is_not_retried_after_a_timeout(httpx_mock, make_client, clock):
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"))

    with pytest.raises(TransientServerError):
        make_client().transaction(TX, idempotent=False)
    assert len(httpx_mock.get_requests()) == 1


def test_idempotent_transaction_is_retried(httpx_mock, make_client, clock, base):
    httpx_mock.add_response(method="POST", url=base, status_code=504)
    httpx_mock.add_response(method="POST", url=base, json=TX_RESPONSE)

    assert make_client().transaction(TX) == TX_RESPONSE
    assert clock.sleeps == [0.5]


def test_transport_errors_are_transient_and_retried(httpx_mock, make_client, clock, bundle):
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"))
    httpx_mock.add_response(json=bundle())

    assert list(make_client().search("Patient")) == []
    assert clock.sleeps == [0.5, 1.0]


def test_deadline_stops_retries_before_a_wait_would_pass_it(httpx_mock, make_client, clock):
    # Each attempt takes 4 s of (fake) time; the deadline is 10 s.
    def slow_failure(request: httpx.Request) -> httpx.Response:
        clock.now += 4.0
        return httpx.Response(503)

    httpx_mock.add_callback(slow_failure, is_reusable=True)

    with pytest.raises(TransientServerError) as caught:
        make_client(deadline=10.0).read("Patient", "p-1")
    # t=4 fail, wait 0.5; t=8.5 fail, a 1 s wait would end at 9.5 (< 10) -> wait;
    # t=13.5 is past the deadline -> stop.
    assert clock.sleeps == [0.5, 1.0]
    assert caught.value.attempts == 3


def test_deadline_refuses_a_retry_after_longer_than_what_is_left(httpx_mock, make_client, clock):
    httpx_mock.add_response(status_code=503, headers={"Retry-After": "30"})

    with pytest.raises(TransientServerError) as caught:
        make_client(deadline=20.0).read("Patient", "p-1")
    assert caught.value.retry_after == 30.0
    assert clock.sleeps == []


def test_attempt_timeouts_are_cut_to_the_time_left(httpx_mock, make_client, clock):
    httpx_mock.add_response(json=PATIENT)

    make_client(deadline=5.0).read("Patient", "p-1")
    timeout = httpx_mock.get_request().extensions["timeout"]
    assert timeout == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


@pytest.mark.parametrize(
    "value, date, expected",
    [
        ("120", None, 120.0),
        (" 0 ", None, 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:27:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:20:00 GMT", None, 0.0),  # in the past: no wait
        ("soon", None, None),
        ("\u00b2", None, None),
        ("-5", None, None),
        (None, None, None),
    ],
)
def test_parse_retry_after(value, date, expected):
    assert parse_retry_after(value, date=date, now=1_445_412_435.0) == expected


@given(st.text(max_size=40))
def test_parse_retry_after_never_fails_or_goes_negative(value):
    result = parse_retry_after(value, date=None, now=1_445_412_435.0)
    assert result is None or result >= 0
