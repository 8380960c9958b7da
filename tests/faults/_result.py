"""``SuiteConfig`` (how much to inject) and ``SuiteResult`` (what came of it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from fhir_adapter.sync import WriteMode

from ._plan import FaultKind, KillPhase


@dataclass(frozen=True)
class SuiteConfig:
    """How much to inject. ``faults`` and ``kills`` are totals, split evenly over ``modes``."""

    faults: int = 100
    kills: int = 10
    seed: int = 1
    subjects: int = 4
    rate: float = 0.25  # chance that a read (metadata, search, audit) gets a fault
    transaction_rate: float = 0.5  # chance that a transaction POST gets one
    modes: tuple[WriteMode, ...] = (WriteMode.CLIENT_IDS, WriteMode.CONDITIONAL)
    read_timeout: float = 3.0  # the faulty client's; held requests wait 0.5 s longer
    max_runs: int = 30  # faulty runs per convergence before the round counts as failed
    changes: int = 2  # source changes per fault round, each synced under faults
    faults_per_round: int = 20  # then a fresh study copy: more first syncs under faults


@dataclass
class SuiteResult:
    """Counts of one suite run; ``ok`` when every count is zero (lost, duplicates,
    mismatched, wrong versions, early retries, unexpected errors) and no contract broke."""

    injected: Counter[str] = field(default_factory=Counter)
    on_transactions: int = 0  # of the faults injected, those on a transaction POST
    kills: Counter[str] = field(default_factory=Counter)
    by_mode: dict[str, Counter[str]] = field(default_factory=dict)
    resources_checked: int = 0
    duplicates: int = 0
    lost: int = 0
    mismatched: int = 0
    wrong_versions: int = 0
    violations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unexpected_errors: list[str] = field(default_factory=list)
    early_retries: int = 0
    honoured_retries: int = 0
    runs: int = 0
    rounds: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (
            self.duplicates
            or self.lost
            or self.mismatched
            or self.wrong_versions
            or self.violations
            or self.unexpected_errors
            or self.early_retries
        )

    def summary_line(self) -> str:
        return (
            f"faults injected {sum(self.injected.values())}, kill points "
            f"{sum(self.kills.values())}, duplicates {self.duplicates}, lost {self.lost}, "
            f"mismatched {self.mismatched}"
        )

    def detail_lines(self) -> list[str]:
        lines = [
            "faults by kind: "
            + ", ".join(f"{k.value} {self.injected[k.value]}" for k in FaultKind)
            + f" ({self.on_transactions} on transactions)",
            "kill points by phase: "
            + ", ".join(f"{p.value} {self.kills[p.value]}" for p in KillPhase),
            "by write mode: "
            + "; ".join(
                f"{mode}: {c['faults']} faults, {c['kills']} kills, {c['rounds']} rounds"
                for mode, c in self.by_mode.items()
            ),
            f"resources checked {self.resources_checked}, wrong versions "
            f"{self.wrong_versions}, contract violations {len(self.violations)}, unexpected "
            f"errors {len(self.unexpected_errors)}, retries before Retry-After "
            f"{self.early_retries} (after it: {self.honoured_retries})",
            f"{self.runs} sync runs in {self.rounds} rounds, {self.seconds:.0f} s",
        ]
        lines += [f"violation: {v}" for v in _first(self.violations)]
        lines += [f"unexpected error: {e}" for e in _first(self.unexpected_errors)]
        lines += [f"problem: {p}" for p in _first(self.problems)]
        return lines


def _first(items: list[str], limit: int = 20) -> list[str]:
    return items[:limit] + ([f"... and {len(items) - limit} more"] if len(items) > limit else [])
