"""The ledger is a cache, never the truth: whatever the server lost or changed behind the
ledger's back is found at the start of the next run and sent again, in both write modes."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_adapter.client import FhirClient
from fhir_adapter.localserver import start_server
from fhir_adapter.sync import Ledger, WriteMode
from fhir_adapter.verify import verify_study

MODES = [WriteMode.CLIENT_IDS, WriteMode.CONDITIONAL]


def _verified(study: Any, client: FhirClient) -> bool:
    mapping = study.mapping()
    with Ledger(
        study.ledger_path, server_url=study.server_url, study_key=mapping.spec.study.key
    ) as ledger:
        return verify_study(mapping, client, ledger).ok


def _server_copy(client: FhirClient, resource: dict[str, Any]) -> dict[str, Any]:
    """The server's copy of one of our resources, found by its business key."""
    if "identifier" not in resource:
        return _tagged_copy(client, resource)
    identifier = resource["identifier"]
    first = identifier[0] if isinstance(identifier, list) else identifier
    (held,) = client.search(
        resource["resourceType"],
        {"identifier": f"{first['system']}|{first['value']}"},
        no_cache=True,
    )
    return held


def _delete_behind_the_ledgers_back(client: FhirClient, resources: list[dict[str, Any]]) -> None:
    """Delete these resources on the server (referrers first: referential integrity)."""
    for resource in resources:
        client.delete(resource["resourceType"], _server_copy(client, resource)["id"])


@pytest.mark.parametrize("mode", MODES)
def test_resources_deleted_behind_the_ledgers_back_are_sent_again(mode, make_study, client, view):
    study = make_study("study_a", subjects=3)
    expected = study.expected()
    study.sync(client, mode=mode)
    # Someone deletes a few resources of one participant; the study itself stays, so a
    # check of the study alone would miss it.
    subject = expected["Observation"][0]["subject"]["reference"]
    provenance = next(p for p in expected["Provenance"] if {"reference": subject} in p["target"])
    observations = [o for o in expected["Observation"] if o["subject"]["reference"] == subject]
    _delete_behind_the_ledgers_back(client, [provenance, *observations[:2]])

    again = study.sync(client, mode=mode)
    assert again.failures == [] and again.audited == sum(map(len, expected.values()))
    assert any("no longer holds 3 " in note for note in again.notes), again.notes
    assert again.total("created") + again.total("updated") == 3
    assert again.total("unchanged") == sum(map(len, expected.values())) - 3
    for kind, resources in expected.items():
        assert view.count(study, kind, resources) == len(resources), kind
    assert _verified(study, client)
    assert study.sync(client, mode=mode).written == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_resource_changed_behind_the_ledgers_back_is_restored(mode, make_study, client):
    study = make_study("study_a", subjects=2)
    expected = study.expected()
    study.sync(client, mode=mode)
    observation = expected["Observation"][0]
    held = _server_copy(client, observation)
    tampered = {**held, "status": "cancelled"}
    tampered.pop("meta")
    client.update(tampered)
    report = verify_study(study.mapping(), client, None)
    ((difference,),) = [d.elements for d in report.differences]
    assert str(difference) == f"status: source '{observation['status']}', server 'cancelled'"

    again = study.sync(client, mode=mode)
    assert again.failures == [] and again.written == 1
    assert again.counts["Observation"]["updated"] == 1
    assert _server_copy(client, observation)["status"] == observation["status"]
    assert _verified(study, client)


def test_a_dry_run_shows_what_the_server_lost_without_forgetting_it(make_study, client):
    from fhir_adapter.sync import SyncEngine, SyncOptions

    study = make_study("study_a", subjects=2)
    expected = study.expected()
    study.sync(client)
    observation = expected["Observation"][0]
    provenance = next(
        p
        for p in expected["Provenance"]
        if {"reference": observation["subject"]["reference"]} in p["target"]
    )
    _delete_behind_the_ledgers_back(client, [provenance, observation])
    mapping = study.mapping()
    with Ledger(
        study.ledger_path, server_url=study.server_url, study_key=mapping.spec.study.key
    ) as ledger:
        before = ledger.count()
        plan = SyncEngine(
            client, ledger, SyncOptions(dry_run=True, write_mode=WriteMode.CLIENT_IDS)
        ).run(mapping)
        assert ledger.count() == before  # a dry run changes nothing, the ledger included
    assert plan.counts["Observation"]["created"] == 1 and plan.written == 2
    assert study.sync(client).counts["Observation"]["created"] == 1


def test_a_lost_ledger_counts_identical_resources_as_unchanged(make_study, client):
    study = make_study("study_a", subjects=2)
    expected = study.expected()
    study.sync(client, mode=WriteMode.CONDITIONAL)
    study.ledger_path.unlink()
    again = study.sync(client, mode=WriteMode.CONDITIONAL)
    assert again.failures == [] and again.written == 0
    assert again.total("unchanged") == sum(map(len, expected.values()))
    assert _verified(study, client)


def test_verify_without_a_ledger_in_conditional_mode(make_study, client):
    study = make_study("study_a", subjects=2)
    study.sync(client, mode=WriteMode.CONDITIONAL)
    study.ledger_path.unlink()
    report = verify_study(study.mapping(), client, None)
    assert report.ok, report.differences[:5]
    for kind in ("AdverseEvent", "BiologicallyDerivedProduct", "Provenance"):
        if report.checked[kind]:
            assert report.on_server[kind] == report.checked[kind], kind


