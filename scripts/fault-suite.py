#!/usr/bin/env python3
"""Run the standing fault suite: seeded faults and SIGKILLs between the sync and a real FHIR
server, in both write modes, then read the server back.

    .venv/bin/python scripts/fault-suite.py --faults 100 --kills 10 --seed 1    # CI size
    .venv/bin/python scripts/fault-suite.py --faults 400 --kills 40 --seed 2    # long run
    .venv/bin/python scripts/fault-suite.py --server http://127.0.0.1:8080/fhir

Without --server it starts its own local HAPI server on a free loopback port and stops it at
the end. Prints ``faults injected N, kill points K, duplicates D, lost L, mismatched M`` and
the details; exits 0 only when nothing was lost, duplicated, mismatched or re-versioned and
no contract was broken. What it injects and asserts: docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from faults import SuiteConfig, run_suite  # noqa: E402

from fhir_adapter.localserver import start_server  # noqa: E402
from fhir_adapter.sync import WriteMode  # noqa: E402


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", type=int, default=100, help="faults to inject in total")
    parser.add_argument("--kills", type=int, default=10, help="kill points in total")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--subjects", type=int, default=4, help="participants per study copy")
    parser.add_argument(
        "--rate", type=float, default=0.25, help="chance that a read request gets a fault"
    )
    parser.add_argument(
        "--transaction-rate", type=float, default=0.5, help="chance that a transaction gets one"
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=3.0,
        help="the faulty client's read timeout in seconds (raise it on a loaded machine)",
    )
    parser.add_argument(
        "--modes", default="client-ids,conditional", help="write modes, comma-separated"
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="use this FHIR server (default: start a local HAPI server on a free port)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    # Participants refused under injected faults are expected; the suite counts what matters.
    logging.getLogger("fhir_adapter").setLevel(logging.ERROR)
    config = SuiteConfig(
        faults=args.faults,
        kills=args.kills,
        seed=args.seed,
        subjects=args.subjects,
        rate=args.rate,
        transaction_rate=args.transaction_rate,
        read_timeout=args.read_timeout,
        modes=tuple(WriteMode(m) for m in args.modes.split(",")),
    )

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="fault-suite-") as folder:
        work = Path(folder)
        if args.server:
            result = run_suite(config, args.server, work / "rounds", log)
        else:
            log("starting a local HAPI FHIR server for the fault suite")
            server = start_server(
                _free_port(), detach=False, timeout=240, state_dir=work / "hapi-state"
            )
            try:
                result = run_suite(config, server.url, work / "rounds", log)
            finally:
                server.stop()
    print(result.summary_line())
    for line in result.detail_lines():
        print(f"  {line}")
    if args.json:
        figures = {
            "summary": result.summary_line(),
            "ok": result.ok,
            "config": {
                "faults": args.faults,
                "kills": args.kills,
                "seed": args.seed,
                "subjects": args.subjects,
                "rate": args.rate,
                "transaction_rate": args.transaction_rate,
                "modes": args.modes.split(","),
            },
            "faults_by_kind": dict(result.injected),
            "faults_on_transactions": result.on_transactions,
            "kills_by_phase": dict(result.kills),
            "by_mode": {m: dict(c) for m, c in result.by_mode.items()},
            "duplicates": result.duplicates,
            "lost": result.lost,
            "mismatched": result.mismatched,
            "wrong_versions": result.wrong_versions,
            "violations": result.violations,
            "problems": result.problems,
            "unexpected_errors": result.unexpected_errors,
            "resources_checked": result.resources_checked,
            "runs": result.runs,
            "rounds": result.rounds,
            "seconds": round(result.seconds, 1),
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
