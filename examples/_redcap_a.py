"""Study A as a REDCap project would export it (examples/study_a_redcap): SYNTHETIC.

A longitudinal project: the `enrolment` form and the repeating `procedure`, `cell_product`,
`medication` and `adverse_event` forms in event `enrolment_arm_1`, the `visit` form in one
event per visit. `redcap_export.csv` is the raw export (one row per record, event and repeat
instance; choice fields as raw codes; checkbox `baseline_therapy` as one 0/1 column per
choice; dates YYYY-MM-DD), `data_dictionary.csv` the project's data dictionary. The values
are those of the same `SubjectA` objects the other study A shapes write.
"""

from __future__ import annotations

from pathlib import Path

from _export import CsvTable, iso, num
from _study_a import SubjectA

DICTIONARY_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]

ARMS = {"IV": "1", "IA": "2"}
ROUTES = "1, Intravenous | 2, Pancreatic artery"
DRUGS = {
    "METFORMIN": ("1", "Metformin"),
    "GLICLAZIDE": ("2", "Gliclazide"),
    "GLIMEPIRIDE": ("3", "Glimepiride"),
    "SITAGLIPTIN": ("4", "Sitagliptin"),
    "INS_GLARGINE": ("5", "Insulin glargine"),
    "INS_ASPART": ("6", "Insulin aspart"),
    "INS_REGULAR": ("7", "Regular human insulin"),
    "INS_PREMIX_70_30": ("8", "Premixed human insulin 70/30"),
}
END_REASONS = {"COMPLETED": "1", "CONSENT_WITHDRAWN": "2", "LOST_TO_FOLLOW_UP": "3"}
THERAPY = {"ORAL": ("1", "0"), "INSULIN": ("0", "1"), "BOTH": ("1", "1")}
EVENTS = {
    "BL": "baseline_arm_1",
    "H48": "hour_48_arm_1",
    "M1": "month_1_arm_1",
    "M3": "month_3_arm_1",
    "M6": "month_6_arm_1",
    "M12": "month_12_arm_1",
}
ENROLMENT_EVENT = "enrolment_arm_1"

# (field, form, type, label, choices, validation), in dictionary order.
FIELDS: list[tuple[str, str, str, str, str, str]] = [
    ("record_id", "enrolment", "text", "Study number", "", ""),
    ("sex", "enrolment", "radio", "Sex", "1, Male | 2, Female", ""),
    ("birth_date", "enrolment", "text", "Date of birth", "", "date_ymd"),
    ("consent_date", "enrolment", "text", "Date of consent", "", "date_dmy"),
    ("arm", "enrolment", "radio", "Randomised route", ROUTES, ""),
    ("t2dm_diagnosis_date", "enrolment", "text", "Date of T2DM diagnosis", "", "date_ymd"),
    (
        "baseline_therapy",
        "enrolment",
        "checkbox",
        "Diabetes therapy at baseline",
        "1, Oral agents | 2, Insulin",
        "",
    ),
    ("status", "enrolment", "radio", "Study status", "1, Completed | 2, Withdrawn", ""),
    ("end_date", "enrolment", "text", "Date of study end", "", "date_ymd"),
    (
        "end_reason",
        "enrolment",
        "dropdown",
        "Reason for study end",
        "1, Completed | 2, Consent withdrawn | 3, Lost to follow-up",
        "",
    ),
    ("visit_date", "visit", "text", "Visit date", "", "date_ymd"),
    ("hba1c_pct", "visit", "text", "HbA1c (%)", "", "number"),
    ("c_peptide_ng_ml", "visit", "text", "C-peptide (ng/mL; <0.10 below quantification)", "", ""),
    ("fpg_mg_dl", "visit", "text", "Fasting plasma glucose (mg/dL)", "", "integer"),
    ("weight_kg", "visit", "text", "Weight (kg)", "", "number"),
    ("height_cm", "visit", "text", "Height (cm)", "", "integer"),
    ("bmi_kg_m2", "visit", "text", "BMI (kg/m2)", "", "number"),
    ("procedure_id", "procedure", "text", "Procedure id", "", ""),
    (
        "procedure_type",
        "procedure",
        "dropdown",
        "Procedure",
        "1, Bone marrow harvest | 2, MSC infusion",
        "",
    ),
    ("procedure_date", "procedure", "text", "Procedure date", "", "date_ymd"),
    ("proc_route", "procedure", "radio", "Infusion route", ROUTES, ""),
    ("body_site", "procedure", "dropdown", "Target organ", "1, Pancreas", ""),
    ("infused_product_id", "procedure", "text", "Product infused", "", ""),
    ("product_id", "cell_product", "text", "Product id", "", ""),
    ("harvest_procedure_id", "cell_product", "text", "Harvest procedure id", "", ""),
    ("collection_date", "cell_product", "text", "Collection date", "", "date_ymd"),
    ("cell_type", "cell_product", "dropdown", "Cell type", "1, Mesenchymal stromal cells", ""),
    ("dose_1e6_per_kg", "cell_product", "text", "Dose (10^6 cells/kg)", "", "number"),
    ("viability_pct", "cell_product", "text", "Viability (%)", "", "integer"),
    (
        "drug",
        "medication",
        "dropdown",
        "Drug",
        " | ".join(f"{code}, {label}" for code, label in DRUGS.values()),
        "",
    ),
    ("dose", "medication", "text", "Dose per administration", "", "number"),
    ("dose_unit", "medication", "radio", "Dose unit", "1, mg | 2, IU", ""),
    ("times_per_day", "medication", "text", "Administrations per day", "", "integer"),
    ("med_start_date", "medication", "text", "Start date", "", "date_ymd"),
    ("med_end_date", "medication", "text", "End date", "", "date_ymd"),
    ("ae_id", "adverse_event", "text", "Adverse event id", "", ""),
    ("ae_onset", "adverse_event", "text", "Onset date", "", "date_ymd"),
    ("ae_term", "adverse_event", "text", "Event term", "", ""),
    ("ae_severity", "adverse_event", "radio", "Severity", "1, Mild | 2, Moderate | 3, Severe", ""),
    ("ae_serious", "adverse_event", "yesno", "Serious?", "", ""),
    ("ae_outcome", "adverse_event", "dropdown", "Outcome", "1, Recovered | 2, Recovering", ""),
]
FORMS = list(dict.fromkeys(form for _, form, *_ in FIELDS))


