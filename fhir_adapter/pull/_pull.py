"""One pull: find the study, fetch its resources step by step, then write NDJSON and tables.

Folder layout (``OUT``)::

    ndjson/<Type>.ndjson     every resource of the study, one per line, each id once
    tables/<view>.<format>   one table per shipped view
    summary.json             counts per type, tables and files (no resource content)
    .pull/state.json         progress of an unfinished pull (kept, marked complete, after)
    .pull/parts/             the steps' part files while the pull runs

``ndjson/`` and ``tables/`` are built in ``.pull/staging/`` and moved into place only when
all of them are written, so a folder never mixes two pulls. Everything is owner-only.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir_adapter.client import FhirClient
from fhir_adapter.errors import TerminalServerError
from fhir_adapter.pull._errors import ExportFailedError, PullFolderError
from fhir_adapter.pull._export import ExportTiming, fetch_by_export, offers_patient_export
from fhir_adapter.pull._files import private_dir, replace_dir, write_json, write_ndjson
from fhir_adapter.pull._parts import Parts
from fhir_adapter.pull._progress import NoProgress, PullProgress
from fhir_adapter.pull._search import fetch_linked, fetch_products, fetch_subjects
from fhir_adapter.pull._state import PullState, StateFile
from fhir_adapter.pull._study import StudyRef, find_study
from fhir_adapter.pull._tables import TableResult, shipped_views_dir, write_tables
from fhir_adapter.pull._types import ALL_TYPES

METHODS = ("auto", "search", "export")
_PENDING = "pending"


@dataclass(frozen=True)
class PullOptions:
    """How to pull. ``method``: ``search``, ``export`` (bulk ``$export``; refused when the
    server does not offer it) or ``auto`` (export when offered and the study has at least
    ``export_threshold`` participants). ``batch_size`` patients per search, ``page_size``
    resources per page (HAPI caps ``_count`` at 500). ``restart`` discards an unfinished
    pull's progress, or a pull of another study in the same folder."""

    out: Path
    table_format: str = "parquet"
    method: str = "auto"
    views_dir: Path = field(default_factory=shipped_views_dir)
    batch_size: int = 100
    page_size: int = 500
    export_threshold: int = 1000
    restart: bool = False
    export_timing: ExportTiming = ExportTiming()

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}")
        if not 1 <= self.batch_size <= 1000 or not 1 <= self.page_size <= 1000:
            raise ValueError("batch_size and page_size must lie between 1 and 1000")


@dataclass(frozen=True)
class PullResult:
    """What a pull wrote: counts per type (each id once), tables, files."""

    server: str
    study_id: str
    method: str
    out: Path
    counts: dict[str, int]
    duplicates: dict[str, int]  # extra copies of an id the server returned, left out
    tables: list[TableResult]
    files: list[Path]
    resumed_steps: int  # steps an earlier, interrupted run had finished
    missing_products: int  # product references the server could not resolve
    elapsed: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "study_id": self.study_id,
            "method": self.method,
            "out": str(self.out),
            "counts": self.counts,
            "total": sum(self.counts.values()),
            "duplicates_dropped": {k: v for k, v in self.duplicates.items() if v},
            "tables": [
                {"view": t.view, "resource": t.resource, "rows": t.rows, "file": str(t.file)}
                for t in self.tables
            ],
            "files": [str(f) for f in self.files],
            "resumed_steps": self.resumed_steps,
            "missing_products": self.missing_products,
            "elapsed_seconds": round(self.elapsed, 3),
        }


def _open_state(out: Path, server: str, study_id: str, restart: bool) -> tuple[StateFile, int]:
    """The progress file to go on with (and how many steps it has done), or a fresh one."""
    work = private_dir(out / ".pull")
    path = work / "state.json"
    try:
        existing = StateFile.load(path)
    except PullFolderError:
        if not restart:
            raise
        existing = None
    if existing is None and not restart and any((out / n).exists() for n in ("ndjson", "tables")):
        raise PullFolderError(
            f"{out}: holds ndjson/ or tables/ that no pull wrote; choose an "
            "empty or new --out folder"
        )
    if (
        existing is not None
        and (existing.server, existing.study_id) != (server, study_id)
        and not restart
    ):
        raise PullFolderError(
            f"{out}: holds a pull of another study or server; choose "
            "another --out folder, or pass --restart to replace it"
        )
    if existing is not None and not existing.complete and not restart:
        return StateFile(path, existing), len(existing.done)
    for name in ("parts", "staging"):
        shutil.rmtree(work / name, ignore_errors=True)
    state = StateFile(path, PullState(server=server, study_id=study_id, method=_PENDING))
    state.save()
    return state, 0


