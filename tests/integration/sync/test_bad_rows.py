"""Bad rows against the real HAPI server: a sync loses exactly the bad rows, nothing else,
and never removes from the server what a bad row held before."""

from __future__ import annotations

from fhir_adapter.sync import Ledger, RemovalPolicy
from fhir_adapter.verify import verify_study


def _origins(study):
    """Every mapped resource with the (file, row) it came from."""
    return [
        (resource, (origin.file, origin.row) if origin else None)
        for resource, origin in study.mapping().all_resources()
    ]


def _spoil_one_lab_row_per_participant(study):
    """Make one visits.csv row of every participant unreadable (a different visit each);
    returns the spoiled (file, row) pairs."""
    spoiled = set()

    def change(rows):
        seen: dict[str, int] = {}
        for number, row in enumerate(rows, start=2):
            subject = row["subject_id"]
            index = seen.get(subject, 0)
            seen[subject] = index + 1
            target = int(subject.split("-")[1]) % 3  # the 1st, 2nd or 3rd visit row
            if index == target:
                row["hba1c_pct"] = "8,4 %"  # neither a number nor a comparator
                spoiled.add(("visits.csv", number))
        return rows

    study.edit("visits.csv", change)
    return spoiled


def test_a_sync_loses_exactly_the_bad_lab_rows(make_study, client, view):
    study = make_study("study_a", subjects=None)
    clean = _origins(study)
    participants = sum(1 for r, _ in clean if r["resourceType"] == "Patient")
    spoiled = _spoil_one_lab_row_per_participant(study)
    assert len(spoiled) == participants  # one per participant

    report = study.sync(client)

    mapped = report.mapping
    assert mapped.rows_rejected == participants and mapped.rows_left_out == 0
    assert {(e.file, e.row, e.column, e.rule) for e in mapped.errors} == {
        (file, row, "hba1c_pct", "number") for file, row in spoiled
    }
    assert mapped.participants_partial == participants and mapped.participants_rejected == 0
    lost = {r["id"] for r, where in clean if where in spoiled}
    assert lost
    kept: dict[str, list[dict]] = {}
    for resource, _where in clean:
        if resource["id"] not in lost:
            kept.setdefault(resource["resourceType"], []).append(resource)
    # A wide visit row holds all of its visit's results: its Encounter goes with them.
    assert {r["resourceType"] for r, where in clean if where in spoiled} == {
        "Observation",
        "Encounter",
    }
    for kind, resources in kept.items():
        # Exactly the clean export's resources minus the spoiled rows' ones: none missing,
        # none extra (counted by business key, so a duplicate would show).
        assert view.count(study, kind, resources) == len(resources), kind
        held = view.held(kind, [r["id"] for r in resources])
        assert set(held) == {r["id"] for r in resources}, kind
    for kind in ("Observation", "Encounter"):
        assert view.held(kind, sorted(lost)) == {}, kind
    # The values that were kept are the clean export's values.
    observations = view.held("Observation", [r["id"] for r in kept["Observation"]])
    for resource in kept["Observation"]:
        if "valueQuantity" in resource:
            assert observations[resource["id"]]["valueQuantity"]["value"] == float(
                resource["valueQuantity"]["value"]
            ), resource["id"]


def test_a_bad_row_never_removes_what_the_server_holds(make_study, client, view):
    study = make_study("study_a", subjects=4)
    study.sync(client, removal=RemovalPolicy.DELETE)
    clean = _origins(study)
    spoiled = _spoil_one_lab_row_per_participant(study)
    held_before = {
        r["id"] for r, where in clean if where in spoiled and r["resourceType"] == "Observation"
    }

    report = study.sync(client, removal=RemovalPolicy.DELETE)

    assert report.mapping.participants_partial == 4
    assert report.total("deleted") == 0
    # What the bad rows held is still on the server, untouched (version 1)...
    held = view.held("Observation", sorted(held_before))
    assert set(held) == held_before
    assert {c["meta"]["versionId"] for c in held.values()} == {"1"}
    # ...and once the rows are corrected, the study is whole and verify agrees.
    study.edit(
        "visits.csv",
        lambda rows: [
            {**row, "hba1c_pct": row["hba1c_pct"].replace("8,4 %", "8.4")} for row in rows
        ],
    )
    again = study.sync(client, removal=RemovalPolicy.DELETE)
    assert again.mapping.errors == [] and again.failures == []
    mapping = study.mapping()
    with Ledger(
        study.ledger_path, server_url=study.server_url, study_key=mapping.spec.study.key
    ) as ledger:
        assert verify_study(mapping, client, ledger).ok
