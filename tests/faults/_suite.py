"""The fault suite: seeded fault rounds and a kill -9 matrix, in both write modes.

First one untimed sync per mode warms the server up. Fault round (a fresh copy of study A,
at most ``faults_per_round`` faults): sync through the ``FaultProxy`` with faults on, run
after run, until a run reports every participant synced; then ``changes`` times change one
source value and converge again the same way; then stop injecting, sync once directly
against the server (it must write nothing) and read the server (``_checks.check_round``;
the changed resources must be at version 2, all others at 1). After every faulty run the
Location contracts are checked against the ledger: a foreign-origin Location must leave
its participant failed and unrecorded, absolute same-origin ones must be accepted with the
server id and version they carry.

Kill round (one fresh copy per round): ``fhir-adapter sync`` as a subprocess through the
proxy, SIGKILLed at a seeded transaction and phase (``KillPhase``), up to three times in a
row; then a run to completion, the clean direct run and the same server checks.

The client in fault rounds keeps real sockets, timeouts and sleeps, only shorter: a read
timeout of a few seconds and backoff from 50 ms, so a round takes seconds.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fhir_adapter.client import FhirClient, RetryPolicy, Timeouts
from fhir_adapter.errors import FhirAdapterError
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.sync import SyncReport, WriteMode

from ._checks import Findings, check_round
from ._contracts import location_violations
from ._plan import TRANSACTION_ONLY, FaultPlan, KillPhase, KillSwitch
from ._proxy import FaultProxy
from ._result import SuiteConfig, SuiteResult
from ._study import Key, LedgerState, StudyCopy

CHAINED_KILLS = 3  # kills in a row on one study copy before it is run to completion


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class FaultSuite:
    """Runs the rounds against ``server_url`` through one ``FaultProxy``, in ``workdir``."""

    def __init__(
        self,
        config: SuiteConfig,
        server_url: str,
        workdir: Path,
        log: Callable[[str], None] = lambda line: None,
    ):
        self.config = config
        self.server_url = server_url.rstrip("/")
        self.workdir = workdir
        self.log = log
        self.result = SuiteResult()
        self._started = time.monotonic()
        self._phase_turn = config.seed

    def run(self) -> SuiteResult:
        self._started = started = time.monotonic()
        latency = self.config.read_timeout + 0.5
        with FaultProxy(self.server_url, latency=latency) as self.proxy:
            self._warm_up()
            faults = _split(self.config.faults, len(self.config.modes))
            kills = _split(self.config.kills, len(self.config.modes))
            for mode, fault_share, kill_share in zip(self.config.modes, faults, kills, strict=True):
                counts = self.result.by_mode.setdefault(mode.value, Counter())
                self._fault_rounds(mode, fault_share, counts)
                self._kill_rounds(mode, kill_share, counts)
            self.result.injected.update({k.value: n for k, n in self.proxy.injected.items()})
            self.result.on_transactions = sum(1 for i in self.proxy.injections if i.entries)
            self.result.early_retries = self.proxy.early_retries
            self.result.honoured_retries = self.proxy.honoured_retries
        self.result.seconds = time.monotonic() - started
        return self.result

    def _warm_up(self) -> None:
        """One untimed sync per write mode first: a cold JVM answers the first transactions
        slower than the faulty client's short read timeout."""
        with FhirClient(self.server_url, deadline=300.0) as client:
            for mode in self.config.modes:
                StudyCopy.create(self.workdir, self.config.subjects).sync(
                    client, mode, self.server_url
                )
        self.log(f"warmed up, {time.monotonic() - self._started:.0f} s")

    # -- fault rounds --------------------------------------------------------------------

    def _fault_rounds(self, mode: WriteMode, budget: int, counts: Counter[str]) -> None:
        index = 0
        while counts["faults"] < budget:
            index += 1
            before = sum(self.proxy.injected.values())
            plan = FaultPlan(
                seed=f"{self.config.seed}/{mode}/{index}",
                rate=self.config.rate,
                transaction_rate=self.config.transaction_rate,
                budget=min(self.config.faults_per_round, budget - counts["faults"]),
            )
            self._fault_round(mode, plan)
            injected = sum(self.proxy.injected.values()) - before
            counts["faults"] += injected
            counts["rounds"] += 1
            self.log(
                f"[{mode}] fault round {index}: {injected} faults "
                f"({counts['faults']}/{budget}), {time.monotonic() - self._started:.0f} s"
            )
            if index > 10 * max(1, budget):
                self.result.violations.append(f"{mode}: the fault plan injects nothing")
                return

    def _fault_round(self, mode: WriteMode, plan: FaultPlan) -> None:
        copy = StudyCopy.create(self.workdir, self.config.subjects)
        current = copy.expected()
        changes: Counter[Key] = Counter()
        self.proxy.set_plan(plan)
        try:
            with self._faulty_client() as client:
                self._converge(copy, mode, client, "first sync")
                for index in range(self.config.changes):
                    copy.change_one_value(index)
                    changed = copy.expected()
                    changes.update(
                        key
                        for key, resource in changed.items()
                        if key in current
                        and canonical_json(resource) != canonical_json(current[key])
                    )
                    current = changed
                    self._converge(copy, mode, client, f"source change {index + 1}")
        finally:
            self.proxy.set_plan(None)
        self._finish(copy, mode, self.server_url, {key: str(1 + n) for key, n in changes.items()})

    def _faulty_client(self) -> FhirClient:
        return FhirClient(
            self.proxy.base_url,
            deadline=120.0,
            max_concurrency=4,
            timeouts=Timeouts(connect=2.0, read=self.config.read_timeout, write=5.0, pool=30.0),
            retry=RetryPolicy(
                max_attempts=5, initial_backoff=0.05, max_backoff=0.5, max_retry_after=3.0
            ),
        )

    def _converge(self, copy: StudyCopy, mode: WriteMode, client: FhirClient, stage: str) -> None:
        for _ in range(self.config.max_runs):
            run = self.proxy.new_run()
            state = copy.ledger_state(self.server_url)
            report: SyncReport | None = None
            error: BaseException | None = None
            try:
                report = copy.sync(client, mode, self.server_url)
            except FhirAdapterError as exc:
                error = exc  # a run-level failure (e.g. HTML for the CapabilityStatement)
            except Exception as exc:  # noqa: BLE001 - a defect to report, not to hide
                error = exc
                self.result.unexpected_errors.append(
                    f"{mode} {stage}: {type(exc).__name__}: {str(exc)[:200]}"
                )
            self.result.runs += 1
            self._check_location_contracts(copy, mode, run, state, report, error)
            if report is not None and not report.failures:
                return
        self.result.violations.append(
            f"{mode} {stage}: no clean run in {self.config.max_runs} faulty runs"
        )

    def _check_location_contracts(
        self,
        copy: StudyCopy,
        mode: WriteMode,
        run: int,
        before: LedgerState,
        report: SyncReport | None,
        error: BaseException | None,
    ) -> None:
        # Only answers the client surely read: sent well within its read timeout, and not
        # followed by a retry of the same request.
        in_time = self.config.read_timeout - 0.5
        located = [
            i
            for i in self.proxy.injections_of(run)
            if i.kind in TRANSACTION_ONLY
            and i.elapsed < in_time
            and not self.proxy.retried_later(i)
        ]
        if located:
            self.proxy.wait_idle()
            after = copy.ledger_state(self.server_url)
            self.result.violations += location_violations(
                mode, located, copy.entry_keys(), before, after, report, error
            )

    # -- kill rounds ---------------------------------------------------------------------

    def _kill_rounds(self, mode: WriteMode, wanted: int, counts: Counter[str]) -> None:
        index = 0
        while counts["kills"] < wanted:
            index += 1
            done = self._kill_round(mode, index, wanted - counts["kills"])
            counts["kills"] += done
            counts["rounds"] += 1
            self.log(
                f"[{mode}] kill round {index}: {done} kill points "
                f"({counts['kills']}/{wanted}), {time.monotonic() - self._started:.0f} s"
            )
            if index > 10 * max(1, wanted):
                self.result.violations.append(f"{mode}: the kill switch never fires")
                return

    def _kill_round(self, mode: WriteMode, index: int, wanted: int) -> int:
        copy = StudyCopy.create(self.workdir, self.config.subjects)
        rng = random.Random(f"kill/{self.config.seed}/{mode}/{index}")
        done = 0
        for _ in range(min(CHAINED_KILLS, wanted)):
            remaining = copy.subjects + 1 - copy.ledger_participants(self.proxy.base_url)
            if remaining <= 0:
                break
            switch = KillSwitch(
                pid=0,
                at=rng.randint(1, remaining),
                phase=self._next_phase(),
                delay=rng.uniform(0.0, 0.2),
            )
            code = self._cli_sync(copy, mode, switch)
            if code == -9:
                done += 1
                self.result.kills[switch.phase.value] += 1
        if self._cli_sync(copy, mode, None) == -9:
            self.result.violations.append(f"{mode}: the run after the kills was killed")
        self._finish(copy, mode, self.proxy.base_url, {})
        return done

    def _next_phase(self) -> KillPhase:
        """The kill phases in turn, so that each gets its share of kill points."""
        phases = list(KillPhase)
        self._phase_turn += 1
        return phases[self._phase_turn % len(phases)]

    def _cli_sync(self, copy: StudyCopy, mode: WriteMode, switch: KillSwitch | None) -> int:
        """``fhir-adapter sync`` through the proxy; its exit code (-9 when killed). Any
        other code than 0 or -9 is a violation, reported with the end of its stderr."""
        command = [
            sys.executable,
            "-m",
            "fhir_adapter.cli",
            "sync",
            "--mapping",
            str(copy.mapping_path),
            "--data",
            str(copy.data_dir),
            "--server",
            self.proxy.base_url,
            "--ledger",
            str(copy.ledger_path),
            "--write-mode",
            mode.value,
            "--timeout",
            "120",
            "--json",
        ]
        environment = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        log_path = copy.ledger_path.with_suffix(".stderr")
        with log_path.open("ab") as errors:
            process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=errors, env=environment
            )
            if switch is not None:
                switch.pid = process.pid
                self.proxy.arm(switch)
            try:
                code = process.wait(timeout=300)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
                self.result.violations.append(f"{mode}: a sync process hung for 300 s")
            finally:
                self.proxy.arm(None)
        self.result.runs += 1
        if code not in (0, -9):
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-400:]
            self.result.violations.append(f"{mode}: sync exited {code}: {tail.strip()}")
        return code

    # -- the end of a round --------------------------------------------------------------

    def _finish(
        self, copy: StudyCopy, mode: WriteMode, ledger_server: str, versions: dict[Key, str]
    ) -> None:
        """Clean direct run (must write nothing), then read the server."""
        self.result.rounds += 1
        if not self.proxy.wait_idle(120.0):
            self.result.violations.append(f"{mode}: the proxy still forwards after 120 s")
        with FhirClient(self.server_url, deadline=300.0) as client:
            try:
                clean = copy.sync(client, mode, ledger_server)
            except FhirAdapterError as exc:
                self.result.violations.append(f"{mode}: the clean re-run failed: {exc}")
            else:
                if clean.written or clean.failures:
                    self.result.violations.append(
                        f"{mode}: the clean re-run wrote {clean.written} resources and "
                        f"{len(clean.failures)} participants failed"
                    )
            with copy.open_ledger(ledger_server) as ledger:
                findings = check_round(
                    client, copy.mapping(), mode, copy.expected(), versions, ledger
                )
        self._add(mode, findings)

    def _add(self, mode: WriteMode, findings: Findings) -> None:
        result = self.result
        result.resources_checked += findings.resources
        result.lost += len(findings.lost)
        result.duplicates += findings.duplicates
        result.mismatched += len(findings.mismatched)
        result.wrong_versions += len(findings.versions)
        for label, items in (
            ("lost", findings.lost),
            ("duplicated", findings.duplicated),
            ("mismatched", findings.mismatched),
            ("version", findings.versions),
            ("note", findings.notes),
        ):
            result.problems += [f"{mode} {label}: {item}" for item in items]


def run_suite(
    config: SuiteConfig,
    server_url: str,
    workdir: Path,
    log: Callable[[str], None] = lambda line: None,
) -> SuiteResult:
    """Run the whole suite; the result's ``summary_line()`` is the figure to print."""
    return FaultSuite(config, server_url, workdir, log).run()
