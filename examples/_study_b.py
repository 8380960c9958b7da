"""Study B: BM-MNC implantation (group I) vs insulin intensification (group II), 36 months.

One `random.Random` per patient, seeded from (seed, patient index); no state is shared between
patients, so N patients are a prefix of N+1. The export shape differs from study A on purpose:
an Excel patient sheet, long-format labs, ';' delimiter, decimal comma, dd/mm/yyyy, BOM on labs.

Findings built into the values (see examples/README.md):
- HbA1c ~9.0 % before therapy in both groups; ~1.75 points lower in group I by month 6 and
  held (slow drift back), ~0.8 lower in group II.
- C-peptide rises ~45 % in group I, drifts slightly down in group II.
- Group II insulin doses increase over time; some group I patients reduce a dose.
- Adverse events only in group II (hypoglycaemia); none in group I.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from _export import CsvTable, XlsxSheet, dec, dmy, num

VISIT_MONTHS = (0, 1, 2, 3, *range(6, 37, 3))
ENROLMENT_START = dt.date(2018, 1, 2)
ENROLMENT_DAYS = 640
DATA_CUTOFF = dt.date(2022, 6, 30)  # patients still in follow-up at the cut-off are Active
C_PEPTIDE_LOQ = Decimal("0.10")
INSULINS = ("Lantus", "NovoMix 30", "Actrapid")


@dataclass
class LabResult:
    month: int
    date: dt.date
    test: str  # HBA1C | CPEP
    value: Decimal | None  # None = below the limit of quantification
    unit: str


@dataclass
class MedLine:
    line_no: int
    drug: str
    daily_dose: int
    start: dt.date
    end: dt.date | None = None

    @property
    def unit(self) -> str:
        return "IU" if self.drug in INSULINS else "mg"


@dataclass
class PatientB:
    patient_no: str
    gender: str
    year_of_birth: int
    group: str
    enrolment: dt.date
    diagnosis_year: int
    status: str
    end: dt.date | None
    end_reason: str  # "" while active
    therapy_start: dt.date
    labs: list[LabResult] = field(default_factory=list)
    procedures: list[tuple[str, str, dt.date, str]] = field(default_factory=list)
    product: tuple[str, dt.date, Decimal, int] | None = None
    medications: list[MedLine] = field(default_factory=list)
    adverse_events: list[dt.date] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)


def _visit_date(rng: random.Random, start: dt.date, month: int) -> dt.date:
    if month == 0:
        return start - dt.timedelta(days=rng.randint(1, 5))
    return start + dt.timedelta(days=round(month * 30.44) + rng.randint(-7, 7))


def make_patient(seed: int, index: int, width: int) -> PatientB:
    rng = random.Random(f"{seed}:b:patient:{index}")
    enrolment = ENROLMENT_START + dt.timedelta(days=rng.randrange(ENROLMENT_DAYS))
    age = rng.randint(35, 70)
    duration = min(rng.randint(1, 20), age - 25)
    group = "I" if rng.random() < 0.5 else "II"
    start = enrolment + dt.timedelta(days=rng.randint(7, 14))
    schedule = {m: _visit_date(rng, start, m) for m in VISIT_MONTHS}
    months = [m for m in VISIT_MONTHS if m == 0 or m == 36 or rng.random() > 0.06]
    status, end = "Completed", schedule[36]
    if rng.random() < 0.05:
        last = rng.choice(VISIT_MONTHS[2:-1])
        months = [m for m in months if m <= last]
        status, end = "Withdrawn", schedule[last] + dt.timedelta(days=rng.randint(10, 60))
    if end > DATA_CUTOFF:
        status, end = "Active", None
        months = [m for m in months if schedule[m] <= DATA_CUTOFF]
    # Drawn from its own generator so adding the column changed no other value.
    reason = {"Completed": "Completed", "Active": ""}.get(status)
    if reason is None:
        reason = random.Random(f"{seed}:b:end-reason:{index}").choice(
            ("Consent withdrawn", "Lost to follow-up")
        )

    patient = PatientB(
        patient_no=f"B{index + 1:0{width}d}",
        gender="Male" if rng.random() < 0.55 else "Female",
        year_of_birth=enrolment.year - age,
        group=group,
        enrolment=enrolment,
        diagnosis_year=enrolment.year - duration,
        status=status,
        end=end,
        end_reason=reason,
        therapy_start=start,
    )
    _add_labs(patient, rng, months, schedule, duration)
    if group == "I":
        _add_implantation(patient, rng)
    _add_medications(patient, rng)
    if group == "II":
        last_day = end or DATA_CUTOFF
        for _ in range(2 if rng.random() < 0.01 else 1 if rng.random() < 0.09 else 0):
            span = (last_day - start).days
            patient.adverse_events.append(start + dt.timedelta(days=rng.randrange(span)))
        patient.adverse_events.sort()
        patient.severities = [
            "Moderate" if rng.random() < 0.25 else "Mild" for _ in patient.adverse_events
        ]
    return patient


def _effect_fraction(group: str, month: int) -> float:
    ramp = {0: 0.0, 1: 0.35, 2: 0.6, 3: 0.8}
    if month in ramp:
        return ramp[month] * (1.0 if group == "I" else 0.9)
    return 1.0 - 0.004 * (month - 6)


def _add_labs(
    patient: PatientB,
    rng: random.Random,
    months: list[int],
    schedule: dict[int, dt.date],
    duration: int,
) -> None:
    hba1c0 = min(max(rng.gauss(9.0, 0.9), 7.2), 12.0)
    cpep0 = rng.lognormvariate(0.4 - 0.07 * duration, 0.5)
    if duration > 8 and rng.random() < 0.01 * (duration - 8):  # little beta-cell function left
        cpep0 = rng.uniform(0.05, 0.14)
    if patient.group == "I":
        effect, cpep_gain = max(rng.gauss(1.75, 0.45), 0.5), 0.45
    else:
        effect, cpep_gain = max(rng.gauss(0.8, 0.35), 0.0), 0.0
    for month in months:
        fraction = _effect_fraction(patient.group, month)
        noise = 0.0 if month == 0 else rng.gauss(0, 0.2)
        hba1c = max(hba1c0 - effect * fraction + noise, 5.4)
        drift = 1 - 0.004 * month if patient.group == "II" else 1 + cpep_gain * fraction
        cpep = dec(cpep0 * drift * rng.lognormvariate(0, 0.1), 2)
        day = schedule[month]
        patient.labs.append(LabResult(month, day, "HBA1C", dec(hba1c, 1), "%"))
        if month == 0 or rng.random() > 0.03:  # CPEP occasionally not done
            value = None if cpep < C_PEPTIDE_LOQ else cpep
            patient.labs.append(LabResult(month, day, "CPEP", value, "ng/mL"))


def _add_implantation(patient: PatientB, rng: random.Random) -> None:
    no = patient.patient_no
    harvest = patient.therapy_start - dt.timedelta(days=rng.randint(0, 1))
    product_no = f"{no}-MNC"
    patient.procedures = [
        (f"{no}-1", "BMH", harvest, ""),
        (f"{no}-2", "IMPL", patient.therapy_start, product_no),
    ]
    patient.product = (product_no, harvest, dec(rng.uniform(6, 20), 1), rng.randint(88, 99))


def _add_medications(patient: PatientB, rng: random.Random) -> None:
    meds = patient.medications
    start, last_day = patient.therapy_start, patient.end or DATA_CUTOFF

    def begin(drug: str, dose: int, day: dt.date) -> MedLine:
        line = MedLine(len(meds) + 1, drug, dose, day)
        meds.append(line)
        return line

    def change(line: MedLine, dose: int | None, day: dt.date) -> MedLine | None:
        line.end = day
        return None if dose is None else begin(line.drug, dose, day + dt.timedelta(days=1))

    before = patient.enrolment - dt.timedelta(days=rng.randint(60, 900))
    lines = []
    if rng.random() < 0.8:
        lines.append(begin("Glucophage", rng.choice((1000, 1500, 2000)), before))
    draw = rng.random()
    if draw < 0.3:
        lines.append(begin("Diamicron MR", rng.choice((30, 60, 120)), before))
    elif draw < 0.5:
        lines.append(begin("Amaryl", rng.choice((2, 4)), before))
    elif draw < 0.65:
        lines.append(begin("Januvia", 100, before))
    insulin = None
    if rng.random() < 0.5:
        drug = "Lantus" if rng.random() < 0.6 else "NovoMix 30"
        dose = rng.randint(10, 30) if drug == "Lantus" else rng.randint(20, 50)
        insulin = begin(drug, dose, before + dt.timedelta(days=rng.randint(0, 40)))

    if patient.group == "II":  # insulin intensification from the therapy start
        day = start - dt.timedelta(days=1)
        insulins: list[MedLine] = []
        if insulin is None:
            for line in lines:
                if line.drug in ("Diamicron MR", "Amaryl"):
                    change(line, None, day)  # sulfonylurea stopped when insulin starts
            insulins.append(begin("Lantus", rng.randint(10, 16), start))
        else:
            bumped = change(insulin, round(insulin.daily_dose * rng.uniform(1.2, 1.3)), day)
            assert bumped is not None
            insulins.append(bumped)
        if insulins[0].drug == "Lantus" and rng.random() < 0.6:
            insulins.append(begin("Actrapid", rng.randint(12, 24), start))
        for month in (3, 9, 18, 27):
            when = start + dt.timedelta(days=round(month * 30.44) + rng.randint(0, 20))
            if when >= last_day or rng.random() > 0.75:
                continue
            pick = rng.randrange(len(insulins))
            line = insulins[pick]
            higher = change(line, round(line.daily_dose * rng.uniform(1.1, 1.2)) + 1, when)
            assert higher is not None
            insulins[pick] = higher
    elif rng.random() < 0.55:  # group I: some reduce a dose after the implantation
        target = insulin or (lines[-1] if lines else None)
        when = start + dt.timedelta(days=rng.randint(60, 365))
        if target is not None and when < last_day:
            steps = {"Glucophage": 500, "Diamicron MR": 30, "Amaryl": 1, "Januvia": 50}
            if target.drug in INSULINS:
                lower = round(target.daily_dose * rng.uniform(0.5, 0.8))
            else:
                lower = target.daily_dose - steps[target.drug]
            change(target, lower if lower > 0 else None, when)


LAB_HEADER = ["PatientNo", "VisitMonth", "SampleDate", "Test", "Result", "Unit"]
PATIENT_HEADER = [
    "PatientNo",
    "Gender",
    "YearOfBirth",
    "Group",
    "EnrolmentDate",
    "DiagnosisYear",
    "Status",
    "EndDate",
    "EndReason",
]


class StudyBWriter:
    """examples/study_b: patients.xlsx plus ';'-delimited CSVs with decimal comma, dd/mm/yyyy."""

    def __init__(self, out: Path) -> None:
        directory = out / "study_b"
        directory.mkdir(parents=True, exist_ok=True)
        self.patients = XlsxSheet(
            directory / "patients.xlsx", "Patients", PATIENT_HEADER, "dd/mm/yyyy"
        )

        def table(name: str, header: list[str], encoding: str = "utf-8") -> CsvTable:
            return CsvTable(directory / name, header, delimiter=";", encoding=encoding)

        self.labs = table("labs.csv", LAB_HEADER, "utf-8-sig")
        self.procedures = table(
            "procedures.csv", ["PatientNo", "ProcNo", "ProcCode", "ProcDate", "ProductNo"]
        )
        self.products = table(
            "products.csv",
            ["ProductNo", "PatientNo", "HarvestDate", "CellType", "Dose1e6PerKg", "ViabilityPct"],
        )
        self.medications = table(
            "medications.csv",
            ["PatientNo", "LineNo", "Drug", "DailyDose", "Unit", "StartDate", "EndDate"],
        )
        self.adverse_events = table(
            "adverse_events.csv",
            ["PatientNo", "EventNo", "OnsetDate", "Description", "Severity", "Serious"],
        )

    def write(self, p: PatientB) -> None:
        no = p.patient_no
        self.patients.write(
            [
                no,
                p.gender,
                p.year_of_birth,
                p.group,
                p.enrolment,
                p.diagnosis_year,
                p.status,
                p.end,
                p.end_reason or None,
            ]
        )
        for lab in p.labs:
            result = f"<{num(C_PEPTIDE_LOQ, True)}" if lab.value is None else num(lab.value, True)
            self.labs.write([no, str(lab.month), dmy(lab.date), lab.test, result, lab.unit])
        for proc_no, code, day, product_no in p.procedures:
            self.procedures.write([no, proc_no, code, dmy(day), product_no])
        if p.product is not None:
            product_no, harvest, dose, viability = p.product
            self.products.write(
                [product_no, no, dmy(harvest), "MNC", num(dose, True), str(viability)]
            )
        for m in p.medications:
            self.medications.write(
                [no, str(m.line_no), m.drug, str(m.daily_dose), m.unit, dmy(m.start), dmy(m.end)]
            )
        for number, (onset, severity) in enumerate(
            zip(p.adverse_events, p.severities, strict=True), start=1
        ):
            self.adverse_events.write(
                [no, str(number), dmy(onset), "Hypoglycaemia", severity, "No"]
            )

    def close(self) -> dict[str, int]:
        tables = [
            self.patients,
            self.labs,
            self.procedures,
            self.products,
            self.medications,
            self.adverse_events,
        ]
        for table in tables:
            table.close()
        return {table.path.name: table.rows for table in tables}
