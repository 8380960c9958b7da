"""``StudyCopy``: a private, small copy of example study A for one fault round.

Each copy gets a fresh study key and identifier base, so rounds (and other test runs on a
shared server) never touch each other's resources. The data is synthetic.
"""

from __future__ import annotations

import csv
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fhir_adapter.client import FhirClient
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping
from fhir_adapter.sync import Ledger, SyncEngine, SyncOptions, SyncReport, WriteMode
from fhir_adapter.sync.writemode import full_url

REPO = Path(__file__).resolve().parents[2]
Key = tuple[str, str]  # (resource type, our id)
LedgerState = dict[Key, tuple[str, str, str | None]]  # content hash, server id, version


@dataclass(frozen=True)
class StudyCopy:
    """Mapping, data folder and ledger of one private copy of study A."""

    key: str
    subjects: int
    mapping_path: Path
    data_dir: Path
    ledger_path: Path

    @classmethod
    def create(cls, parent: Path, subjects: int) -> StudyCopy:
        tag = uuid.uuid4().hex[:8]  # unique even when a seed is replayed on the same server
        folder = parent / f"study-{tag}"
        folder.mkdir(parents=True)
        shutil.copytree(REPO / "mappings" / "codes", folder / "codes")
        text = (REPO / "mappings" / "study_a.yaml").read_text(encoding="utf-8")
        text = (
            text.replace("key: study-a", f"key: f{tag}")
            .replace("example:study-a", f"fault:{tag}")
            .replace('value: "STUDY-', f'value: "F{tag}-')
        )
        mapping_path = folder / "study_a.yaml"
        mapping_path.write_text(text, encoding="utf-8")
        data = folder / "data"
        shutil.copytree(REPO / "examples" / "study_a", data)
        keep = {f"A-{i:03d}" for i in range(1, subjects + 1)}
        for path in data.glob("*.csv"):
            _rewrite(path, lambda rows: [r for r in rows if r["subject_id"] in keep])
        return cls(f"f{tag}", subjects, mapping_path, data, folder / "ledger.sqlite")

    def mapping(self) -> StudyMapping:
        return StudyMapping(load_mapping(self.mapping_path), self.data_dir)

    def expected(self) -> dict[Key, dict[str, Any]]:
        """Every mapped resource by (type, our id)."""
        return {(r["resourceType"], r["id"]): r for r, _ in self.mapping().all_resources()}

    def entry_keys(self) -> dict[str, Key]:
        """Transaction entry → resource: by ``Type/id`` (client-ids mode) and by the
        ``urn:uuid`` full URL (conditional mode)."""
        keys: dict[str, Key] = {}
        for kind, rid in self.expected():
            keys[f"{kind}/{rid}"] = (kind, rid)
            keys[full_url(kind, rid)] = (kind, rid)
        return keys

    def change_one_value(self, index: int) -> None:
        """A source change: the weight of the ``index``-th visit that has one moves by
        0.1 kg (one Observation; successive indexes reach other participants)."""

        def change(rows: list[dict[str, str]]) -> list[dict[str, str]]:
            weighed = [r for r in rows if r["weight_kg"]]
            row = weighed[(index * 7) % len(weighed)]
            row["weight_kg"] = f"{float(row['weight_kg']) + 0.1:.1f}"
            return rows

        _rewrite(self.data_dir / "visits.csv", change)

    def open_ledger(self, server_url: str) -> Ledger:
        return Ledger(self.ledger_path, server_url=server_url, study_key=self.key)

    def sync(
        self, client: FhirClient, mode: WriteMode, ledger_server: str, *, concurrency: int = 4
    ) -> SyncReport:
        """One sync run with the library; ``ledger_server`` is the URL the ledger is kept
        for (the proxy and the server it fronts are one server to the ledger)."""
        with self.open_ledger(ledger_server) as ledger:
            engine = SyncEngine(
                client, ledger, SyncOptions(write_mode=mode, concurrency=concurrency)
            )
            return engine.run(self.mapping())

    def ledger_keys(self, server_url: str) -> set[Key]:
        with self.open_ledger(server_url) as ledger:
            return {(e.type, e.id) for e in ledger.entries()}

    def ledger_state(self, server_url: str) -> LedgerState:
        """What the ledger holds per resource: content hash, server id and version."""
        if not self.ledger_path.exists():
            return {}
        with self.open_ledger(server_url) as ledger:
            return {
                (e.type, e.id): (e.content_hash, e.server_id, e.version) for e in ledger.entries()
            }

    def ledger_participants(self, server_url: str) -> int:
        if not self.ledger_path.exists():
            return 0
        with self.open_ledger(server_url) as ledger:
            return len(ledger.participants())


def _rewrite(path: Path, change: Any) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = list(reader.fieldnames or ()), list(reader)
    rows = change(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
