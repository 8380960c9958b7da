"""Asynchronous requests (bulk $export): kick-off, poll, download; URLs confined to the base."""

from __future__ import annotations

import json

import pytest

from fhir_adapter.errors import NotFoundError, TerminalServerError, UnsafeUrlError

PARAMS = {"resourceType": "Parameters", "parameter": [{"name": "_type", "valueString": "X"}]}


def test_kick_off_posts_parameters_asking_for_async_and_returns_the_status_url(
    httpx_mock, make_client, base
):
    status = f"{base}/$export-poll-status?_jobId=j1"
    httpx_mock.add_response(
        method="POST",
        url=f"{base}/Patient/$export",
        status_code=202,
        headers={"Content-Location": status},
    )

    assert make_client().kick_off("Patient/$export", PARAMS) == status
    request = httpx_mock.get_request()
    assert request.headers["Prefer"] == "respond-async"
    assert json.loads(request.content) == PARAMS


def test_kick_off_refuses_a_status_url_on_another_host_and_a_synchronous_answer(
    httpx_mock, make_client, base
):
    httpx_mock.add_response(
        method="POST", status_code=202, headers={"Content-Location": "https://evil.example/status"}
    )
    httpx_mock.add_response(method="POST", status_code=200, json={"resourceType": "Bundle"})
    client = make_client()
    with pytest.raises(UnsafeUrlError):
        client.kick_off("Patient/$export", PARAMS)
    with pytest.raises(TerminalServerError, match="asynchronous"):
        client.kick_off("Patient/$export", PARAMS)


def test_poll_reports_progress_then_the_manifest(httpx_mock, make_client, base):
    status = f"{base}/$export-poll-status?_jobId=j1"
    manifest = {"output": [{"type": "Observation", "url": f"{base}/Binary/b1"}], "error": []}
    httpx_mock.add_response(
        url=status, status_code=202, headers={"X-Progress": "IN_PROGRESS", "Retry-After": "120"}
    )
    httpx_mock.add_response(url=status, json=manifest)
    client = make_client()

    running = client.poll(status)
    assert (running.complete, running.progress, running.retry_after) == (
        False,
        "IN_PROGRESS",
        120.0,
    )
    done = client.poll(status)
    assert done.complete and done.body == manifest


def test_poll_of_an_expired_job_is_not_found(httpx_mock, make_client, base):
    httpx_mock.add_response(status_code=404)
    with pytest.raises(NotFoundError):
        make_client().poll(f"{base}/$export-poll-status?_jobId=old")


def test_download_asks_for_ndjson_and_retries_a_503(httpx_mock, make_client, base, clock):
    httpx_mock.add_response(url=f"{base}/Binary/b1", status_code=503)
    httpx_mock.add_response(url=f"{base}/Binary/b1", content=b'{"resourceType":"X"}\n')

    assert make_client().download(f"{base}/Binary/b1") == b'{"resourceType":"X"}\n'
    assert [r.headers["Accept"] for r in httpx_mock.get_requests()] == [
        "application/fhir+ndjson"
    ] * 2
    assert len(clock.sleeps) == 1


def test_capability_statement_is_the_raw_answer(httpx_mock, make_client):
    statement = {
        "resourceType": "CapabilityStatement",
        "fhirVersion": "4.0.1",
        "rest": [
            {"mode": "server", "resource": [{"type": "Patient", "operation": [{"name": "export"}]}]}
        ],
    }
    httpx_mock.add_response(json=statement)
    assert make_client().capability_statement() == statement
