"""The enrolment file: which study subject is which hospital patient (MRN).

Only the participants listed here are ever looked up. A row that cannot be used (no subject,
no MRN, no identifier system, a subject or MRN listed twice, a bad anchor date) is a
problem for that row and the participant is skipped; a file that cannot be read at all is a
``SourceDataError``. Nothing here ever puts an MRN into a message.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fhir_adapter.ehr._problems import Problem
from fhir_adapter.errors import SourceDataError

SUBJECT, MRN, SYSTEM = "subject", "mrn", "mrn_system"
MAX_ROWS = 100_000  # far above any trial; bounds what a wrong file can cost


@dataclass(frozen=True)
class Enrolled:
    """One participant to look up: the MRN file's ``row`` (header is row 1), the study
    ``subject`` id, the MRN with its identifier ``system``, and the visit ``anchor`` date."""

    row: int
    subject: str
    system: str
    mrn: str = field(repr=False)  # kept out of reprs, tracebacks and logs
    anchor: dt.date | None = None


def _anchor(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def read_mrns(
    path: Path, default_system: str | None, anchor_column: str | None = None
) -> tuple[list[Enrolled], list[Problem]]:
    """The usable rows of the MRN file and the problems of the others.

    Columns: ``subject``, ``mrn``, optionally ``mrn_system`` (else ``default_system``) and,
    when visits are assigned, ``anchor_column`` (an ISO date, YYYY-MM-DD).
    """
    file = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in (SUBJECT, MRN) if c not in header]
            if anchor_column and anchor_column not in header:
                missing.append(anchor_column)
            if missing:
                raise SourceDataError(
                    f"the header lacks column(s) {', '.join(missing)}; the file needs "
                    f"'{SUBJECT}' and '{MRN}' (and optionally '{SYSTEM}')",
                    file=file,
                    row=1,
                    rule="header",
                )
            rows = []
            for number, values in enumerate(reader, start=2):
                if number > MAX_ROWS:
                    raise SourceDataError(
                        f"more than {MAX_ROWS:,} rows; is this the enrolment file?", file=file
                    )
                rows.append((number, {k: (v or "").strip() for k, v in values.items() if k}))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise SourceDataError(
            f"cannot be read as a UTF-8 CSV file ({type(error).__name__})", file=file
        ) from None
    return _check_rows(rows, default_system, anchor_column)


def _check_rows(
    rows: list[tuple[int, dict[str, str]]], default_system: str | None, anchor_column: str | None
) -> tuple[list[Enrolled], list[Problem]]:
    problems: list[Problem] = []
    candidates: list[Enrolled] = []
    for number, values in rows:
        if not any(values.values()):
            continue  # a blank line
        subject, mrn = values.get(SUBJECT, ""), values.get(MRN, "")
        system = values.get(SYSTEM, "") or default_system or ""
        anchor = None
        why = None
        if not subject:
            why = f"no '{SUBJECT}'"
        elif not mrn:
            why = f"no '{MRN}'"
        elif not system:
            why = f"no '{SYSTEM}' and no --mrn-system for the MRN's identifier system"
        elif anchor_column:
            anchor = _anchor(values.get(anchor_column, ""))
            if anchor is None:
                why = f"'{anchor_column}' is not a date YYYY-MM-DD (needed to assign visits)"
        if why:
            problems.append(Problem(number, "mrn-file", f"{why}; participant skipped", subject))
            continue
        candidates.append(Enrolled(number, subject, system, mrn, anchor))
    subjects = Counter(e.subject for e in candidates)
    patients = Counter((e.system, e.mrn) for e in candidates)
    kept = []
    for enrolled in candidates:
        if subjects[enrolled.subject] > 1:
            why = "the subject is listed on several rows"
        elif patients[(enrolled.system, enrolled.mrn)] > 1:
            why = "the same MRN is listed for several subjects"
        else:
            kept.append(enrolled)
            continue
        problems.append(
            Problem(enrolled.row, "mrn-file", f"{why}; participant skipped", enrolled.subject)
        )
    return kept, problems
