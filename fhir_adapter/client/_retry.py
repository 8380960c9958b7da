"""The one retry policy: capped exponential backoff with full jitter, Retry-After, a deadline.

Retryability is a property of the error type (``TransientServerError``) and of the request
(only idempotent requests are retried). The loop is tenacity's, with our own sleep, clock
and wait so tests never sleep and every decision is deterministic.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

import tenacity

from fhir_adapter.errors import FhirServerError, TransientServerError

T = TypeVar("T")

logger = logging.getLogger("fhir_adapter.client")

_DELAY_SECONDS = re.compile(r"^[0-9]{1,10}$")  # ASCII digits only: "²".isdigit() is True


def parse_retry_after(value: str | None, *, date: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP-date.

    An HTTP-date is measured from the response's own ``Date`` header when present (so the
    server's clock skew cancels out), else from ``now`` (wall-clock seconds since the epoch).
    Returns None for a missing or unparsable value, and never a negative number.
    See RFC 9110 section 10.2.3.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _DELAY_SECONDS.match(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    reference = now
    if date:
        try:
            reference = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            reference = now
    return max(0.0, when - reference)


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures of idempotent requests are retried.

    Attempt n (counting from 1) that fails transiently is followed by a wait of
    ``uniform(0, min(max_backoff, initial_backoff * 2 ** (n - 1)))`` ("full jitter"), or by the
    server's ``Retry-After`` capped at ``max_retry_after``. No retry starts when the wait
    would end past the request's deadline, nor after ``max_attempts`` attempts.
    ``random`` (returning [0, 1)) is injectable for tests.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 120.0
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.initial_backoff, self.max_backoff, self.max_retry_after) < 0:
            raise ValueError("backoff and Retry-After caps must not be negative")

    def backoff(self, attempt: int) -> float:
        """The jittered wait after failed attempt ``attempt`` (1-based)."""
        ceiling = min(self.max_backoff, self.initial_backoff * 2 ** min(attempt - 1, 62))
        return self.random() * ceiling

    def wait_after(self, error: BaseException | None, attempt: int) -> float:
        """The wait after ``error`` ended attempt ``attempt``: Retry-After, else backoff."""
        if isinstance(error, TransientServerError) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        return self.backoff(attempt)


NO_RETRY = RetryPolicy(max_attempts=1)


def call_with_retries(
    policy: RetryPolicy,
    attempt: Callable[[], T],
    *,
    idempotent: bool,
    deadline_at: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> T:
    """Run ``attempt`` until it returns, retrying transient errors of idempotent requests.

    The error that ends the loop is raised as is, with ``attempts`` set to the number of
    attempts made. ``deadline_at`` is a ``clock()`` value; no wait may end past it.
    """
    attempts = 0

    def counted() -> T:
        nonlocal attempts
        attempts += 1
        return attempt()

    def should_retry(error: BaseException) -> bool:
        return idempotent and isinstance(error, TransientServerError)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return policy.wait_after(error, state.attempt_number)

    def stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        return deadline_at is not None and clock() + state.upcoming_sleep >= deadline_at

    def log_retry(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, FhirServerError):
            logger.info(
                "retrying %s %s after %s in %.1f s (attempt %d of %d)",
                error.method,
                error.path,
                error.status or type(error).__name__,
                state.upcoming_sleep,
                state.attempt_number + 1,
                policy.max_attempts,
            )

    retrying = tenacity.Retrying(
        sleep=sleep,
        stop=stop,
        wait=wait,
        retry=tenacity.retry_if_exception(should_retry),
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return retrying(counted)
    except FhirServerError as error:
        error.attempts = attempts
        raise
