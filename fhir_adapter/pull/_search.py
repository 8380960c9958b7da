"""Fetching by search: the participants first, then each patient-linked type per batch of
patients, then the cell products by reference.

Every search is a ``POST Type/_search`` (ids stay out of request lines and access logs, and
a hundred references fit where a URL would not) with ``Cache-Control: no-cache`` (HAPI
caches searches for a minute), and pages are followed through the server's own ``next``
links. Steps are independent, so they run in parallel up to the client's concurrency; each
one writes its part file and is then recorded as done.
"""

from __future__ import annotations

import concurrent.futures
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fhir_adapter.client import FhirClient
from fhir_adapter.pull._parts import Parts
from fhir_adapter.pull._progress import PullProgress
from fhir_adapter.pull._state import StateFile
from fhir_adapter.pull._study import reference_id
from fhir_adapter.pull._types import PATIENT_LINKED, PRODUCT, PRODUCT_REFERRERS

SUBJECTS_STEP = "subjects"
PRODUCTS_STEP = "products"


def chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _matches(
    client: FhirClient,
    resource_type: str,
    params: list[tuple[str, str]],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(search mode, resource) of every entry on every page."""
    for bundle in client.search_pages(resource_type, params, no_cache=True, post=True):
        for entry in bundle.get("entry") or ():
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
                yield (entry.get("search") or {}).get("mode", "match"), resource


def by_ids(
    client: FhirClient,
    resource_type: str,
    ids: Iterable[str],
    page_size: int,
    progress: PullProgress,
) -> list[dict[str, Any]]:
    """The resources of ``resource_type`` with these ids (those the server holds)."""
    found: list[dict[str, Any]] = []
    for batch in chunks(sorted(set(ids)), page_size):
        params = [("_id", ",".join(batch)), ("_count", str(page_size))]
        for mode, resource in _matches(client, resource_type, params):
            if mode == "match" and resource["resourceType"] == resource_type:
                found.append(resource)
                progress.fetched(resource_type, 1)
    return found


def fetch_subjects(
    client: FhirClient,
    study: dict[str, Any],
    parts: Parts,
    state: StateFile,
    page_size: int,
    progress: PullProgress,
) -> list[str]:
    """The study, its ResearchSubjects and their Patients into parts; the Patient ids."""
    if state.is_done(SUBJECTS_STEP):
        assert state.state.patients is not None
        for kind in ("ResearchStudy", "ResearchSubject", "Patient"):
            progress.fetched(kind, parts.count(kind, SUBJECTS_STEP))
        return state.state.patients
    base = str(client.base)
    subjects: dict[str, dict[str, Any]] = {}
    patients: dict[str, dict[str, Any]] = {}
    params = [
        ("study", f"ResearchStudy/{study['id']}"),
        ("_include", "ResearchSubject:individual"),
        ("_count", str(page_size)),
    ]
    for mode, resource in _matches(client, "ResearchSubject", params):
        kind = resource["resourceType"]
        if mode == "match" and kind == "ResearchSubject":
            subjects.setdefault(resource["id"], resource)
        elif mode == "include" and kind == "Patient":
            patients.setdefault(resource["id"], resource)
    wanted = {
        pid
        for s in subjects.values()
        if (pid := reference_id((s.get("individual") or {}).get("reference"), "Patient", base))
        is not None
    }
    missing = wanted - set(patients)
    if missing:  # an include the server cut short: fetch the rest by id
        for resource in by_ids(client, "Patient", missing, page_size, progress):
            patients.setdefault(resource["id"], resource)
    kept = [patients[pid] for pid in sorted(wanted) if pid in patients]
    parts.write("ResearchStudy", SUBJECTS_STEP, [study])
    parts.write("ResearchSubject", SUBJECTS_STEP, subjects.values())
    parts.write("Patient", SUBJECTS_STEP, kept)
    progress.fetched("ResearchStudy", 1)
    progress.fetched("ResearchSubject", len(subjects))
    progress.fetched("Patient", len(kept) - len(missing & set(patients)))
    state.state.patients = [p["id"] for p in kept]
    state.mark_done(SUBJECTS_STEP)
    return state.state.patients


def _linked_step(
    client: FhirClient,
    parts: Parts,
    state: StateFile,
    kind: str,
    param: str,
    step: str,
    batch: list[str],
    page_size: int,
    progress: PullProgress,
) -> None:
    params = [(param, ",".join(f"Patient/{pid}" for pid in batch)), ("_count", str(page_size))]

    def resources() -> Iterator[dict[str, Any]]:
        for mode, resource in _matches(client, kind, params):
            if mode == "match" and resource["resourceType"] == kind:
                progress.fetched(kind, 1)
                yield resource

    parts.write(kind, step, list(resources()))
    state.mark_done(step)


def fetch_linked(
    client: FhirClient,
    patients: list[str],
    parts: Parts,
    state: StateFile,
    batch_size: int,
    page_size: int,
    progress: PullProgress,
) -> None:
    """Every patient-linked type for every batch of patients (steps ``Type:n``)."""
    jobs: list[Callable[[], None]] = []
    for linked in PATIENT_LINKED:
        for index, batch in enumerate(chunks(patients, batch_size)):
            step = f"{linked.resource_type}:{index}"
            if state.is_done(step):
                progress.fetched(linked.resource_type, parts.count(linked.resource_type, step))
                continue
            jobs.append(
                functools.partial(
                    _linked_step,
                    client,
                    parts,
                    state,
                    linked.resource_type,
                    linked.search_param,
                    step,
                    batch,
                    page_size,
                    progress,
                )
            )
    run_parallel(jobs, client.max_concurrency)


def run_parallel(jobs: list[Callable[[], None]], workers: int) -> None:
    """Run the jobs on ``workers`` threads; the first error cancels the ones not started and
    is raised once the running ones have finished (their steps stay recorded)."""
    if not jobs:
        return
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, workers), thread_name_prefix="pull"
    )
    try:
        futures = [pool.submit(job) for job in jobs]
        for future in concurrent.futures.as_completed(futures):
            future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def product_references(resources: Iterable[dict[str, Any]], base: str) -> set[str]:
    """Ids of the BiologicallyDerivedProducts referenced anywhere in ``resources``
    (Provenance.target, the Procedure's used-product extension, ...)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "reference" and isinstance(value, str):
                    rid = reference_id(value, PRODUCT, base)
                    if rid is not None:
                        found.add(rid)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for resource in resources:
        walk(resource)
    return found


def fetch_products(
    client: FhirClient, parts: Parts, state: StateFile, page_size: int, progress: PullProgress
) -> int:
    """The products the study's Provenance and Procedures reference; how many of those
    references the server could not resolve."""
    wanted: set[str] = set()
    for kind in PRODUCT_REFERRERS:
        wanted |= product_references(parts.read(kind), str(client.base))
    if state.is_done(PRODUCTS_STEP):
        held = parts.count(PRODUCT, PRODUCTS_STEP)
        progress.fetched(PRODUCT, held)
        return max(0, len(wanted) - held)
    found = by_ids(client, PRODUCT, wanted, page_size, progress)
    parts.write(PRODUCT, PRODUCTS_STEP, found)
    state.mark_done(PRODUCTS_STEP)
    return len(wanted) - len({r["id"] for r in found})
