"""Sync the hospital lab-system export of study A (Windows-1252, long labs, text frequencies,
no line numbers, products on the procedure rows) to the real HAPI server.

The study copy has its own study key and identifier base (``make_study``), so it never meets
other tests' resources on the shared server.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from decimal import Decimal

from fhir_adapter.fhir.serialize import canonical_json

SUBJECTS = {"A-001", "A-002", "A-003"}  # A-002 changes a dose; A-001 has an adverse event


def _rewrite(study, name: str, change: Callable[[list[dict]], list[dict]]) -> None:
    """Rewrite one of the export's files as the hospital writes them (';', Windows-1252)."""
    path = study.data_dir / name
    with path.open(encoding="cp1252", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=";")
        fields, rows = reader.fieldnames, list(reader)
    with path.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, delimiter=";", lineterminator="\n")
        writer.writeheader()
        writer.writerows(change(rows))


def _numbers(resource: dict) -> object:
    return json.loads(canonical_json(resource), parse_float=Decimal)


def _facts(resources) -> dict[tuple[str, ...], object]:
    """Clinical facts keyed by what they are, not by id (the study keys differ): each
    observation's value, each medication line's dosage."""
    number = {f"Patient/{p['id']}": p["identifier"][0]["value"] for p in resources["Patient"]}
    facts: dict[tuple[str, ...], object] = {
        (
            number[o["subject"]["reference"]],
            o["code"]["coding"][0]["code"],
            o["effectiveDateTime"],
        ): (_numbers(o["valueQuantity"]))
        for o in resources["Observation"]
    }
    for m in resources["MedicationStatement"]:
        drug = m["medicationCodeableConcept"]["coding"][0]["code"]
        start = m["effectivePeriod"]["start"]
        facts[(number[m["subject"]["reference"]], drug, start)] = _numbers(m["dosage"])
    return facts


def test_the_hospital_export_lands_with_the_study_values_and_survives_a_resort(
    make_study, client, view
):
    study = make_study("study_a_hospital")
    for name in (
        "patients.csv",
        "visits.csv",
        "labs.csv",
        "procedures.csv",
        "medications.csv",
        "adverse_events.csv",
    ):
        _rewrite(study, name, lambda rows: [r for r in rows if r["Patient no."] in SUBJECTS])
    expected = study.expected()
    first = study.sync(client)
    assert first.failures == [] and first.mapping.errors == []
    assert first.mapping.participants_mapped == 3
    for kind, resources in expected.items():
        assert view.count(study, kind, resources) == len(resources), kind
        copies = view.held(kind, [r["id"] for r in resources])
        for resource in resources:  # every mapped element is held as mapped
            held = copies[resource["id"]]
            mine = {k: v for k, v in resource.items() if k != "meta"}
            assert _numbers({k: held.get(k) for k in mine}) == _numbers(mine), resource["id"]
    assert len(expected["BiologicallyDerivedProduct"]) == 6  # infusion rows only
    event = expected["AdverseEvent"][0]
    assert client.read("AdverseEvent", event["id"])["event"]["text"] == "Fièvre"

    # The same observation values and medication dosages as the site's own CSVs.
    reference = make_study("study_a", subjects=3).expected()
    assert _facts(expected) == _facts(reference) and len(_facts(expected)) > 60

    # A re-sorted medication file and a result re-expressed in the lab's other unit
    # (A-001's baseline HbA1c 9,0 % as 75 mmol/mol, 9.013 % back) change no clinical
    # resource: lines are keyed by drug and start, not by their place. Only the Provenance
    # records change, since they name the source rows, which moved.
    def re_express(rows: list[dict]) -> list[dict]:
        for row in rows:
            if (row["Patient no."], row["Visit"], row["Test"]) == ("A-001", "BL", "HBA1C"):
                assert (row["Result"], row["Unit"]) == ("9,0", "%")
                row["Result"], row["Unit"] = "75", "mmol/mol"
        return rows

    _rewrite(study, "medications.csv", lambda rows: rows[::-1])
    _rewrite(study, "labs.csv", re_express)
    resorted = study.sync(client)
    assert resorted.failures == []
    written = {
        kind: sum(counts[o] for o in ("created", "updated", "deleted", "marked"))
        for kind, counts in resorted.counts.items()
    }
    assert {kind for kind, n in written.items() if n} == {"Provenance"}
    assert written["Provenance"] == 3

    # A frequency corrected from once to twice a day updates that one line.
    def twice(rows: list[dict]) -> list[dict]:
        for row in rows:
            if row["Patient no."] == "A-001" and row["Drug"] == "Insulin glargine (Lantus)":
                assert row["Frequency"] == "OD"
                row["Frequency"] = "BID"
        return rows

    _rewrite(study, "medications.csv", twice)
    report = study.sync(client)
    assert report.written == 1 and report.counts["MedicationStatement"]["updated"] == 1
    glargine = next(
        m
        for m in study.expected()["MedicationStatement"]
        if m["identifier"][0]["value"].startswith("A-001/Insulin glargine")
    )
    held = client.read("MedicationStatement", glargine["id"])
    assert held["dosage"][0]["timing"]["repeat"]["frequency"] == 2
