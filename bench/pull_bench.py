"""Pull benchmark against a real FHIR server: `pull` by search vs by bulk `$export`.

Not a test: run it by hand and record the figures (docs/benchmarks.md).

    python bench/pull_bench.py --server http://127.0.0.1:8080/fhir --subjects 1000 --runs 3

First (once) it generates study-A-shaped synthetic data (examples/generate.py), gives it a
fresh study key and identifier so it never collides with other studies on the server, and
syncs it. Then it pulls that study into fresh folders, alternating search and export, --runs
times each, and prints seconds and resources/s for each pull (tables included: the pull
writes Parquet tables of every shipped view). Alternating spreads a busy machine's load over
both methods. To time pulls of a study already synced by an earlier run, pass its identifier:

    python bench/pull_bench.py --server URL --study 'urn:fhir-adapter:bench:pXXXXXX:study|PXXXXXX'
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fhir_adapter.client import FhirClient  # noqa: E402
from fhir_adapter.mapping.loader import load_mapping  # noqa: E402
from fhir_adapter.pipeline import StudyMapping  # noqa: E402
from fhir_adapter.pull import PullOptions, StudyRef, pull_study  # noqa: E402
from fhir_adapter.sync import Ledger, SyncEngine, SyncOptions, WriteMode  # noqa: E402


def generate_and_sync(server: str, subjects: int, work: Path) -> str:
    """Generate and sync a fresh study; return its identifier as ``system|value``."""
    subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "generate.py"),
            "--study",
            "a",
            "--subjects",
            str(subjects),
            "--out",
            str(work / "gen"),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tag = f"p{uuid.uuid4().hex[:6]}"
    shutil.copytree(REPO / "mappings" / "codes", work / "codes")
    text = (REPO / "mappings" / "study_a.yaml").read_text(encoding="utf-8")
    text = (
        text.replace("key: study-a", f"key: {tag}")
        .replace("example:study-a", f"bench:{tag}")
        .replace('value: "STUDY-A"', f'value: "{tag.upper()}"')
    )
    mapping_path = work / "mapping.yaml"
    mapping_path.write_text(text, encoding="utf-8")
    mapping = StudyMapping(load_mapping(mapping_path), work / "gen" / "study_a")
    started = time.perf_counter()
    with (
        FhirClient(server, max_concurrency=4, deadline=600) as client,
        Ledger(work / "ledger.sqlite", server_url=server, study_key=tag) as ledger,
    ):
        report = SyncEngine(
            client, ledger, SyncOptions(write_mode=WriteMode.CLIENT_IDS, concurrency=4)
        ).run(mapping)
    assert not report.failures, report.failures[:3]
    total = sum(sum(c.values()) for c in report.counts.values())
    seconds = time.perf_counter() - started
    print(f"synced {total} resources in {seconds:.0f} s ({total / seconds:.0f}/s)", flush=True)
    identifier = mapping.study_resources()[0]["identifier"][0]
    return f"{identifier['system']}|{identifier['value']}"


def one_pull(server: str, study: str, method: str, out: Path) -> dict[str, object]:
    with FhirClient(server, max_concurrency=4, deadline=600) as client:
        started = time.perf_counter()
        result = pull_study(client, StudyRef.parse(study), PullOptions(out=out, method=method))
        seconds = time.perf_counter() - started
    total = sum(result.counts.values())
    return {"method": method, "resources": total, "seconds": seconds, "per_s": total / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", required=True)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="pulls per method")
    parser.add_argument("--study", help="identifier (system|value) of a study already synced")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fhir-adapter-pull-bench-"))
    study = args.study or generate_and_sync(args.server, args.subjects, work)
    print(f"study {study}", flush=True)
    results = []
    for run in range(args.runs):
        for method in ("search", "export"):
            out = work / f"pull-{method}-{run}"
            figures = one_pull(args.server, study, method, out)
            figures["load_average"] = os.getloadavg()[0]
            results.append(figures)
            shutil.rmtree(out)
            print(
                f"{method:>6} run {run + 1}: {figures['resources']} resources in "
                f"{figures['seconds']:.1f} s = {figures['per_s']:.0f}/s "
                f"(load average {figures['load_average']:.1f})",
                flush=True,
            )
    print(json.dumps({"study": study, "pulls": results}, indent=2))


if __name__ == "__main__":
    main()
