"""What the fault proxy does: the fault kinds, the seeded ``FaultPlan`` that deals them, the
``KillSwitch`` that SIGKILLs a sync process, and the ``Injection`` record of each fault."""

from __future__ import annotations

import enum
import os
import random
import signal
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field


class FaultKind(enum.StrEnum):
    """What the proxy does to one request (the value is the name used in counts)."""

    UNAVAILABLE_RETRY_SECONDS = "503-retry-after-seconds"
    UNAVAILABLE_RETRY_DATE = "503-retry-after-date"
    RATE_LIMITED_RETRY_SECONDS = "429-retry-after-seconds"
    RATE_LIMITED_RETRY_DATE = "429-retry-after-date"
    INTERNAL_ERROR = "500"
    RESET_BEFORE_FORWARD = "reset-before-forward"
    RESET_AFTER_FORWARD = "reset-after-forward"
    LATENCY_PAST_TIMEOUT = "latency-past-timeout"
    TRUNCATED_BODY = "truncated-body"
    LOCATION_ABSOLUTE_SAME_ORIGIN = "location-absolute-same-origin"
    LOCATION_FOREIGN_ORIGIN = "location-foreign-origin"
    HTML_200 = "html-200"
    HTML_502 = "html-502"


# Only a transaction-response has entry locations to rewrite.
TRANSACTION_ONLY = frozenset(
    {FaultKind.LOCATION_ABSOLUTE_SAME_ORIGIN, FaultKind.LOCATION_FOREIGN_ORIGIN}
)
# Seconds the client must wait after each Retry-After answer (see ``_answer_retry_after``).
RETRY_AFTER_SECONDS = {
    FaultKind.UNAVAILABLE_RETRY_SECONDS: 1,
    FaultKind.RATE_LIMITED_RETRY_SECONDS: 1,
    FaultKind.UNAVAILABLE_RETRY_DATE: 1,
    FaultKind.RATE_LIMITED_RETRY_DATE: 1,
}


class KillPhase(enum.StrEnum):
    """When the kill switch fires, relative to the n-th transaction."""

    BEFORE_FORWARD = "before-forward"  # the server never sees that transaction
    AFTER_SERVER_COMMIT = "after-server-commit"  # the server committed, no answer sent
    AFTER_ANSWER = "after-answer"  # answered, then a seeded delay of 0-200 ms


@dataclass
class FaultPlan:
    """A seeded schedule: a transaction POST draws a fault with probability
    ``transaction_rate`` (``rate`` when None), any other request with ``rate``.

    The kind is the one injected least often so far among those the request can take
    (location faults need a transaction, and go first there on a tie), other ties broken
    by the seeded generator, so that every kind comes up equally often. ``budget`` caps the
    faults the plan injects.
    """

    seed: int | str
    rate: float = 0.4
    transaction_rate: float | None = None
    budget: int | None = None
    kinds: tuple[FaultKind, ...] = tuple(FaultKind)
    _rng: random.Random = field(init=False, repr=False)
    dealt: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"fault-plan/{self.seed}")

    def draw(self, transaction: bool, dealt: Counter[FaultKind]) -> FaultKind | None:
        """The fault for the next request, or None (called under the proxy's lock).

        ``dealt`` counts the faults dealt so far by kind (across plans, refunds taken off);
        counting at the deal, not at the injection, keeps concurrent requests apart.
        """
        if self.budget is not None and self.dealt >= self.budget:
            return None
        rate = self.transaction_rate if transaction else None
        if self._rng.random() >= (self.rate if rate is None else rate):
            return None
        eligible = [k for k in self.kinds if transaction or k not in TRANSACTION_ONLY]
        if not eligible:
            return None
        fewest = min(dealt[k] for k in eligible)
        candidates = [k for k in eligible if dealt[k] == fewest]
        # A transaction is the only place for a location fault: it goes first on a tie.
        candidates = [k for k in candidates if k in TRANSACTION_ONLY] or candidates
        kind = self._rng.choice(candidates)
        self.dealt += 1
        dealt[kind] += 1
        return kind

    def refund(self, kind: FaultKind, dealt: Counter[FaultKind]) -> None:
        """A dealt fault did not fit the answer (no location to rewrite): deal it again."""
        self.dealt -= 1
        dealt[kind] -= 1

    def pick(self, upper: int) -> int:
        """A seeded index in ``range(upper)`` (which entry gets the foreign location)."""
        return self._rng.randrange(upper)


@dataclass
class KillSwitch:
    """SIGKILL process ``pid`` at ``phase`` of the ``at``-th transaction seen after arming."""

    pid: int
    at: int
    phase: KillPhase
    delay: float = 0.0  # after the answer, for AFTER_ANSWER
    seen: int = 0
    fired: bool = False

    def fire(self) -> None:
        if not self.fired:
            self.fired = True
            with suppress(ProcessLookupError):  # it finished on its own meanwhile
                os.kill(self.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Injection:
    """One injected fault: which request (its number, run and fingerprint) and what entries."""

    number: int
    run: int
    kind: FaultKind
    fingerprint: str
    entries: tuple[tuple[str | None, str | None], ...]  # (fullUrl, request.url) per entry
    locations: tuple[str | None, ...] = ()  # the server's own locations, for location faults
    elapsed: float = 0.0  # seconds from the request's arrival to the injection
