"""Ledger locking and ownership; planning against the ledger; bundle shapes per write mode."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from fhir_adapter.errors import FhirAdapterError, LedgerError
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.sync.ledger import Ledger, LedgerEntry
from fhir_adapter.sync.plan import Action, RemovalPolicy, mark_entered_in_error, plan_participant
from fhir_adapter.sync.writemode import WriteMode, bundle_for, full_url

URL = "http://127.0.0.1:8080/fhir"
PATIENT = {
    "resourceType": "Patient",
    "id": "s-pat-1",
    "identifier": [{"system": "urn:x/subject", "value": "A-001"}],
    "gender": "female",
}
OBS = {
    "resourceType": "Observation",
    "id": "s-obs-1",
    "identifier": [{"system": "urn:x/observation", "value": "A-001/BL/hba1c"}],
    "status": "final",
    "subject": {"reference": "Patient/s-pat-1"},
}


def _entry(resource, participant="s-pat-1", server_id=None, version="1"):
    text = canonical_json(resource)
    import hashlib

    return LedgerEntry(
        resource["resourceType"],
        resource["id"],
        participant,
        hashlib.sha256(text.encode()).hexdigest(),
        text,
        server_id or resource["id"],
        version,
    )


def _try_open(path, queue):
    try:
        Ledger(path, server_url=URL, study_key="s").close()
        queue.put("opened")
    except LedgerError as error:
        queue.put(str(error))


def test_a_second_run_on_the_same_ledger_refuses(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path, server_url=URL, study_key="s"):
        queue: multiprocessing.Queue = multiprocessing.Queue()
        other = multiprocessing.Process(target=_try_open, args=(path, queue))
        other.start()
        other.join(30)
        assert "in use by another sync run" in queue.get(timeout=5)
    Ledger(path, server_url=URL, study_key="s").close()  # free again afterwards


def test_ledger_belongs_to_one_server_and_study(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger(path, server_url=URL, study_key="s").close()
    with pytest.raises(LedgerError, match="another server"):
        Ledger(path, server_url="http://elsewhere/fhir", study_key="s")
    with pytest.raises(LedgerError, match="another study"):
        Ledger(path, server_url=URL, study_key="t")


def test_corrupt_ledger_is_a_clear_error(tmp_path):
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError, match="unreadable"):
        Ledger(path, server_url=URL, study_key="s")


def test_write_mode_switch_is_refused(tmp_path):
    with Ledger(tmp_path / "l.sqlite", server_url=URL, study_key="s") as ledger:
        ledger.check_write_mode("client-ids")
        ledger.check_write_mode("client-ids")
        with pytest.raises(LedgerError, match="duplicate"):
            ledger.check_write_mode("conditional")


def test_commit_is_per_participant_and_readable(tmp_path):
    with Ledger(tmp_path / "l.sqlite", server_url=URL, study_key="s") as ledger:
        ledger.commit([_entry(PATIENT), _entry(OBS)], [])
        assert set(ledger.participant_entries("s-pat-1")) == {
            ("Patient", "s-pat-1"),
            ("Observation", "s-obs-1"),
        }
        assert ledger.count() == 2 and ledger.participants() == {"s-pat-1"}
        ledger.commit([], [("Observation", "s-obs-1")])
        assert ledger.count() == 1


def test_plan_sends_only_what_changed():
    known = {("Patient", "s-pat-1"): _entry(PATIENT), ("Observation", "s-obs-1"): _entry(OBS)}
    plan = plan_participant("s-pat-1", "row 2", [PATIENT, OBS], known, RemovalPolicy.KEEP)
    assert plan.empty and plan.unchanged == {"Patient": 1, "Observation": 1}
    changed = {**OBS, "status": "amended"}
    plan = plan_participant("s-pat-1", "row 2", [PATIENT, changed], known, RemovalPolicy.KEEP)
    assert [(w.action, w.resource_type) for w in plan.writes] == [(Action.UPDATE, "Observation")]
    plan = plan_participant("s-pat-1", "row 2", [PATIENT, OBS], {}, RemovalPolicy.KEEP)
    assert [w.action for w in plan.writes] == [Action.CREATE, Action.CREATE]


@pytest.mark.parametrize(
    ("policy", "action"),
    [
        (RemovalPolicy.DELETE, Action.DELETE),
        (RemovalPolicy.ENTERED_IN_ERROR, Action.MARK),
        (RemovalPolicy.KEEP, None),
    ],
)
def test_removed_rows_follow_the_policy(policy, action):
    known = {("Patient", "s-pat-1"): _entry(PATIENT), ("Observation", "s-obs-1"): _entry(OBS)}
    plan = plan_participant("s-pat-1", "row 2", [PATIENT], known, policy)
    assert [w.action for w in plan.writes] == ([action] if action else [])
    if action is Action.MARK:
        assert json.loads(plan.writes[0].text)["status"] == "entered-in-error"
    if action is None:
        assert plan.kept == {"Observation": 1}


def test_entered_in_error_per_type():
    assert mark_entered_in_error(PATIENT)["active"] is False
    condition = mark_entered_in_error({"resourceType": "Condition", "clinicalStatus": {}})
    assert condition["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    assert "clinicalStatus" not in condition
    assert mark_entered_in_error({"resourceType": "AdverseEvent"}) is None


def _plan(*resources):
    return plan_participant("s-pat-1", "row 2", list(resources), {}, RemovalPolicy.KEEP)


def test_client_id_bundle_puts_each_resource_at_its_id():
    bundle = json.loads(bundle_for(_plan(PATIENT, OBS), WriteMode.CLIENT_IDS, {}))
    assert bundle["type"] == "transaction"
    assert [e["request"] for e in bundle["entry"]] == [
        {"method": "PUT", "url": "Patient/s-pat-1"},
        {"method": "PUT", "url": "Observation/s-obs-1"},
    ]
    assert bundle["entry"][1]["resource"] == OBS


def test_conditional_bundle_matches_by_identifier_and_links_by_urn_uuid():
    bundle = json.loads(bundle_for(_plan(PATIENT, OBS), WriteMode.CONDITIONAL, {}))
    patient, obs = bundle["entry"]
    assert patient["request"]["url"] == "Patient?identifier=urn:x/subject|A-001"
    assert obs["request"]["url"] == "Observation?identifier=urn:x/observation|A-001%2FBL%2Fhba1c"
    assert "id" not in obs["resource"]
    assert (
        obs["resource"]["subject"]["reference"]
        == patient["fullUrl"]
        == full_url("Patient", "s-pat-1")
    )


def test_conditional_bundle_points_outside_references_at_server_ids():
    bundle = json.loads(
        bundle_for(_plan(OBS), WriteMode.CONDITIONAL, {("Patient", "s-pat-1"): "1234"})
    )
    assert bundle["entry"][0]["resource"]["subject"]["reference"] == "Patient/1234"
    with pytest.raises(FhirAdapterError, match="cannot resolve a reference"):
        bundle_for(_plan(OBS), WriteMode.CONDITIONAL, {})


def test_conditional_provenance_is_matched_by_tag():
    provenance = {
        "resourceType": "Provenance",
        "id": "s-prov-1",
        "target": [{"reference": "Patient/s-pat-1"}],
    }
    bundle = json.loads(bundle_for(_plan(PATIENT, provenance), WriteMode.CONDITIONAL, {}))
    entry = bundle["entry"][1]
    assert entry["request"]["url"].startswith("Provenance?_tag=urn:fhir-adapter:resource-key|")
    assert entry["resource"]["meta"]["tag"][0]["code"] == "s-prov-1"


def test_ledger_names_are_readable_and_earlier_names_are_renamed(tmp_path):
    from fhir_adapter.sync.ledger import default_ledger_path

    url = "http://127.0.0.1:8080/fhir"
    earlier = tmp_path / f"s-{__import__('hashlib').sha256(url.encode()).hexdigest()[:12]}.sqlite"
    earlier.write_text("x")
    path = default_ledger_path(tmp_path, url + "/", "s")
    assert path.name.startswith("s@127.0.0.1-8080-") and path.read_text() == "x"
    assert not earlier.exists()
    other = default_ledger_path(tmp_path, "https://fhir.example.org/r4", "s")
    assert other.name.startswith("s@fhir.example.org-443-") and other != path


def test_a_study_belongs_to_one_mapping_unless_taken_over(tmp_path):
    with Ledger(tmp_path / "l.sqlite", server_url=URL, study_key="s") as ledger:
        assert ledger.claim_mapping("a.yaml") is None
        assert ledger.claim_mapping("a.yaml") is None
        with pytest.raises(LedgerError, match="from the mapping a.yaml.*--take-over"):
            ledger.claim_mapping("b.yaml")
        assert ledger.claim_mapping("b.yaml", take_over=True, record=False) == "a.yaml"
        assert ledger.meta()["mapping"] == "a.yaml"  # a dry run records nothing
        assert ledger.claim_mapping("b.yaml", take_over=True) == "a.yaml"
        assert ledger.meta()["mapping"] == "b.yaml"


def test_runs_are_recorded_for_status(tmp_path):
    from fhir_adapter.sync.ledger import RunRecord

    with Ledger(tmp_path / "l.sqlite", server_url=URL, study_key="s") as ledger:
        assert ledger.last_run("sync") is None
        for summary in ("first", "second"):
            ledger.record_run(RunRecord("sync", "t0", "t1", "a.yaml", "d", "data", True, summary))
        ledger.record_run(RunRecord("verify", "t2", "t3", "a.yaml", "d", "data", False, "v"))
        assert ledger.last_run("sync").summary == "second"
        assert ledger.last_run("verify").ok is False


def test_resource_key_reads_and_writes_relative_references():
    key = ResourceKey("Observation", "s-obs-1")
    assert str(key) == "Observation/s-obs-1" and key == ("Observation", "s-obs-1")
    assert ResourceKey.parse(str(key)) == key
    assert ResourceKey.of({"resourceType": "Observation", "id": "s-obs-1"}) == key
    assert ResourceKey.parse("urn:uuid:1234") is None
    assert ResourceKey.parse("http://x/fhir/Patient/1") is None


def test_ledger_lock_and_folder_are_owner_only(tmp_path):
    import stat

    folder = tmp_path / "ledgers"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    path = folder / "l.sqlite"
    path.write_bytes(b"")
    path.chmod(0o644)  # an earlier, world-readable ledger is tightened on open
    with Ledger(path, server_url=URL, study_key="s") as ledger:
        ledger.commit([_entry(PATIENT)], [])
        for item in (path, folder / "l.sqlite.lock", *folder.glob("l.sqlite-*")):
            assert stat.S_IMODE(item.stat().st_mode) == 0o600, item
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
