"""Write mapped resources to disk: transaction Bundles per participant and/or NDJSON per type,
and ``index.csv`` (participant source key → bundle file, resource count).

Output is assembled in a temporary folder beside the target and moved into place only when
the run finished, so an interrupted or failed run never leaves a half-written result. The
resources hold patient data: folders are created 0700 and files 0600 (see docs/security.md).
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

from fhir_adapter._private import private_opener
from fhir_adapter.fhir.bundle import transaction_json
from fhir_adapter.fhir.serialize import canonical_json

FORMATS = ("bundles", "ndjson")


class OutputWriter:
    def __init__(self, out_dir: Path, formats: tuple[str, ...] = FORMATS, *, index: bool = True):
        self.out_dir = Path(out_dir)
        self.formats = formats
        self.index = index
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=".fhir-adapter-out-", dir=self.out_dir.parent))
        self._ndjson: dict[str, IO[bytes]] = {}
        self._index: list[tuple[str, ...]] = []
        for name in formats:
            (self._tmp / name).mkdir(mode=0o700)

    @property
    def staging_dir(self) -> Path:
        """Where the output is assembled: what else belongs in the result (the rejects
        folder) is written here, to be moved into place with it."""
        return self._tmp

    def write_study(self, resources: list[dict[str, Any]]) -> None:
        self._write("study", resources)

    def write_participant(
        self, key: str, resources: list[dict[str, Any]], source: str = ""
    ) -> None:
        """Write one participant; ``source`` ("subjects.csv row 5") goes into the index."""
        self._write(key, resources)
        subject = subject_of(resources)
        bundle = f"bundles/{key}.json" if "bundles" in self.formats else ""
        self._index.append((subject, source, key, bundle, str(len(resources))))

    def _write(self, name: str, resources: list[dict[str, Any]]) -> None:
        texts = [canonical_json(r) for r in resources]
        if "bundles" in self.formats:
            _write_private(
                self._tmp / "bundles" / f"{name}.json",
                (transaction_json(resources, texts) + "\n").encode(),
            )
        if "ndjson" in self.formats:
            for resource, text in zip(resources, texts, strict=True):
                kind = resource["resourceType"]
                handle = self._ndjson.get(kind)
                if handle is None:
                    path = self._tmp / "ndjson" / f"{kind}.ndjson"
                    handle = open(path, "wb", buffering=1 << 20, opener=private_opener)  # noqa: SIM115
                    self._ndjson[kind] = handle
                handle.write((text + "\n").encode())

    def commit(self, summary_json: str) -> None:
        """Move the finished output into ``out_dir``, replacing an earlier run's files."""
        self._close()
        _write_private(self._tmp / "summary.json", (summary_json + "\n").encode())
        if self.index:
            _write_private(self._tmp / "index.csv", _index_csv(self._index))
        self.out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in (*FORMATS, "summary.json", "index.csv", "rejects"):
            target = self.out_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            if (self._tmp / name).exists():
                (self._tmp / name).rename(target)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def abort(self) -> None:
        self._close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _close(self) -> None:
        for handle in self._ndjson.values():
            handle.close()
        self._ndjson.clear()


INDEX_COLUMNS = ("subject", "source", "patient_id", "bundle", "resources")


def subject_of(resources: list[dict[str, Any]]) -> str:
    """The participant's source key: the Patient's business identifier value."""
    patient = next((r for r in resources if r.get("resourceType") == "Patient"), None)
    identifiers = (patient or {}).get("identifier") or [{}]
    value = identifiers[0].get("value", "") if isinstance(identifiers[0], dict) else ""
    return str(value)


def _cell(text: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula (OWASP CSV injection)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _index_csv(rows: list[tuple[str, ...]]) -> bytes:
    """participant source key → bundle file and resource count, for finding a participant."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(INDEX_COLUMNS)
    writer.writerows([_cell(c) for c in row] for row in sorted(rows))
    return buffer.getvalue().encode()


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to an owner-only (0600) file."""
    with open(path, "wb", opener=private_opener) as handle:
        handle.write(data)