def _export_columns() -> list[str]:
    """The raw export header: REDCap's own columns, then each form's fields and status."""
    columns = [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    ]
    for form in FORMS:
        for name, field_form, kind, _, choices, _ in FIELDS:
            if field_form != form or name == "record_id":
                continue
            if kind == "checkbox":
                columns += [f"{name}___{c.split(',')[0].strip()}" for c in choices.split("|")]
            else:
                columns.append(name)
        columns.append(f"{form}_complete")
    return columns


class StudyARedcapWriter:
    """examples/study_a_redcap: the same subjects as one REDCap raw export + dictionary."""

    folder = "study_a_redcap"

    def __init__(self, out: Path) -> None:
        directory = out / self.folder
        directory.mkdir(parents=True, exist_ok=True)
        dictionary = CsvTable(directory / "data_dictionary.csv", DICTIONARY_HEADER)
        for name, form, kind, label, choices, validation in FIELDS:
            dictionary.write([name, form, "", kind, label, choices, "", validation] + [""] * 10)
        dictionary.close()
        self.fields = dictionary.rows
        self.columns = _export_columns()
        self.export = CsvTable(directory / "redcap_export.csv", self.columns)

    def close(self) -> dict[str, int]:
        self.export.close()
        return {"redcap_export.csv": self.export.rows, "data_dictionary.csv": self.fields}

    def _row(self, sid: str, event: str, form: str, instance: int | None, **values: str) -> None:
        repeat = "" if instance is None else form
        cells = {
            "record_id": sid,
            "redcap_event_name": event,
            "redcap_repeat_instrument": repeat,
            "redcap_repeat_instance": "" if instance is None else str(instance),
            f"{form}_complete": "2",
            **values,
        }
        self.export.write([cells.get(column, "") for column in self.columns])

    def write(self, s: SubjectA) -> None:
        sid = s.subject_id
        oral, insulin = THERAPY[s.med_group]
        self._row(
            sid,
            ENROLMENT_EVENT,
            "enrolment",
            None,
            sex="1" if s.sex == "M" else "2",
            birth_date=iso(s.birth_date),
            consent_date=iso(s.consent_date),
            arm=ARMS[s.arm],
            t2dm_diagnosis_date=iso(s.diagnosis_date),
            baseline_therapy___1=oral,
            baseline_therapy___2=insulin,
            status="1" if s.status == "COMPLETED" else "2",
            end_date=iso(s.end_date),
            end_reason=END_REASONS[s.end_reason],
        )
        for n, p in enumerate(s.procedures, start=1):
            self._row(
                sid,
                ENROLMENT_EVENT,
                "procedure",
                n,
                procedure_id=p.procedure_id,
                procedure_type="1" if p.kind == "HARVEST" else "2",
                procedure_date=iso(p.date),
                proc_route=ARMS[p.route] if p.route else "",
                body_site="1" if p.body_site == "PANCREAS" else "",
                infused_product_id=p.product_id or "",
            )
        for n, c in enumerate(s.products, start=1):
            self._row(
                sid,
                ENROLMENT_EVENT,
                "cell_product",
                n,
                product_id=c.product_id,
                harvest_procedure_id=c.harvest_procedure_id,
                collection_date=iso(c.collection_date),
                cell_type="1",
                dose_1e6_per_kg=num(c.dose_1e6_per_kg),
                viability_pct=str(c.viability_pct),
            )
        for m in s.medications:
            self._row(
                sid,
                ENROLMENT_EVENT,
                "medication",
                m.line_no,
                drug=DRUGS[m.drug][0],
                dose=str(m.dose),
                dose_unit="1" if m.unit == "mg" else "2",
                times_per_day=str(m.times_per_day),
                med_start_date=iso(m.start),
                med_end_date=iso(m.end),
            )
        for n, a in enumerate(s.adverse_events, start=1):
            self._row(
                sid,
                ENROLMENT_EVENT,
                "adverse_event",
                n,
                ae_id=a.ae_id,
                ae_onset=iso(a.onset),
                ae_term=a.term,
                ae_severity={"MILD": "1", "MODERATE": "2", "SEVERE": "3"}[a.severity],
                ae_serious="0",
                ae_outcome="1" if a.outcome == "RECOVERED" else "2",
            )
        for v in s.visits:
            self._row(
                sid,
                EVENTS[v.code],
                "visit",
                None,
                visit_date=iso(v.date),
                hba1c_pct=num(v.hba1c_pct),
                c_peptide_ng_ml="<0.10" if v.below_loq else num(v.c_peptide_ng_ml),
                fpg_mg_dl=str(v.fpg_mg_dl),
                weight_kg=num(v.weight_kg),
                height_cm=num(v.height_cm),
                bmi_kg_m2=num(v.bmi_kg_m2),
            )
