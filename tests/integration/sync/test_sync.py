"""Sync against the real HAPI server: what the server holds after each kind of run."""

from __future__ import annotations

import pytest

from fhir_adapter.errors import LedgerError, ResourceGoneError
from fhir_adapter.sync import Ledger, RemovalPolicy, WriteMode
from fhir_adapter.verify import verify_study


@pytest.mark.parametrize("name", ["study_a", "study_b"])
def test_full_study_lands_exactly_and_a_second_sync_writes_nothing(name, make_study, client, view):
    study = make_study(name, subjects=None)
    expected = study.expected()
    first = study.sync(client)
    assert first.failures == [] and first.mapping.errors == []
    for kind, resources in expected.items():
        assert first.counts[kind]["created"] == len(resources), kind
        assert view.count(study, kind, resources) == len(resources), kind

    second = study.sync(client)
    assert second.written == 0 and second.failures == []
    assert second.total("unchanged") == sum(len(r) for r in expected.values())
    # No new versions anywhere: every resource is still at version 1.
    for kind, resources in expected.items():
        copies = view.held(kind, [r["id"] for r in resources])
        assert len(copies) == len(resources), kind
        assert {c["meta"]["versionId"] for c in copies.values()} == {"1"}, kind

    mapping = study.mapping()
    with Ledger(
        study.ledger_path, server_url=study.server_url, study_key=mapping.spec.study.key
    ) as ledger:
        assert verify_study(mapping, client, ledger).ok


def test_changing_one_lab_value_updates_exactly_that_resource(make_study, client, view):
    study = make_study("study_a", subjects=3)
    study.sync(client)
    before = study.expected()

    def change(rows):
        rows[0]["hba1c_pct"] = "6.1" if rows[0]["hba1c_pct"] != "6.1" else "6.2"
        return rows

    study.edit("visits.csv", change)
    after = study.expected()
    changed = [
        a["id"] for b, a in zip(before["Observation"], after["Observation"], strict=True) if a != b
    ]
    assert len(changed) == 1
    report = study.sync(client)
    assert report.written == 1 and report.counts["Observation"]["updated"] == 1
    for kind, resources in after.items():
        copies = view.held(kind, [r["id"] for r in resources])
        for resource in resources:
            version = copies[resource["id"]]["meta"]["versionId"]
            assert version == ("2" if resource["id"] in changed else "1"), (kind, resource["id"])
    assert str(copies_value(client, changed[0])) in {"6.1", "6.2"}


def copies_value(client, observation_id):
    return client.read("Observation", observation_id)["valueQuantity"]["value"]


def _drop_subject(subject):
    return lambda rows: [r for r in rows if r.get("subject_id") != subject]


@pytest.mark.parametrize("policy", list(RemovalPolicy))
def test_withdrawn_participant_follows_the_removal_policy(policy, make_study, client, view):
    study = make_study("study_a", subjects=3)
    study.sync(client)
    gone = [r for r in study.expected()["Patient"] if r["identifier"][0]["value"] == "A-002"][0]
    gone_observations = [
        r
        for r in study.expected()["Observation"]
        if r["subject"]["reference"] == f"Patient/{gone['id']}"
    ]
    for file in (
        "subjects.csv",
        "visits.csv",
        "procedures.csv",
        "cell_products.csv",
        "medications.csv",
        "adverse_events.csv",
    ):
        study.edit(file, _drop_subject("A-002"))
    report = study.sync(client, removal=policy)
    assert report.failures == []
    patient_copy = lambda: client.read("Patient", gone["id"])  # noqa: E731
    if policy is RemovalPolicy.DELETE:
        assert report.participants_removed == 1
        with pytest.raises(ResourceGoneError):
            patient_copy()
        assert view.held("Observation", [o["id"] for o in gone_observations]) == {}
    elif policy is RemovalPolicy.ENTERED_IN_ERROR:
        assert patient_copy()["active"] is False
        statuses = {
            o["status"]
            for o in view.held("Observation", [o["id"] for o in gone_observations]).values()
        }
        assert statuses == {"entered-in-error"}
        assert report.counts["Observation"]["marked"] == len(gone_observations)
    else:
        assert patient_copy()["meta"]["versionId"] == "1"
        # Nothing of the removed participant is written. Removing its rows renumbers the
        # rows after them, so later participants' Provenance (which cites source rows) may
        # update; no other resource may.
        written = {k: dict(v) for k, v in report.counts.items() if set(v) - {"unchanged", "kept"}}
        assert set(written) <= {"Provenance"}, written
        assert report.counts["Observation"]["kept"] == len(gone_observations)
    # The other participants are untouched either way.
    others = [r for r in study.expected()["Observation"]]
    assert {
        c["meta"]["versionId"] for c in view.held("Observation", [o["id"] for o in others]).values()
    } == {"1"}


