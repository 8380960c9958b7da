"""Study A as a hospital lab system exports it (examples/study_a_hospital): SYNTHETIC.

The same `SubjectA` objects as the other study A shapes, written the way a hospital's
Windows systems write them: Windows-1252 text, `;` delimiter, decimal comma, dd/mm/yyyy.

- labs in long format (one row per result) with units as the lab writes them; the lab moved
  HbA1c to IFCC mmol/mol and C-peptide to pmol/l on `UNIT_SWITCH`, so the unit changes
  within a participant's series;
- medications with the frequency as text and no line-number column;
- one procedure table for harvests and infusions: the infusion rows carry the cell product
  (dose with its unit, viability), and one column holds the harvest site or the route;
- a participants table with the randomisation stratum and no status column;
- adverse-event terms in the site's language (French), so free text is not ASCII.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from _export import CsvTable, dmy, num
from _shapes_a import c_peptide_pmol_l, ifcc_mmol_mol
from _study_a import SubjectA, Visit

ENCODING = "cp1252"
SITE_NAME = "VRI-HN – Unité de thérapie cellulaire"
# The day the lab reported HbA1c in mmol/mol (IFCC) and C-peptide in pmol/l instead of
# % and ng/ml. Both conversions round-trip: the values converted back are study A's.
UNIT_SWITCH = dt.date(2019, 4, 1)

MED_GROUPS = {"ORAL": "Oral agents", "INSULIN": "Insulin", "BOTH": "Oral agents + insulin"}
SUBGROUPS = {"True": "BMI < 23 and T2DM < 10 y", "False": "other"}
END_REASONS = {
    "COMPLETED": "Completed",
    "CONSENT_WITHDRAWN": "Consent withdrawn",
    "LOST_TO_FOLLOW_UP": "Lost to follow-up",
}
DRUGS = {
    "METFORMIN": "Metformin",
    "GLICLAZIDE": "Gliclazide MR",
    "GLIMEPIRIDE": "Glimepiride",
    "SITAGLIPTIN": "Sitagliptin",
    "INS_GLARGINE": "Insulin glargine (Lantus)",
    "INS_ASPART": "Insulin aspart (NovoRapid)",
    "INS_REGULAR": "Human insulin (Actrapid)",
    "INS_PREMIX_70_30": "Human insulin 70/30 (Mixtard 30)",
}
# Prescribers' wordings for n administrations a day (forms the adapter reads as they are).
FREQUENCIES = {
    1: ("1x/day", "once daily", "OD"),
    2: ("2x/day", "BID", "twice daily"),
    3: ("3x/day", "TID", "three times daily"),
}
AE_TERMS = {
    "Fever": "Fièvre",
    "Headache": "Céphalée",
    "Nausea": "Nausée",
    "Puncture site pain": "Douleur au point de ponction",
    "Hematoma at puncture site": "Hématome au point de ponction",
}
ROUTES = {"IV": "Intravenous", "IA": "Pancreatic artery"}
HARVEST_SITE = "Posterior iliac crest"
PROCEDURES = {"HARVEST": "Bone marrow harvest", "INFUSION": "MSC infusion"}
CAPITALISED = {
    "MILD": "Mild",
    "MODERATE": "Moderate",
    "RECOVERED": "Recovered",
    "RECOVERING": "Recovering",
}

TABLES = {
    "patients": [
        "Patient no.",
        "Site",
        "Sex",
        "Date of birth",
        "Consent date",
        "Arm",
        "Stratum",
        "T2DM diagnosed",
        "End date",
        "End reason",
    ],
    "visits": ["Patient no.", "Visit", "Date", "Weight (kg)", "Height (cm)", "BMI (kg/m²)"],
    "labs": ["Patient no.", "Sample date", "Visit", "Test", "Result", "Unit"],
    "procedures": [
        "Patient no.",
        "Procedure no.",
        "Procedure",
        "Date",
        "Site / route",
        "Product no.",
        "Cell dose",
        "Dose unit",
        "Viability (%)",
    ],
    "medications": ["Patient no.", "Drug", "Dose", "Unit", "Frequency", "Start", "Stop"],
    "adverse_events": [
        "Patient no.",
        "AE no.",
        "Onset",
        "Event",
        "Severity",
        "Serious",
        "Outcome",
    ],
}


def stratum_text(stratum: str) -> str:
    """'ORAL:True' as the hospital writes it: 'Oral agents – BMI < 23 and T2DM < 10 y'."""
    med_group, subgroup = stratum.split(":")
    return f"{MED_GROUPS[med_group]} – {SUBGROUPS[subgroup]}"


def lab_rows(v: Visit) -> list[tuple[str, str, str]]:
    """(test, result, unit) for one visit, in the unit the lab used on that day."""
    ifcc = v.date >= UNIT_SWITCH
    rows = []
    if v.hba1c_pct is not None:
        if ifcc:
            rows.append(("HBA1C", num(ifcc_mmol_mol(v.hba1c_pct)), "mmol/mol"))
        else:
            rows.append(("HBA1C", num(v.hba1c_pct, True), "%"))
    if ifcc:
        below = f"<{c_peptide_pmol_l(Decimal('0.10'))}"
        value = below if v.below_loq else num(c_peptide_pmol_l(v.c_peptide_ng_ml))
        rows.append(("CPEP", value, "pmol/l"))
    else:
        value = "<0,10" if v.below_loq else num(v.c_peptide_ng_ml, True)
        rows.append(("CPEP", value, "ng/ml"))
    rows.append(("GLU-F", str(v.fpg_mg_dl), "mg/dl"))
    return rows


class StudyAHospitalWriter:
    """examples/study_a_hospital: the same subjects as a hospital lab system exports them."""

    folder = "study_a_hospital"

    def __init__(self, out: Path) -> None:
        directory = out / self.folder
        directory.mkdir(parents=True, exist_ok=True)
        self.files = {
            name: CsvTable(directory / f"{name}.csv", header, delimiter=";", encoding=ENCODING)
            for name, header in TABLES.items()
        }

    def close(self) -> dict[str, int]:
        for table in self.files.values():
            table.close()
        return {f"{name}.csv": table.rows for name, table in self.files.items()}

    def write(self, s: SubjectA) -> None:
        f, sid = self.files, s.subject_id
        f["patients"].write(
            [
                sid,
                SITE_NAME,
                s.sex,
                dmy(s.birth_date),
                dmy(s.consent_date),
                s.arm,
                stratum_text(s.stratum),
                dmy(s.diagnosis_date),
                dmy(s.end_date),
                END_REASONS[s.end_reason],
            ]
        )
        for v in s.visits:
            f["visits"].write(
                [
                    sid,
                    v.code,
                    dmy(v.date),
                    num(v.weight_kg, True),
                    num(v.height_cm),
                    num(v.bmi_kg_m2, True),
                ]
            )
            for test, result, unit in lab_rows(v):
                f["labs"].write([sid, dmy(v.date), v.code, test, result, unit])
        self._procedures(s)
        number = int(sid.split("-")[1])
        for m in s.medications:
            wording = FREQUENCIES[m.times_per_day][(number + m.line_no) % 3]
            f["medications"].write(
                [sid, DRUGS[m.drug], str(m.dose), m.unit, wording, dmy(m.start), dmy(m.end)]
            )
        for a in s.adverse_events:
            f["adverse_events"].write(
                [
                    sid,
                    a.ae_id,
                    dmy(a.onset),
                    AE_TERMS[a.term],
                    CAPITALISED[a.severity],
                    "No",
                    CAPITALISED[a.outcome],
                ]
            )

    def _procedures(self, s: SubjectA) -> None:
        products = {c.product_id: c for c in s.products}
        for p in s.procedures:
            product = products.get(p.product_id or "")
            cells = ["", "", "", ""]
            if product is not None:
                cells = [
                    product.product_id,
                    num(product.dose_1e6_per_kg, True),
                    "10^6/kg",
                    str(product.viability_pct),
                ]
            site = HARVEST_SITE if p.kind == "HARVEST" else ROUTES[p.route or ""]
            self.files["procedures"].write(
                [s.subject_id, p.procedure_id, PROCEDURES[p.kind], dmy(p.date), site, *cells]
            )
