"""`map` output holds patient data: its folders and files are owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

from fhir_adapter.pipeline.output import OutputWriter

PATIENT = {"resourceType": "Patient", "id": "s-pat-1", "gender": "female"}


def test_map_output_is_owner_only(tmp_path: Path) -> None:
    writer = OutputWriter(tmp_path / "out")
    writer.write_study([])
    writer.write_participant("s-pat-1", [PATIENT])
    writer.commit("{}")
    written = [p for p in (tmp_path / "out").rglob("*")]
    assert {p.name for p in written} >= {"bundles", "ndjson", "Patient.ndjson", "summary.json"}
    for path in [tmp_path / "out", *written]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert not list(tmp_path.glob(".fhir-adapter-out-*"))  # the staging folder is gone


def test_the_index_finds_each_participants_bundle(tmp_path: Path) -> None:
    patient = {**PATIENT, "identifier": [{"system": "urn:s/subject", "value": "=A-001"}]}
    writer = OutputWriter(tmp_path / "out")
    writer.write_participant(
        "s-pat-1", [patient, {"resourceType": "Observation", "id": "o"}], "subjects.csv row 2"
    )
    writer.commit("{}")
    lines = (tmp_path / "out" / "index.csv").read_text().splitlines()
    assert lines == [
        "subject,source,patient_id,bundle,resources",
        "'=A-001,subjects.csv row 2,s-pat-1,bundles/s-pat-1.json,2",
    ]
    assert (tmp_path / "out" / "bundles" / "s-pat-1.json").exists()
