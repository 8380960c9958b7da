"""Write mapped resources to disk: transaction Bundles per participant and/or NDJSON per type.

Output is assembled in a temporary folder beside the target and moved into place only when
the run finished, so an interrupted or failed run never leaves a half-written result.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

from fhir_adapter.fhir.bundle import transaction_json
from fhir_adapter.fhir.serialize import canonical_json

FORMATS = ("bundles", "ndjson")


class OutputWriter:
    def __init__(self, out_dir: Path, formats: tuple[str, ...] = FORMATS):
        self.out_dir = Path(out_dir)
        self.formats = formats
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=".fhir-adapter-out-", dir=self.out_dir.parent))
        self._ndjson: dict[str, IO[bytes]] = {}
        for name in formats:
            (self._tmp / name).mkdir()

    def write_study(self, resources: list[dict[str, Any]]) -> None:
        self._write("study", resources)

    def write_participant(self, key: str, resources: list[dict[str, Any]]) -> None:
        self._write(key, resources)

    def _write(self, name: str, resources: list[dict[str, Any]]) -> None:
        texts = [canonical_json(r) for r in resources]
        if "bundles" in self.formats:
            (self._tmp / "bundles" / f"{name}.json").write_bytes(
                (transaction_json(resources, texts) + "\n").encode())
        if "ndjson" in self.formats:
            for resource, text in zip(resources, texts, strict=True):
                kind = resource["resourceType"]
                handle = self._ndjson.get(kind)
                if handle is None:
                    path = self._tmp / "ndjson" / f"{kind}.ndjson"
                    handle = path.open("wb", buffering=1 << 20)
                    self._ndjson[kind] = handle
                handle.write((text + "\n").encode())

    def commit(self, summary_json: str) -> None:
        """Move the finished output into ``out_dir``, replacing an earlier run's files."""
        self._close()
        (self._tmp / "summary.json").write_text(summary_json + "\n", encoding="utf-8")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name in (*FORMATS, "summary.json"):
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
