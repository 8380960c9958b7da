"""Sync benchmark against a real FHIR server: our sync vs a bare httpx loop (the ceiling).

Not a test: run it by hand and record the figures.

    python bench/sync_bench.py --server http://127.0.0.1:8080/fhir --subjects 1000

Measured in one run, on generated study-A-shaped data (examples/generate.py):
  ceiling     the participants' transaction Bundles, built beforehand, POSTed by a bare
              httpx loop with the same concurrency (a fresh study key, so every entry is a
              create, as in a first sync)
  first       `SyncEngine.run` on an empty ledger: read + map + plan + send + ledger commit
  unchanged   the same run again: nothing to send
  1% changed  one HbA1c value changed for 1 % of the participants, then run again
HAPI on in-memory H2 slows down markedly as its database grows, so the order of the phases
on one server decides the outcome. By default each measured phase therefore gets a fresh local
server (fhir_adapter.localserver, same port): the ceiling on one, our first sync (then the
unchanged and 1 % re-syncs) on another. With --server the phases share that server, the
ceiling first, which handicaps our figures.

    python bench/sync_bench.py --subjects 1000            # fresh local servers
    python bench/sync_bench.py --server URL --subjects 200
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fhir_adapter.client import FhirClient  # noqa: E402
from fhir_adapter.fhir.bundle import transaction  # noqa: E402
from fhir_adapter.fhir.serialize import canonical_json  # noqa: E402
from fhir_adapter.mapping.loader import load_mapping  # noqa: E402
from fhir_adapter.pipeline import StudyRun  # noqa: E402
from fhir_adapter.sync import Ledger, SyncEngine, SyncOptions, WriteMode  # noqa: E402


def study_copy(work: Path, data: Path, tag: str) -> tuple[Path, Path]:
    folder = work / tag
    shutil.copytree(REPO / "mappings" / "codes", folder / "codes")
    text = (REPO / "mappings" / "study_a.yaml").read_text(encoding="utf-8")
    text = (
        text.replace("key: study-a", f"key: {tag}")
        .replace("example:study-a", f"bench:{tag}")
        .replace('value: "STUDY-A"', f'value: "{tag.upper()}"')
    )
    (folder / "mapping.yaml").write_text(text, encoding="utf-8")
    shutil.copytree(data, folder / "data")
    return folder / "mapping.yaml", folder / "data"


def ceiling(server: str, mapping_path: Path, data: Path, concurrency: int) -> tuple[int, float]:
    mapping = StudyRun(load_mapping(mapping_path), data)
    bodies = [canonical_json(transaction(mapping.study_resources())).encode()]
    count = 1
    for participant in mapping.participants():
        bodies.append(canonical_json(transaction(participant.resources)).encode())
        count += len(participant.resources)
    headers = {"Content-Type": "application/fhir+json", "Prefer": "return=minimal"}
    with httpx.Client(base_url=server, timeout=300) as client:
        client.post("", content=bodies[0], headers=headers).raise_for_status()
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            for response in pool.map(
                lambda b: client.post("", content=b, headers=headers), bodies[1:]
            ):
                response.raise_for_status()
        return count - 1, time.perf_counter() - started


def our_sync(
    server: str, mapping_path: Path, data: Path, ledger: Path, concurrency: int
) -> tuple[int, int, float]:
    mapping = StudyRun(load_mapping(mapping_path), data)
    started = time.perf_counter()
    with (
        FhirClient(server, max_concurrency=concurrency, deadline=600) as client,
        Ledger(ledger, server_url=server, study_key=mapping.spec.study.key) as book,
    ):
        report = SyncEngine(
            client, book, SyncOptions(write_mode=WriteMode.CLIENT_IDS, concurrency=concurrency)
        ).run(mapping)
    seconds = time.perf_counter() - started
    assert not report.failures, report.failures[:3]
    total = sum(sum(c.values()) for c in report.counts.values())
    return total, report.written, seconds


def change_one_percent(data: Path) -> int:
    path = data / "visits.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    subjects = sorted({r["subject_id"] for r in rows})
    chosen = set(subjects[::100])
    done: set[str] = set()
    for row in rows:
        if row["subject_id"] in chosen and row["subject_id"] not in done and row["hba1c_pct"]:
            row["hba1c_pct"] = f"{float(row['hba1c_pct']) + 0.1:.1f}"
            done.add(row["subject_id"])
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(done)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--server",
        help="use this server for every phase (default: a fresh local HAPI server per phase)",
    )
    parser.add_argument("--port", type=int, default=18190, help="port for the local servers")
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fhir-adapter-sync-bench-"))
    subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "generate.py"),
            "--study",
            "a",
            "--subjects",
            str(args.subjects),
            "--out",
            str(work / "gen"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tag = uuid.uuid4().hex[:6]
    c_map, c_data = study_copy(work, work / "gen" / "study_a", f"c{tag}")
    s_map, s_data = study_copy(work, work / "gen" / "study_a", f"s{tag}")
    ledger = work / "ledger.sqlite"

    def fresh() -> tuple[str, object]:
        if args.server:
            return args.server, None
        from fhir_adapter.localserver import start_server

        server = start_server(
            args.port, detach=False, state_dir=Path(tempfile.mkdtemp(prefix="bench-state-"))
        )
        return server.url, server

    url, server = fresh()
    n, seconds = ceiling(url, c_map, c_data, args.concurrency)
    if server is not None:
        server.stop()  # type: ignore[attr-defined]
    results = {
        "subjects": args.subjects,
        "concurrency": args.concurrency,
        "fresh_server_per_phase": not args.server,
        "ceiling": {"resources": n, "seconds": seconds, "per_s": n / seconds},
    }
    print(
        f"ceiling (bare httpx):  {n} resources in {seconds:.1f} s = {n / seconds:.0f}/s", flush=True
    )
    url, server = fresh()
    try:
        for label in ("first", "unchanged", "one_percent"):
            if label == "one_percent":
                results["changed_participants"] = change_one_percent(s_data)
            total, written, seconds = our_sync(url, s_map, s_data, ledger, args.concurrency)
            results[label] = {
                "resources": total,
                "written": written,
                "seconds": seconds,
                "per_s": total / seconds,
            }
            print(
                f"{label:>11}: {total} resources ({written} written) in {seconds:.1f} s = "
                f"{total / seconds:.0f}/s",
                flush=True,
            )
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
    results["first_vs_ceiling"] = results["first"]["per_s"] / results["ceiling"]["per_s"]
    results["unchanged_speedup"] = results["first"]["seconds"] / results["unchanged"]["seconds"]
    print(
        f"first sync / ceiling: {results['first_vs_ceiling']:.0%}; unchanged re-sync "
        f"{results['unchanged_speedup']:.0f}x faster than the first sync"
    )
    print(json.dumps(results))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
