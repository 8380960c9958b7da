"""Sync integration fixtures: each test syncs its own copy of a study (a unique study key and
identifier base), so tests sharing the one HAPI server never see each other's resources."""

from __future__ import annotations

import csv
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.client import FhirClient
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping
from fhir_adapter.sync import Ledger, RemovalPolicy, SyncEngine, SyncOptions, SyncReport, WriteMode
from fhir_adapter.sync.writemode import PROVENANCE_TAG_SYSTEM, TAG_MATCHED

REPO = Path(__file__).resolve().parents[3]
SUBJECT_COLUMN = {"study_a": "subject_id", "study_b": "PatientNo"}


@dataclass
class Study:
    """A private copy of an example study: mapping, data folder and ledger path."""

    name: str
    mapping_path: Path
    data_dir: Path
    ledger_path: Path
    server_url: str

    def mapping(self) -> StudyMapping:
        return StudyMapping(load_mapping(self.mapping_path), self.data_dir)

    def sync(
        self,
        client: FhirClient,
        *,
        mode: WriteMode = WriteMode.CLIENT_IDS,
        removal: RemovalPolicy = RemovalPolicy.KEEP,
        hook: Any = None,
        concurrency: int = 4,
    ) -> SyncReport:
        mapping = self.mapping()
        with Ledger(
            self.ledger_path, server_url=self.server_url, study_key=mapping.spec.study.key
        ) as ledger:
            engine = SyncEngine(
                client,
                ledger,
                SyncOptions(write_mode=mode, removal=removal, concurrency=concurrency),
                after_server_commit=hook,
            )
            return engine.run(mapping)

    def expected(self) -> dict[str, list[dict[str, Any]]]:
        """What the mapping produces, per resource type."""
        out: dict[str, list[dict[str, Any]]] = {}
        for resource, _ in self.mapping().all_resources():
            out.setdefault(resource["resourceType"], []).append(resource)
        return out

    def edit(self, file: str, change: Any) -> None:
        """Rewrite one data file: ``change(rows) -> rows`` on its dict rows."""
        path = self.data_dir / file
        delimiter = ";" if self.name == "study_b" else ","
        encoding = "utf-8-sig" if self.name == "study_b" else "utf-8"
        with path.open(encoding=encoding, newline="") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            fields, rows = reader.fieldnames, list(reader)
        rows = change(rows)
        with path.open("w", encoding=encoding, newline="") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=fields, delimiter=delimiter, lineterminator="\n"
            )
            writer.writeheader()
            writer.writerows(rows)


def _copy_study(name: str, target: Path, subjects: int | None) -> Path:
    data = target / "data"
    shutil.copytree(REPO / "examples" / name, data)
    if subjects is not None:
        assert name == "study_a", "subsets are cut from study A (CSV only)"
        keep = {f"A-{i:03d}" for i in range(1, subjects + 1)}
        for path in data.glob("*.csv"):
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                fields, rows = reader.fieldnames, [r for r in reader if r["subject_id"] in keep]
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
    return data


@pytest.fixture
def make_study(tmp_path: Path, fhir_base_url: str):
    def make(name: str = "study_a", subjects: int | None = 4) -> Study:
        tag = uuid.uuid4().hex[:8]
        folder = tmp_path / f"{name}-{tag}"
        folder.mkdir()
        shutil.copytree(REPO / "mappings" / "codes", folder / "codes")
        key = "study-a" if name.startswith("study_a") else "study-b"
        text = (REPO / "mappings" / f"{name}.yaml").read_text(encoding="utf-8")
        text = (
            text.replace(f"key: {key}", f"key: t{tag}")
            .replace(f"example:{key}", f"test:{tag}")
            .replace('value: "STUDY-', f'value: "T{tag}-')
        )
        mapping_path = folder / f"{name}.yaml"
        mapping_path.write_text(text, encoding="utf-8")
        data = _copy_study(name, folder, subjects if name == "study_a" else None)
        return Study(name, mapping_path, data, folder / "ledger.sqlite", fhir_base_url)

    return make


@pytest.fixture
def client(fhir_base_url: str) -> Iterator[FhirClient]:
    with FhirClient(fhir_base_url, max_concurrency=4, deadline=300) as fhir:
        yield fhir


def held(client: FhirClient, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The server's copies of ``kind`` resources with these ids (fresh, not cached)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        for resource in client.search(
            kind, {"_id": ",".join(chunk), "_count": "100"}, no_cache=True
        ):
            found[resource["id"]] = resource
    return found


def count_by_key(
    client: FhirClient, study: Study, kind: str, resources: list[dict[str, Any]]
) -> int:
    """How many resources the server holds for these business keys, whatever their ids:
    by identifier system, or (for types R4 cannot search by identifier) by the resource-key
    tag every such resource carries in both write modes. More than expected means
    duplicates."""
    if kind not in TAG_MATCHED:
        identifier = resources[0]["identifier"]
        first = identifier[0] if isinstance(identifier, list) else identifier
        system = first["system"]
        value = first["value"] if kind == "ResearchStudy" else ""
        bundle = client.search_bundle(
            kind, {"identifier": f"{system}|{value}", "_summary": "count"}, no_cache=True
        )
        return int(bundle["total"])
    ids = [r["id"] for r in resources]
    total = 0
    for start in range(0, len(ids), 100):
        tags = ",".join(f"{PROVENANCE_TAG_SYSTEM}|{rid}" for rid in ids[start : start + 100])
        bundle = client.search_bundle(kind, {"_tag": tags, "_summary": "count"}, no_cache=True)
        total += int(bundle["total"])
    return total


class ServerView:
    """Read what the server holds, bypassing its search cache."""

    def __init__(self, client: FhirClient):
        self.client = client

    def held(self, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        return held(self.client, kind, ids)

    def count(self, study: Study, kind: str, resources: list[dict[str, Any]]) -> int:
        return count_by_key(self.client, study, kind, resources)


@pytest.fixture
def view(client: FhirClient) -> ServerView:
    return ServerView(client)