def test_conditional_mode_uses_server_ids_and_never_duplicates(make_study, client, view):
    study = make_study("study_a", subjects=3)
    expected = study.expected()
    first = study.sync(client, mode=WriteMode.CONDITIONAL)
    assert first.failures == [] and first.write_mode == "conditional"
    # Server-assigned ids: nothing is stored under our ids.
    assert view.held("Patient", [r["id"] for r in expected["Patient"]]) == {}
    second = study.sync(client, mode=WriteMode.CONDITIONAL)
    assert second.written == 0
    study.edit("visits.csv", lambda rows: [{**rows[0], "fpg_mg_dl": "111"}, *rows[1:]])
    third = study.sync(client, mode=WriteMode.CONDITIONAL)
    assert third.written == 1 and third.counts["Observation"]["updated"] == 1
    for kind, resources in study.expected().items():
        assert view.count(study, kind, resources) == len(resources), kind
    mapping = study.mapping()
    with Ledger(
        study.ledger_path, server_url=study.server_url, study_key=mapping.spec.study.key
    ) as ledger:
        assert verify_study(mapping, client, ledger).ok
    with pytest.raises(LedgerError, match="conditional"):
        study.sync(client, mode=WriteMode.CLIENT_IDS)


def test_lost_ledger_costs_only_extra_writes(make_study, client, view):
    study = make_study("study_a", subjects=3)
    expected = study.expected()
    study.sync(client)
    study.ledger_path.unlink()
    again = study.sync(client)
    assert again.failures == []
    for kind, resources in expected.items():
        assert view.count(study, kind, resources) == len(resources), kind
        copies = view.held(kind, [r["id"] for r in resources])
        # HAPI recognises the identical content: no new version either.
        assert {c["meta"]["versionId"] for c in copies.values()} == {"1"}, kind


def test_dry_run_plans_without_writing(make_study, client, view):
    from fhir_adapter.sync import Ledger as LedgerFile
    from fhir_adapter.sync import SyncEngine, SyncOptions

    study = make_study("study_a", subjects=2)
    study.sync(client)
    study.edit("visits.csv", lambda rows: [{**rows[0], "weight_kg": "99.9"}, *rows[1:]])
    mapping = study.mapping()
    with LedgerFile(
        study.ledger_path, server_url=study.server_url, study_key=mapping.spec.study.key
    ) as ledger:
        plan = SyncEngine(
            client, ledger, SyncOptions(dry_run=True, write_mode=WriteMode.CLIENT_IDS)
        ).run(mapping)
    assert plan.dry_run and plan.counts["Observation"]["updated"] == 1
    assert [p.actions for p in plan.planned] == [{"update": 1}]
    observations = study.expected()["Observation"]
    assert {
        c["meta"]["versionId"]
        for c in view.held("Observation", [o["id"] for o in observations]).values()
    } == {"1"}
    assert study.sync(client).counts["Observation"]["updated"] == 1  # still pending
