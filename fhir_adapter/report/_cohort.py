"""Tables → typed records of one study: participants, measurements by visit, medication lines,
infusions, adverse events. Pure: pyarrow tables in, dataclasses out.

A measurement's visit is read from the business identifier the adapter gives every
Observation, ``<subject>/<visit>/<analyte>`` (``fhir/ids.natural_key``): the subject number
of the participant is stripped from the front and the analyte from the end, so a visit code
may itself hold a ``/``. An Observation whose identifier does not have that form has no
visit and is counted (``Cohort.without_visit``), never guessed.

Analytes are chosen by LOINC code (mappings/codes/diabetes-cell-therapy.yaml, confirmed in
shared/domain/CODES.md): HbA1c 4548-4 (%) and 59261-8 (mmol/mol, IFCC); C-peptide 1986-9,
13037-7 (fasting, mass) and 42180-0 (fasting, molar); BMI 39156-5.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.report._tables import StudyTables


@dataclass(frozen=True)
class Analyte:
    key: str
    label: str
    loinc: frozenset[str]


ANALYTES = (
    Analyte("hba1c", "HbA1c", frozenset({"4548-4", "59261-8"})),
    Analyte("c_peptide", "C-peptide", frozenset({"1986-9", "13037-7", "42180-0"})),
    Analyte("bmi", "BMI", frozenset({"39156-5"})),
)
_BY_LOINC = {code: a.key for a in ANALYTES for code in a.loinc}


@dataclass(frozen=True)
class Participant:
    patient_id: str
    subject: str
    arm: str
    enrolled: dt.date | None
    status: str | None
    end: dt.date | None


@dataclass(frozen=True)
class Measurement:
    patient_id: str
    visit: str
    analyte: str
    value: float
    unit: str | None
    comparator: str | None
    date: dt.date | None


@dataclass(frozen=True)
class MedicationLine:
    patient_id: str
    drug: str  # RxNorm code, else ATC code, else the text: one key per drug
    atc: str | None
    start: dt.date | None
    end: dt.date | None
    daily_total: float | None
    unit: str | None


@dataclass(frozen=True)
class AdverseEvent:
    patient_id: str
    seriousness: str | None
    severity: str | None


@dataclass(frozen=True)
class DateRange:
    """A date as precise as the source gave it: ``2008`` is 2008-01-01 to 2008-12-31."""

    low: dt.date
    high: dt.date


@dataclass
class Cohort:
    """Everything the analysis reads, for the participants of one study."""

    title: str
    description: str
    arms: list[str]
    participants: dict[str, Participant]
    measurements: list[Measurement]
    onsets: dict[str, DateRange]  # patient_id → earliest diagnosis onset
    first_infusion: dict[str, dt.date]  # patient_id → first procedure that used a cell product
    medications: list[MedicationLine]
    adverse_events: list[AdverseEvent]
    without_visit: int = 0
    other_studies: int = 0
    notes: list[str] = field(default_factory=list)


def parse_date(text: Any) -> dt.date | None:
    """The day of a FHIR date or dateTime, or None when it is not given to the day."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    return dt.date.fromisoformat(text[:10])


def date_range(text: Any) -> DateRange | None:
    """The days a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD, or a dateTime) may stand for."""
    if not isinstance(text, str) or len(text) < 4:
        return None
    year = int(text[:4])
    if len(text) >= 10:
        day = dt.date.fromisoformat(text[:10])
        return DateRange(day, day)
    if len(text) >= 7:
        month = int(text[5:7])
        first = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return DateRange(first, following - dt.timedelta(days=1))
    return DateRange(dt.date(year, 1, 1), dt.date(year, 12, 31))


def visit_of(identifier: Any, subject: str) -> str | None:
    """``A-001/M3/hba1c`` of subject ``A-001`` → ``M3``; None for another shape."""
    if not isinstance(identifier, str) or not identifier.startswith(subject + "/"):
        return None
    rest = identifier[len(subject) + 1 :]
    visit, slash, analyte = rest.rpartition("/")
    return visit if slash and visit and analyte else None


