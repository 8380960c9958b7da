"""Mapping benchmark: resources per second and peak memory as the input grows.

Not a test: run it by hand and record the figures.

    python bench/map_bench.py --subjects 1000 10000 100000

For each size it generates the study A export shape (examples/generate.py, cached under
--work), then maps it in a fresh subprocess (one core, so the peak RSS is that run's own) in
each mode:
  rules   rows parsed and checked by the mapping rules (types, codes, units, ranges,
          references), resources built and serialized to canonical JSON; nothing written
  write   as 'rules', plus NDJSON and one transaction Bundle per participant written to disk
  models  as 'rules', plus every resource validated with the fhir.resources R4B models
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODES = ("rules", "write", "models")


def worker(data: Path, mode: str) -> dict[str, float]:
    from fhir_adapter.fhir.serialize import canonical_json
    from fhir_adapter.mapping.loader import load_mapping
    from fhir_adapter.pipeline import StudyRun
    from fhir_adapter.pipeline.output import OutputWriter

    mapping = StudyRun(
        load_mapping(REPO / "mappings" / "study_a.yaml"), data, check_models=mode == "models"
    )
    started = time.perf_counter()
    writer = None
    if mode == "write":
        writer = OutputWriter(Path(tempfile.mkdtemp(prefix="fhir-adapter-bench-")) / "out")
        writer.write_study(mapping.study_resources())
    count = 0
    for participant in mapping.participants():
        if writer:
            writer.write_participant(participant.key, participant.resources)
        else:
            for r in participant.resources:
                canonical_json(r)
        count += len(participant.resources)
    if writer:
        writer.commit("{}")
    seconds = time.perf_counter() - started
    assert not mapping.report.errors and not mapping.report.model_problems
    return {
        "resources": count,
        "seconds": seconds,
        "resources_per_s": count / seconds,
        "rows": mapping.report.rows_read,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def generate(subjects: int, work: Path) -> Path:
    target = work / f"n{subjects}"
    if not (target / "study_a" / "visits.csv").exists():
        subprocess.run(
            [
                sys.executable,
                str(REPO / "examples" / "generate.py"),
                "--study",
                "a",
                "--subjects",
                str(subjects),
                "--out",
                str(target),
            ],
            check=True,
        )
    return target / "study_a"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "fhir-adapter-bench"
    )
    parser.add_argument("--worker", nargs=2, metavar=("DATA", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(Path(args.worker[0]), args.worker[1])))
        return
    results = []
    print(
        f"{'subjects':>9} {'mode':>7} {'resources':>10} {'seconds':>8} {'res/s':>8} {'peak MB':>8}"
    )
    for subjects in args.subjects:
        data = generate(subjects, args.work)
        for mode in args.modes:
            out = subprocess.run(
                ["taskset", "-c", "0", sys.executable, __file__, "--worker", str(data), mode],
                check=True,
                capture_output=True,
                text=True,
            )
            row = {"subjects": subjects, "mode": mode, **json.loads(out.stdout)}
            results.append(row)
            print(
                f"{subjects:>9} {mode:>7} {row['resources']:>10} {row['seconds']:>8.1f} "
                f"{row['resources_per_s']:>8.0f} {row['peak_rss_mb']:>8.0f}",
                flush=True,
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
