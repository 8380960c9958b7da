"""One EHR pull: look up each enrolled participant, fetch and normalise their lab values.

Participants are independent, so they are looked up in parallel up to the client's
concurrency. A participant not found, or found twice, is a problem for their MRN-file row
and is skipped; values that cannot be carried are problems too. Run-level failures (the
server unreachable or refusing) raise.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fhir_adapter.client import FhirClient
from fhir_adapter.ehr._mrns import Enrolled
from fhir_adapter.ehr._normalise import LabValue, Normaliser, NotFinal
from fhir_adapter.ehr._problems import Problem
from fhir_adapter.ehr._search import find_patient, observations
from fhir_adapter.ehr._settle import LabRow, assign_visits, one_per_day
from fhir_adapter.ehr._targets import LabTargets
from fhir_adapter.ehr._visits import OUTSIDE, Visit


class EhrProgress(Protocol):
    """Told as participants finish; called from the fetching threads."""

    def participant_done(self, values: int) -> None:
        """One more participant is done, with ``values`` Observations fetched."""


class NoEhrProgress:
    def participant_done(self, values: int) -> None:
        return None


@dataclass(frozen=True)
class EhrPullOptions:
    """The date range (inclusive, on the Observation's effective date), the protocol visits
    (none: every value is labelled ``EHR <date>``) and resources per page."""

    start: dt.date
    end: dt.date
    visits: tuple[Visit, ...] = ()
    page_size: int = 200

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the end date lies before the start date")
        if not 1 <= self.page_size <= 1000:
            raise ValueError("page_size must lie between 1 and 1000")


@dataclass
class _Counts:
    fetched: int = 0
    not_final: int = 0
    out_of_range_dates: int = 0
    foreign: int = 0  # resources the server returned that were not asked for (dropped)
    duplicates: int = 0

    def add(self, other: _Counts) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Participant:
    found: bool
    rows: list[LabRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    counts: _Counts = field(default_factory=_Counts)


@dataclass(frozen=True)
class EhrPullResult:
    """What a pull found: the table rows, the problems, and counts (no values, no MRNs)."""

    server: str
    options: EhrPullOptions
    targets: LabTargets
    listed: int  # participants in the MRN file (usable rows and problem rows)
    looked_up: int
    found: int
    rows: list[LabRow]
    problems: list[Problem]
    counts: dict[str, int]
    elapsed: float

    @property
    def outside_windows(self) -> int:
        return sum(1 for r in self.rows if r.placement.window == OUTSIDE)

    def as_dict(self) -> dict[str, Any]:
        per_analyte = Counter(r.value.analyte for r in self.rows)
        return {
            "command": "ehr-pull",
            "server": self.server,
            "from": self.options.start.isoformat(),
            "to": self.options.end.isoformat(),
            "analytes": {k: t.unit for k, t in self.targets.by_key.items()},
            "loinc_codes": self.targets.codes,
            "visits": [
                {"name": v.name, "day": v.day, "window": v.window} for v in self.options.visits
            ],
            "participants": {
                "listed": self.listed,
                "looked_up": self.looked_up,
                "found": self.found,
                "skipped": self.listed - self.found,
            },
            "values": {
                "written": len(self.rows),
                "per_analyte": dict(sorted(per_analyte.items())),
                "converted": sum(1 for r in self.rows if r.value.converted),
                "outside_windows": self.outside_windows,
                **self.counts,
            },
            "problems": [p.public() for p in self.problems],
            "elapsed_seconds": round(self.elapsed, 3),
        }


def _one(
    client: FhirClient,
    enrolled: Enrolled,
    normaliser: Normaliser,
    options: EhrPullOptions,
) -> _Participant:
    match = find_patient(client, enrolled)
    counts = _Counts(foreign=match.foreign)
    if not match.ids:
        why = "no Patient on the server carries the participant's MRN; participant skipped"
        return _Participant(
            False, [], [Problem(enrolled.row, "patient-not-found", why, enrolled.subject)], counts
        )
    if len(match.ids) > 1 or match.more_pages:
        why = "several Patients on the server carry the participant's MRN; participant skipped"
        return _Participant(
            False, [], [Problem(enrolled.row, "patient-ambiguous", why, enrolled.subject)], counts
        )
    values: list[LabValue] = []
    problems: list[Problem] = []
    codes = normaliser.targets.codes
    for belongs, resource in observations(
        client, match.ids[0], codes, options.start, options.end, options.page_size
    ):
        if not belongs:
            counts.foreign += 1
            continue
        counts.fetched += 1
        try:
            outcome = normaliser.normalise(resource, enrolled.row, enrolled.subject)
        except NotFinal:
            counts.not_final += 1
            continue
        if isinstance(outcome, Problem):
            problems.append(outcome)
        elif not options.start <= outcome.date <= options.end:
            counts.out_of_range_dates += 1  # a time zone or period the server matched
        else:
            values.append(outcome)
    kept, conflicts, counts.duplicates = one_per_day(enrolled, values)
    rows = assign_visits(enrolled, kept, options.visits)
    return _Participant(True, rows, problems + conflicts, counts)


def pull_labs(
    client: FhirClient,
    enrolled: list[Enrolled],
    targets: LabTargets,
    options: EhrPullOptions,
    *,
    listed: int | None = None,
    progress: EhrProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> EhrPullResult:
    """Look up every ``enrolled`` participant and read their lab values in the date range.

    Read-only; every request names one enrolled participant (``_search``). ``listed`` is the
    MRN file's participant count, problem rows included (default: ``len(enrolled)``).
    """
    started = clock()
    report = progress or NoEhrProgress()
    normaliser = Normaliser(targets)

    def job(person: Enrolled) -> _Participant:
        result = _one(client, person, normaliser, options)
        report.participant_done(result.counts.fetched)
        return result

    with concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, client.max_concurrency), thread_name_prefix="ehr"
    ) as pool:
        try:
            results = list(pool.map(job, enrolled))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    counts = _Counts()
    rows: list[LabRow] = []
    problems: list[Problem] = []
    for result in results:
        counts.add(result.counts)
        rows.extend(result.rows)
        problems.extend(result.problems)
    return EhrPullResult(
        server=str(client.base),
        options=options,
        targets=targets,
        listed=len(enrolled) if listed is None else listed,
        looked_up=len(enrolled),
        found=sum(1 for r in results if r.found),
        rows=sorted(rows, key=lambda r: (r.row, r.value.analyte, r.value.date)),
        problems=sorted(problems, key=lambda p: p.order),
        counts=dict(vars(counts)),
        elapsed=clock() - started,
    )
