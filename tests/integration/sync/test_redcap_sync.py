"""Sync a REDCap raw export (study A as a REDCap project) to the real HAPI server.

The study copy has its own study key and identifier base (``make_study``), so it never
meets other tests' resources on the shared server.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal

from fhir_adapter.fhir.serialize import canonical_json


def _keep_records(study, records: set[str]) -> None:
    path = study.data_dir / "redcap_export.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, [r for r in reader if r["record_id"] in records]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _numbers(resource: dict) -> object:
    return json.loads(canonical_json(resource), parse_float=Decimal)


def _facts(resources) -> dict[tuple[str, str, str], object]:
    """(participant number, LOINC, date) -> valueQuantity: ids differ between study keys."""
    number = {f"Patient/{p['id']}": p["identifier"][0]["value"] for p in resources["Patient"]}
    return {
        (
            number[o["subject"]["reference"]],
            o["code"]["coding"][0]["code"],
            o["effectiveDateTime"],
        ): o["valueQuantity"]
        for o in resources["Observation"]
    }


def test_a_redcap_export_lands_with_the_study_values_and_a_recode_updates_one_patient(
    make_study, client, view
):
    study = make_study("study_a_redcap")
    _keep_records(study, {"A-001", "A-002", "A-003"})
    expected = study.expected()
    first = study.sync(client)
    assert first.failures == [] and first.mapping.errors == []
    assert first.mapping.participants_mapped == 3
    for kind, resources in expected.items():
        assert view.count(study, kind, resources) == len(resources), kind
        copies = view.held(kind, [r["id"] for r in resources])
        for resource in resources:  # every mapped element is held as mapped (the server
            held = copies[resource["id"]]  # adds meta, and a narrative where none was sent)
            mine = {k: v for k, v in resource.items() if k != "meta"}
            # Compared as numbers: the server writes 0.50 back as 0.5.
            assert _numbers({k: held.get(k) for k in mine}) == _numbers(mine), resource["id"]

    # The same clinical values as the site's own CSV export of these subjects.
    reference = make_study("study_a", subjects=3).expected()
    assert _facts(expected) == _facts(reference) and len(_facts(expected)) > 50

    assert study.sync(client).written == 0

    def recode(rows):  # A-001's sex: code 1 (Male) -> 2 (Female) on the enrolment row
        for row in rows:
            enrolment = row["redcap_event_name"] == "enrolment_arm_1"
            if row["record_id"] == "A-001" and enrolment and not row["redcap_repeat_instrument"]:
                row["sex"] = "2"
        return rows

    study.edit("redcap_export.csv", recode)
    report = study.sync(client)
    assert report.written == 1 and report.counts["Patient"]["updated"] == 1
    patient = next(p for p in study.expected()["Patient"] if p["identifier"][0]["value"] == "A-001")
    assert client.read("Patient", patient["id"])["gender"] == "female"