def build_cohort(tables: StudyTables) -> Cohort:
    studies = tables.studies.to_pylist()
    study = studies[0] if len(studies) == 1 else None
    study_id = study["id"] if study else None
    cohort = Cohort(
        title=(study or {}).get("title") or "",
        description=(study or {}).get("description") or "",
        arms=list((study or {}).get("arms") or []),
        participants={},
        measurements=[],
        onsets={},
        first_infusion={},
        medications=[],
        adverse_events=[],
    )
    if len(studies) > 1:
        cohort.notes.append(
            f"the input holds {len(studies)} studies; the report covers all their participants"
        )
    for row in tables.participants.to_pylist():
        if study_id and row["study_id"] != study_id:
            cohort.other_studies += 1
            continue
        if not row["patient_id"]:
            continue
        cohort.participants[row["patient_id"]] = Participant(
            patient_id=row["patient_id"],
            subject=row["subject_identifier"] or "",
            arm=row["arm"] or "(no arm)",
            enrolled=parse_date(row["period_start"]),
            status=row["status"],
            end=parse_date(row["period_end"]),
        )
    for arm in sorted({p.arm for p in cohort.participants.values()} - set(cohort.arms)):
        cohort.arms.append(arm)
    _measurements(cohort, tables.observations.to_pylist())
    _onsets(cohort, tables.conditions.to_pylist())
    _infusions(cohort, tables.procedures.to_pylist())
    _medications(cohort, tables.medications.to_pylist())
    cohort.adverse_events = [
        AdverseEvent(r["patient_id"], r["seriousness"], r["severity"])
        for r in tables.adverse_events.to_pylist()
        if r["patient_id"] in cohort.participants and r["actuality"] != "potential"
    ]
    return cohort


def _measurements(cohort: Cohort, rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        analyte = _BY_LOINC.get(row["code"] or "")
        participant = cohort.participants.get(row["patient_id"] or "")
        if analyte is None or participant is None or row["value"] is None:
            continue
        if row["status"] in ("entered-in-error", "cancelled"):
            continue
        visit = visit_of(row["identifier"], participant.subject)
        if visit is None:
            cohort.without_visit += 1
            continue
        cohort.measurements.append(
            Measurement(
                patient_id=participant.patient_id,
                visit=visit,
                analyte=analyte,
                value=float(row["value"]),
                unit=row["unit"],
                comparator=row["comparator"],
                date=parse_date(row["effective_date"]),
            )
        )


def _onsets(cohort: Cohort, rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        if row["patient_id"] not in cohort.participants or row["clinical_status"] == "inactive":
            continue
        if row["verification_status"] == "entered-in-error":
            continue
        onset = date_range(row["onset_date"])
        if onset is None:
            continue
        known = cohort.onsets.get(row["patient_id"])
        if known is None or onset.low < known.low:
            cohort.onsets[row["patient_id"]] = onset


def _infusions(cohort: Cohort, rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        if row["patient_id"] not in cohort.participants or not row["product_id"]:
            continue
        if row["status"] not in ("completed", "in-progress"):
            continue
        day = parse_date(row["performed_date"])
        if day is None:
            continue
        known = cohort.first_infusion.get(row["patient_id"])
        if known is None or day < known:
            cohort.first_infusion[row["patient_id"]] = day


def _medications(cohort: Cohort, rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        if row["patient_id"] not in cohort.participants:
            continue
        if row["status"] in ("entered-in-error", "not-taken"):
            continue
        drug = row["rxnorm_code"] or row["atc_code"] or row["medication_text"]
        if not drug:
            continue
        total = row["daily_total_dose"]
        cohort.medications.append(
            MedicationLine(
                patient_id=row["patient_id"],
                drug=drug,
                atc=row["atc_code"],
                start=parse_date(row["period_start"]),
                end=parse_date(row["period_end"]),
                daily_total=None if total is None else float(total),
                unit=row["daily_total_unit"],
            )
        )


def unit_counts(measurements: Iterable[Measurement], analyte: str) -> Counter[str]:
    return Counter(m.unit or "" for m in measurements if m.analyte == analyte)