def test_verify_sees_a_duplicate_of_a_type_without_identifier_search(make_study, client):
    study = make_study("study_a", subjects=2)
    expected = study.expected()
    study.sync(client, mode=WriteMode.CONDITIONAL)
    provenance = expected["Provenance"][0]
    copy = {k: v for k, v in _tagged_copy(client, provenance).items() if k not in ("id", "meta")}
    copy["meta"] = {"tag": [{"system": "urn:fhir-adapter:resource-key", "code": provenance["id"]}]}
    client.transaction(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": copy, "request": {"method": "POST", "url": "Provenance"}}],
        }
    )
    report = verify_study(study.mapping(), client, None)
    assert report.on_server["Provenance"] == len(expected["Provenance"]) + 1
    assert [d.kind for d in report.differences] == ["extra"]


def _tagged_copy(client: FhirClient, resource: dict[str, Any]) -> dict[str, Any]:
    (held,) = client.search(
        resource["resourceType"],
        {"_tag": f"urn:fhir-adapter:resource-key|{resource['id']}"},
        no_cache=True,
    )
    return held


class _AbsoluteLocations(httpx.HTTPTransport):
    """Forwards to the real server and rewrites transaction-response locations to absolute
    URLs (valid FHIR: https://hl7.org/fhir/R4/bundle.html), on ``origin``."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        body = response.read()  # decoded: drop the headers that described the wire form
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        }
        if request.method == "POST" and b"transaction-response" in body:
            bundle = json.loads(body)
            for entry in bundle.get("entry") or []:
                answer = entry.get("response") or {}
                if answer.get("location"):
                    answer["location"] = f"{self.origin}/{answer['location']}"
            body = json.dumps(bundle).encode()
        return httpx.Response(response.status_code, headers=headers, content=body)


@pytest.mark.parametrize("mode", MODES)
def test_absolute_locations_on_the_same_origin_are_read_by_the_spec(
    mode, make_study, fhir_base_url, view
):
    study = make_study("study_a", subjects=2)
    expected = study.expected()
    with FhirClient(fhir_base_url, transport=_AbsoluteLocations(fhir_base_url)) as absolute:
        first = absolute_sync = study.sync(absolute, mode=mode)
        assert first.failures == [] and first.total("created") == sum(map(len, expected.values()))
        with FhirClient(fhir_base_url) as plain:
            assert _verified(study, plain)
            for kind, resources in expected.items():
                assert view.count(study, kind, resources) == len(resources), kind
        again = study.sync(absolute, mode=mode)
    assert absolute_sync.failures == [] and again.written == 0 and again.failures == []


def test_a_location_on_another_origin_is_refused_and_nothing_recorded(make_study, fhir_base_url):
    study = make_study("study_a", subjects=2)
    with FhirClient(
        fhir_base_url, transport=_AbsoluteLocations("https://elsewhere.example/fhir")
    ) as foreign:
        report = study.sync(foreign, mode=WriteMode.CONDITIONAL)
    assert report.participants_failed == 1 and report.participants_synced == 0
    assert "elsewhere.example" in report.failures[0].message
    assert "participants were not sent" in " ".join(report.notes)  # the study itself failed
    with Ledger(
        study.ledger_path, server_url=study.server_url, study_key=study.mapping().spec.study.key
    ) as ledger:
        assert ledger.count() == 0
    with FhirClient(fhir_base_url) as plain:
        assert study.sync(plain, mode=WriteMode.CONDITIONAL).failures == []
        assert _verified(study, plain)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fhir_adapter.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_restarted_in_memory_server_is_refilled_in_both_modes(make_study, tmp_path: Path):
    """The reported defect: after a restart, conditional mode exited 7, committed the study
    to the ledger, and every later run said "unchanged" while the server held 1 resource."""
    port = _free_port()
    state = tmp_path / "state"
    server = start_server(port, detach=False, timeout=240, state_dir=state)
    studies = {
        mode: dataclasses.replace(make_study("study_a", subjects=3), server_url=server.url)
        for mode in MODES
    }

    def run(command: str, mode: WriteMode) -> subprocess.CompletedProcess[str]:
        study = studies[mode]
        extra = ["--write-mode", mode.value] if command == "sync" else []
        return _cli(
            command,
            "--mapping",
            str(study.mapping_path),
            "--data",
            str(study.data_dir),
            "--server",
            server.url,
            "--ledger",
            str(study.ledger_path),
            "--json",
            *extra,
        )

    try:
        for mode in MODES:
            assert run("sync", mode).returncode == 0
        server.stop()
        server = start_server(port, detach=False, timeout=240, state_dir=state)
        for mode in MODES:
            refill = run("sync", mode)
            assert refill.returncode == 0, (mode, refill.stderr[-1500:])
            totals = json.loads(refill.stdout)["totals"]
            assert totals["created"] == sum(map(len, studies[mode].expected().values()))
            checked = run("verify", mode)
            assert checked.returncode == 0, (mode, checked.stdout[-1500:])
            quiet = json.loads(run("sync", mode).stdout)["totals"]
            assert quiet["created"] + quiet["updated"] == 0, mode
    finally:
        server.stop()