def _choose_method(client: FhirClient, options: PullOptions, participants: int) -> str:
    if options.method == "search":
        return "search"
    offered = offers_patient_export(client.capability_statement())
    if options.method == "export":
        if not offered:
            raise ExportFailedError(
                "the server's CapabilityStatement offers no Patient/$export; use --method search",
                path="metadata",
            )
        return "export"
    return "export" if offered and participants >= options.export_threshold else "search"


def _merge(parts: Parts, folder: Path) -> tuple[dict[str, int], dict[str, int], list[Path]]:
    """One NDJSON file per type from its parts, each id once (the first copy kept)."""
    counts: dict[str, int] = {}
    duplicates: dict[str, int] = {}
    files = []
    for kind in ALL_TYPES:
        seen: set[str] = set()
        repeats = [0]

        def unique(
            kind: str = kind,
            seen: set[str] = seen,
            repeats: list[int] = repeats,
        ) -> Any:
            for resource in parts.read(kind):
                if resource.get("resourceType") != kind or not isinstance(resource.get("id"), str):
                    raise TerminalServerError(
                        f"the server returned a resource that is not a "
                        f"{kind} with an id among the {kind} results"
                    )
                if resource["id"] in seen:
                    repeats[0] += 1
                    continue
                seen.add(resource["id"])
                yield resource

        path = folder / f"{kind}.ndjson"
        counts[kind] = write_ndjson(path, unique())
        duplicates[kind] = repeats[0]
        files.append(path)
    return counts, duplicates, files


def pull_study(
    client: FhirClient,
    ref: StudyRef,
    options: PullOptions,
    progress: PullProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PullResult:
    """Pull the study ``ref`` names from ``client``'s server into ``options.out``.

    Read-only: only searches, reads and a bulk export job's kick-off, polls and downloads.
    Resumes an unfinished pull of the same server and study in the same folder.
    """
    started = clock()
    report = progress or NoProgress()
    report.stage("finding the study")
    study = find_study(client, ref)
    out = private_dir(options.out)
    state, resumed = _open_state(out, str(client.base), study["id"], options.restart)
    parts = Parts(out / ".pull" / "parts")

    report.stage("participants")
    patients = fetch_subjects(client, study, parts, state, options.page_size, report)
    if state.state.method == _PENDING:
        state.state.method = _choose_method(client, options, len(patients))
        state.save()
    method = state.state.method
    if method == "export":
        if patients:
            fetch_by_export(client, patients, parts, state, options.export_timing, report)
    else:
        report.stage("searching")
        fetch_linked(client, patients, parts, state, options.batch_size, options.page_size, report)
    report.stage("cell products")
    missing = fetch_products(client, parts, state, options.page_size, report)

    report.stage("tables")
    staging = out / ".pull" / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    counts, duplicates, _ = _merge(parts, private_dir(staging / "ndjson"))
    tables = write_tables(
        options.views_dir, staging / "ndjson", private_dir(staging / "tables"), options.table_format
    )
    replace_dir(staging / "ndjson", out / "ndjson")
    replace_dir(staging / "tables", out / "tables")
    files = [out / "ndjson" / f"{kind}.ndjson" for kind in ALL_TYPES]
    tables = [TableResult(t.view, t.resource, t.rows, out / "tables" / t.file.name) for t in tables]
    result = PullResult(
        server=str(client.base),
        study_id=study["id"],
        method=method,
        out=out,
        counts=counts,
        duplicates=duplicates,
        tables=tables,
        files=[*files, *(t.file for t in tables), out / "summary.json"],
        resumed_steps=resumed,
        missing_products=missing,
        elapsed=clock() - started,
    )
    write_json(out / "summary.json", result.as_dict())
    state.state.complete = True
    state.save()
    shutil.rmtree(out / ".pull" / "parts", ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    return result
