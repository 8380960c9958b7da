"""The two export shapes of study A: the site's own (study_a) and a re-keyed one (study_a_alt).

Both writers take the same `SubjectA` objects, so the alt folder carries exactly the same values,
converted to other units (IFCC HbA1c, pmol/L C-peptide, mmol/L glucose) and other formats.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from _export import CsvTable, dmy, half_up, iso, num
from _study_a import SITE, SubjectA, Visit

# IFCC master equation: NGSP(%) = 0.09148 * IFCC(mmol/mol) + 2.152.
IFCC_SLOPE, IFCC_INTERCEPT = Decimal("0.09148"), Decimal("2.152")
C_PEPTIDE_PMOL_PER_NG = 331  # 1 ng/mL C-peptide = 331 pmol/L (molar mass ~3020 g/mol)
GLUCOSE_MG_PER_MMOL = Decimal("18.0156")

BRANDS = {
    "METFORMIN": "Glucophage",
    "GLICLAZIDE": "Diamicron MR",
    "GLIMEPIRIDE": "Amaryl",
    "SITAGLIPTIN": "Januvia",
    "INS_GLARGINE": "Lantus",
    "INS_ASPART": "NovoRapid",
    "INS_REGULAR": "Actrapid",
    "INS_PREMIX_70_30": "Mixtard 30",
}
END_REASON_TEXT = {
    "COMPLETED": "Completed",
    "CONSENT_WITHDRAWN": "Consent withdrawn",
    "LOST_TO_FOLLOW_UP": "Lost to follow-up",
}


def ifcc_mmol_mol(ngsp_pct: Decimal) -> Decimal:
    return half_up((ngsp_pct - IFCC_INTERCEPT) / IFCC_SLOPE)


def c_peptide_pmol_l(ng_ml: Decimal) -> Decimal:
    return half_up(ng_ml * C_PEPTIDE_PMOL_PER_NG)


def glucose_mmol_l(mg_dl: int) -> Decimal:
    return half_up(Decimal(mg_dl) / GLUCOSE_MG_PER_MMOL, 1)


class _Shape:
    tables: dict[str, list[str]]
    delimiter: str
    folder: str

    def __init__(self, out: Path) -> None:
        directory = out / self.folder
        directory.mkdir(parents=True, exist_ok=True)
        self.files = {
            name: CsvTable(directory / f"{name}.csv", header, delimiter=self.delimiter)
            for name, header in self.tables.items()
        }

    def close(self) -> dict[str, int]:
        for table in self.files.values():
            table.close()
        return {f"{name}.csv": table.rows for name, table in self.files.items()}


class StudyAWriter(_Shape):
    """examples/study_a: comma, UTF-8, ISO dates, decimal point, blank = not recorded."""

    folder = "study_a"
    delimiter = ","
    tables = {
        "subjects": [
            "subject_id",
            "site_id",
            "sex",
            "birth_date",
            "consent_date",
            "arm",
            "t2dm_diagnosis_date",
            "baseline_med_group",
            "status",
            "end_date",
            "end_reason",
        ],
        "visits": [
            "subject_id",
            "visit",
            "visit_date",
            "hba1c_pct",
            "c_peptide_ng_ml",
            "fpg_mg_dl",
            "weight_kg",
            "height_cm",
            "bmi_kg_m2",
        ],
        "procedures": [
            "subject_id",
            "procedure_id",
            "procedure_type",
            "procedure_date",
            "route",
            "body_site",
            "product_id",
        ],
        "cell_products": [
            "product_id",
            "subject_id",
            "harvest_procedure_id",
            "collection_date",
            "cell_type",
            "dose_1e6_cells_per_kg",
            "viability_pct",
        ],
        "medications": [
            "subject_id",
            "line_no",
            "drug_code",
            "dose",
            "dose_unit",
            "times_per_day",
            "start_date",
            "end_date",
        ],
        "adverse_events": [
            "subject_id",
            "ae_id",
            "onset_date",
            "term",
            "severity",
            "serious",
            "outcome",
        ],
    }
    date = staticmethod(iso)
    comma = False

    def write(self, s: SubjectA) -> None:
        d, f, sid = self.date, self.files, s.subject_id
        f["subjects"].write(
            [
                sid,
                SITE,
                s.sex,
                d(s.birth_date),
                d(s.consent_date),
                s.arm,
                d(s.diagnosis_date),
                s.med_group,
                s.status,
                d(s.end_date),
                self.end_reason(s.end_reason),
            ]
        )
        for v in s.visits:
            f["visits"].write([sid, v.code, d(v.date), *self.visit_values(v)])
        for p in s.procedures:
            f["procedures"].write(
                [
                    sid,
                    p.procedure_id,
                    p.kind,
                    d(p.date),
                    p.route or "",
                    p.body_site or "",
                    p.product_id or "",
                ]
            )
        for c in s.products:
            f["cell_products"].write(
                [
                    c.product_id,
                    sid,
                    c.harvest_procedure_id,
                    d(c.collection_date),
                    "MSC",
                    num(c.dose_1e6_per_kg, self.comma),
                    str(c.viability_pct),
                ]
            )
        for m in s.medications:
            f["medications"].write(
                [
                    sid,
                    str(m.line_no),
                    self.drug(m.drug),
                    str(m.dose),
                    m.unit,
                    str(m.times_per_day),
                    d(m.start),
                    d(m.end),
                ]
            )
        for a in s.adverse_events:
            f["adverse_events"].write(
                [sid, a.ae_id, d(a.onset), a.term, a.severity, "N", a.outcome]
            )

    def visit_values(self, v: Visit) -> list[str]:
        cpep = "<0.10" if v.below_loq else num(v.c_peptide_ng_ml)
        return [
            num(v.hba1c_pct),
            cpep,
            str(v.fpg_mg_dl),
            num(v.weight_kg),
            num(v.height_cm),
            num(v.bmi_kg_m2),
        ]

    def drug(self, code: str) -> str:
        return code

    def end_reason(self, code: str) -> str:
        return code


class StudyAAltWriter(StudyAWriter):
    """examples/study_a_alt: same subjects; ';', decimal comma, dd/mm/yyyy, other units."""

    folder = "study_a_alt"
    delimiter = ";"
    tables = {
        "subjects": [
            "Patient",
            "Centre",
            "Sex",
            "DOB",
            "ConsentDate",
            "Route",
            "DiagnosisDate",
            "MedGroup",
            "Status",
            "EndDate",
            "EndReason",
        ],
        "visits": [
            "Patient",
            "Visit",
            "Date",
            "HbA1c_IFCC_mmol_mol",
            "CPeptide_pmol_L",
            "Glucose_mmol_L",
            "Weight_kg",
            "Height_cm",
            "BMI",
        ],
        "procedures": ["Patient", "ProcID", "Kind", "Date", "Route", "Site", "Product"],
        "cell_products": [
            "Product",
            "Patient",
            "Harvest",
            "Date",
            "CellType",
            "Dose1e6PerKg",
            "Viability",
        ],
        "medications": ["Patient", "Line", "Drug", "Dose", "Unit", "PerDay", "Start", "End"],
        "adverse_events": ["Patient", "AE", "Onset", "Term", "Severity", "Serious", "Outcome"],
    }
    date = staticmethod(dmy)
    comma = True

    def visit_values(self, v: Visit) -> list[str]:
        hba1c = None if v.hba1c_pct is None else ifcc_mmol_mol(v.hba1c_pct)
        below = f"<{c_peptide_pmol_l(Decimal('0.10'))}"
        cpep = below if v.below_loq else num(c_peptide_pmol_l(v.c_peptide_ng_ml))
        return [
            num(hba1c),
            cpep,
            num(glucose_mmol_l(v.fpg_mg_dl), True),
            num(v.weight_kg, True),
            num(v.height_cm),
            num(v.bmi_kg_m2, True),
        ]

    def drug(self, code: str) -> str:
        return BRANDS[code]

    def end_reason(self, code: str) -> str:
        return END_REASON_TEXT[code]
