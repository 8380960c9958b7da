"""Fixtures for transport-level tests of the FHIR client: a fake clock that sleeps instantly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fhir_adapter.client import FhirClient, RetryPolicy

BASE = "https://fhir.example.org/fhir"


class FakeClock:
    """A monotonic clock whose ``sleep`` records the duration and advances time at once."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., FhirClient]]:
    """Build clients on the fake clock with a deterministic jitter (half the ceiling)."""
    made: list[FhirClient] = []

    def make(**overrides: Any) -> FhirClient:
        options: dict[str, Any] = {
            "retry": RetryPolicy(
                max_attempts=4,
                initial_backoff=1.0,
                max_backoff=8.0,
                max_retry_after=60.0,
                random=lambda: 0.5,
            ),
            "sleep": clock.sleep,
            "clock": clock,
            "wall_clock": lambda: 1_445_412_435.0,  # Wed, 21 Oct 2015 07:27:15 GMT
            "deadline": 120.0,
        }
        options.update(overrides)
        client = FhirClient(options.pop("base_url", BASE), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _outcome(*issues: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": list(issues)}


def _bundle(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    links = [{"relation": "self", "url": f"{BASE}/Patient"}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


# Helpers as fixtures: pytest 9 puts no test directory on sys.path, so tests cannot import
# a sibling helper module.
@pytest.fixture
def base() -> str:
    return BASE


@pytest.fixture
def outcome() -> Callable[..., dict[str, Any]]:
    """``outcome(issue, ...)``: an OperationOutcome body."""
    return _outcome


@pytest.fixture
def bundle() -> Callable[..., dict[str, Any]]:
    """``bundle(resource, ..., next_url=None)``: a searchset page."""
    return _bundle
