"""Fetching by Bulk Data ``$export`` (https://hl7.org/fhir/uv/bulkdata/export.html).

One ``Patient/$export`` job for the study's Patients (the ``patient`` parameter, POSTed as
Parameters) and the patient-linked types (``_type``); the study, its participants and
Patients come from the search step before, and the cell products from references after, as
in a search pull (R4 puts BiologicallyDerivedProduct in no patient compartment).

The status URL is polled with the server's ``Retry-After``, capped at ``max_wait`` seconds:
HAPI sends a fixed 120 s whatever the job's size, and a small study's export is done in a few
seconds. Each output file is downloaded into its own part (step ``export:n``), so a resumed
pull downloads only what is missing; the status URL and the manifest are kept in the
progress file, and an expired job (404/410 on the status URL) is started again.

Nothing is deleted on the server: the pull stays read-only (HAPI expires export files itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fhir_adapter.client import FhirClient
from fhir_adapter.errors import NotFoundError, ResourceGoneError
from fhir_adapter.pull._errors import ExportFailedError
from fhir_adapter.pull._files import write_bytes
from fhir_adapter.pull._parts import Parts
from fhir_adapter.pull._progress import PullProgress
from fhir_adapter.pull._state import StateFile
from fhir_adapter.pull._types import PATIENT_LINKED

NDJSON = "application/fhir+ndjson"


@dataclass(frozen=True)
class ExportTiming:
    """How to wait for an export job: injectable clock and sleep so tests never wait."""

    max_wait: float = 10.0  # cap on one Retry-After
    default_wait: float = 2.0  # when the server sends none
    timeout: float = 3600.0  # give up on a job after this long
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def offers_patient_export(statement: dict[str, Any]) -> bool:
    """True when the CapabilityStatement lists an ``export`` operation on Patient."""
    for rest in statement.get("rest") or ():
        if not isinstance(rest, dict) or rest.get("mode") != "server":
            continue
        for resource in rest.get("resource") or ():
            if isinstance(resource, dict) and resource.get("type") == "Patient":
                for operation in resource.get("operation") or ():
                    if isinstance(operation, dict) and operation.get("name") == "export":
                        return True
    return False


def _parameters(patients: list[str]) -> dict[str, Any]:
    types = ",".join(t.resource_type for t in PATIENT_LINKED)
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "_outputFormat", "valueString": NDJSON},
            {"name": "_type", "valueString": types},
            *(
                {"name": "patient", "valueReference": {"reference": f"Patient/{pid}"}}
                for pid in patients
            ),
        ],
    }


def _wait_for_manifest(
    client: FhirClient,
    state: StateFile,
    patients: list[str],
    timing: ExportTiming,
    progress: PullProgress,
) -> dict[str, Any]:
    started = timing.clock()
    restarted = False
    while True:
        status_url = state.state.export.get("status_url")
        if not isinstance(status_url, str):
            progress.stage("bulk export: starting")
            status_url = client.kick_off("Patient/$export", _parameters(patients))
            state.update_export(status_url=status_url)
        try:
            status = client.poll(status_url)
        except (NotFoundError, ResourceGoneError):
            if restarted:
                raise
            restarted = True  # the job expired between runs: start another one
            state.update_export(status_url=None)
            continue
        if status.complete:
            assert status.body is not None
            return status.body
        progress.stage(f"bulk export: {status.progress or 'in progress'}")
        if timing.clock() - started > timing.timeout:
            raise ExportFailedError(
                f"the export job did not finish within {timing.timeout:.0f} "
                "s; run the pull again to keep waiting, or use "
                "--method search",
                path="Patient/$export",
            )
        wait = timing.default_wait if status.retry_after is None else status.retry_after
        timing.sleep(min(max(wait, 0.5), timing.max_wait))


def _outputs(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    if manifest.get("error"):
        raise ExportFailedError(
            f"the export job reported {len(manifest['error'])} error "
            "file(s); see the server's log, or use --method search",
            path="Patient/$export",
        )
    outputs = manifest.get("output")
    if not isinstance(outputs, list):
        raise ExportFailedError("the export manifest has no output list", path="Patient/$export")
    wanted = {t.resource_type for t in PATIENT_LINKED}
    found: list[tuple[str, str]] = []
    for item in outputs:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise ExportFailedError("an export manifest entry has no url", path="Patient/$export")
        kind = item.get("type")
        if kind in wanted:
            found.append((str(kind), item["url"]))
    return found


def fetch_by_export(
    client: FhirClient,
    patients: list[str],
    parts: Parts,
    state: StateFile,
    timing: ExportTiming,
    progress: PullProgress,
) -> None:
    """Every patient-linked type of ``patients`` through one bulk export job."""
    manifest = state.state.export.get("outputs")
    if not isinstance(manifest, list):
        manifest = [
            list(pair)
            for pair in _outputs(_wait_for_manifest(client, state, patients, timing, progress))
        ]
        state.update_export(outputs=manifest)
    progress.stage("bulk export: downloading")
    for index, (kind, url) in enumerate(manifest):
        step = f"export:{index}"
        if state.is_done(step):
            progress.fetched(kind, parts.count(kind, step))
            continue
        data = client.download(url, accept=NDJSON)
        lines = [line for line in data.splitlines() if line.strip()]
        path = parts.path(kind, step)
        write_bytes(path, b"".join(line + b"\n" for line in lines))
        progress.fetched(kind, len(lines))
        state.mark_done(step)
