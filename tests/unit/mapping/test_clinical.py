"""Clinical conventions a registry relies on (issue 9): statuses, doses, precision, codes.

Each test reads the FHIR output only (never the engine's records) and, where the claim is
about the example data, recomputes the fact from the source files independently.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_adapter.fhir import extensions as ext
from fhir_adapter.mapping.consistency import study_status_warnings
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.mapping.spec import CodeCatalogue
from fhir_adapter.mapping.units import Converter, resolve
from fhir_adapter.pipeline import StudyMapping
from fhir_adapter.sync.plan import mark_entered_in_error

REPO = Path(__file__).resolve().parents[3]
ICD10_WHO = "http://hl7.org/fhir/sid/icd-10"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
INSULIN_BRANDS = {"Lantus", "NovoMix 30", "Actrapid"}


def _variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of a shipped mapping with one text replaced (the catalogue copied beside it)."""
    source = REPO / "mappings" / name
    text = source.read_text(encoding="utf-8")
    assert old in text, old
    (tmp_path / "codes").mkdir(exist_ok=True)
    for item in (source.parent / "codes").iterdir():
        (tmp_path / "codes" / item.name).write_bytes(item.read_bytes())
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _map(mapping: Path, data: Path) -> tuple[StudyMapping, list[dict[str, Any]]]:
    run = StudyMapping(load_mapping(mapping), data)
    resources = [r for p in run.participants() for r in p.resources]
    return run, resources


def _of(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == kind]


@pytest.fixture(scope="module")
def study_b() -> tuple[StudyMapping, list[dict[str, Any]]]:
    return _map(REPO / "mappings" / "study_b.yaml", REPO / "examples" / "study_b")


@pytest.fixture(scope="module")
def catalogue() -> CodeCatalogue:
    return load_mapping(REPO / "mappings" / "study_a.yaml").spec.codes


# --- 1. ResearchSubject status ------------------------------------------------------------


def test_participants_who_left_are_off_study_with_a_coded_reason(study_b):
    run, resources = study_b
    subjects = _of(resources, "ResearchSubject")
    statuses = Counter(s["status"] for s in subjects)
    assert "withdrawn" not in statuses  # R4: withdrew before registration
    assert set(statuses) == {"off-study", "on-study"}
    reasons = Counter()
    for subject in subjects:
        found = [
            e
            for e in subject.get("extension", [])
            if e["url"] == ext.RESEARCH_SUBJECT_OFF_STUDY_REASON
        ]
        if subject["status"] == "on-study":
            assert found == [] and "end" not in subject["period"]
            continue
        assert len(found) == 1
        reasons[found[0]["valueCodeableConcept"]["coding"][0]["code"]] += 1
    assert reasons["completed"] > 0
    assert reasons["withdrawal-of-consent"] + reasons["lost-to-follow-up"] > 0


def test_entered_in_error_never_says_a_participant_withdrew():
    subject = {
        "resourceType": "ResearchSubject",
        "extension": [
            {"url": ext.RESEARCH_SUBJECT_OFF_STUDY_REASON, "valueCodeableConcept": {"text": "x"}}
        ],
        "status": "off-study",
    }
    marked = mark_entered_in_error(subject)
    assert marked is not None
    assert marked["status"] == "not-registered" and "extension" not in marked
    assert subject["status"] == "off-study"  # the input is not changed


# --- 2. Doses: what was taken, per day, computable from the resources alone ---------------


def _daily_dose(statement: dict[str, Any]) -> Decimal:
    """Total per day from the Dosage alone: dose × frequency / period (in days)."""
    dosage = statement["dosage"][0]
    dose = Decimal(str(dosage["doseAndRate"][0]["doseQuantity"]["value"]))
    repeat = dosage["timing"]["repeat"]
    assert repeat["periodUnit"] == "d"
    return dose * repeat["frequency"] / Decimal(str(repeat["period"]))


def _taking(start: str, end: str | None, day: dt.date) -> bool:
    return dt.date.fromisoformat(start) <= day and (
        end is None or day <= dt.date.fromisoformat(end)
    )


def _fhir_insulin_change(resources: list[dict[str, Any]]) -> dict[str, tuple[Decimal, Decimal]]:
    """Group II: total daily insulin at enrolment and at the end (or the cut-off), per person."""
    patients = {
        f"Patient/{p['id']}": p["identifier"][0]["value"] for p in _of(resources, "Patient")
    }
    subjects = {
        s["individual"]["reference"]: s
        for s in _of(resources, "ResearchSubject")
        if s["assignedArm"] == "group-II-insulin"
    }
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    statements = [
        s
        for s in _of(resources, "MedicationStatement")
        if any(
            c["system"] == "http://www.whocc.no/atc" and c["code"].startswith("A10A")
            for c in s["medicationCodeableConcept"]["coding"]
        )
    ]
    for reference, subject in subjects.items():
        first = dt.date.fromisoformat(subject["period"]["start"])
        mine = [s for s in statements if s["subject"]["reference"] == reference]
        asserted = {s["dateAsserted"] for s in mine}
        last = dt.date.fromisoformat(subject["period"].get("end") or asserted.pop())
        totals[patients[reference]] = tuple(  # type: ignore[assignment]
            sum(
                (
                    _daily_dose(s)
                    for s in mine
                    if _taking(s["effectivePeriod"]["start"], s["effectivePeriod"].get("end"), day)
                ),
                Decimal(0),
            )
            for day in (first, last)
        )
    return totals


def _source_insulin_change(folder: Path) -> dict[str, tuple[Decimal, Decimal]]:
    """The same, from patients.xlsx and medications.csv, without the adapter."""
    from openpyxl import load_workbook

    sheet = load_workbook(folder / "patients.xlsx", read_only=True)["Patients"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    patients = [
        dict(zip(header, row + (None,) * (len(header) - len(row)), strict=True)) for row in rows[1:]
    ]

    def dmy(text: str) -> dt.date:
        return dt.datetime.strptime(text, "%d/%m/%Y").date()

    with (folder / "medications.csv").open(encoding="utf-8-sig", newline="") as handle:
        lines = [r for r in csv.DictReader(handle, delimiter=";") if r["Drug"] in INSULIN_BRANDS]
    cutoff = dt.date(2022, 6, 30)
    totals = {}
    for p in patients:
        if p["Group"] != "II":
            continue
        first = p["EnrolmentDate"].date()
        last = p["EndDate"].date() if p["EndDate"] else cutoff
        mine = [r for r in lines if r["PatientNo"] == p["PatientNo"]]
        totals[p["PatientNo"]] = tuple(
            sum(
                (
                    Decimal(r["DailyDose"])
                    for r in mine
                    if dmy(r["StartDate"]) <= day and (not r["EndDate"] or day <= dmy(r["EndDate"]))
                ),
                Decimal(0),
            )
            for day in (first, last)
        )
    return totals


def test_group_ii_insulin_change_is_computable_from_fhir_and_matches_the_source(study_b):
    _, resources = study_b
    fhir = _fhir_insulin_change(resources)
    source = _source_insulin_change(REPO / "examples" / "study_b")
    assert fhir == source
    changes = [end - start for start, end in fhir.values()]
    assert len(changes) > 40
    assert sum(changes) / len(changes) > 5  # group II insulin doses increase (examples/README)
    assert all(
        s["dosage"][0].get("maxDosePerPeriod") is None
        for s in _of(resources, "MedicationStatement")
    )


def test_a_dose_change_ends_a_line_with_its_reason_not_as_a_stopped_drug(study_b):
    _, resources = study_b
    statements = _of(resources, "MedicationStatement")
    by_key = {s["identifier"][0]["value"]: s for s in statements}
    changed = [s for s in statements if "statusReason" in s]
    assert len(changed) > 50
    for s in changed:
        assert s["status"] == "completed"
        follower_line = s["statusReason"][0]["text"].rsplit(" ", 1)[-1]
        person = s["identifier"][0]["value"].split("/")[0]
        follower = by_key[f"{person}/{follower_line}"]
        assert follower["medicationCodeableConcept"] == s["medicationCodeableConcept"]
        gap = dt.date.fromisoformat(follower["effectivePeriod"]["start"]) - dt.date.fromisoformat(
            s["effectivePeriod"]["end"]
        )
        assert gap.days in (0, 1)
    assert {s["dateAsserted"] for s in statements} == {"2022-06-30"}  # study.data_cutoff


# --- 3. Precision -------------------------------------------------------------------------


PRECISION = [  # analyte, from, to, value, expected: issue 9's table, rounded half-up
    ("hba1c", "%", "mmol/mol", "6.5", "48"),  # 47.529… (banker's 2-decimal gave 47.53)
    ("hba1c", "%", "mmol/mol", "7.0", "53"),
    ("hba1c", "mmol/mol", "%", "53", "7.0"),
    ("c_peptide_fasting", "ng/mL", "pmol/L", "1", "331"),  # was 331.13
    ("c_peptide_fasting", "ng/mL", "nmol/L", "1", "0.331"),
    ("c_peptide_fasting", "pmol/L", "ng/mL", "331", "1.00"),
    ("glucose_fasting", "mg/dL", "mmol/L", "100", "5.6"),
    ("glucose_fasting", "mmol/L", "mg/dL", "5.5", "99"),
]


def _converter(catalogue: CodeCatalogue, analyte: str, source: str, target: str) -> Converter:
    a = catalogue.analytes[analyte]
    decimals = a.forms[target].decimals
    assert decimals is not None
    return resolve(
        source,
        target,
        molar_mass=a.molar_mass_g_per_mol,
        equations=a.conversions,
        decimals=decimals,
    )


@pytest.mark.parametrize(("analyte", "source", "target", "value", "expected"), PRECISION)
def test_conversions_use_each_units_reporting_precision(
    catalogue, analyte, source, target, value, expected
):
    result = _converter(catalogue, analyte, source, target)(Decimal(value))
    assert str(result) == expected


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=3))
def test_halves_round_up_as_laboratories_do(units: int, decimals: int):
    step = Decimal(1).scaleb(-decimals)
    half = units * step + step / 2
    assert Converter(Decimal(1), Decimal(0), decimals)(half) == (units + 1) * step


@given(st.integers(min_value=40, max_value=200))  # HbA1c 4.0–20.0 %, one decimal as reported
def test_hba1c_round_trip_stays_within_reporting_precision(catalogue, tenths: int):
    pct = Decimal(tenths).scaleb(-1)
    ifcc = _converter(catalogue, "hba1c", "%", "mmol/mol")(pct)
    assert ifcc == ifcc.to_integral_value()
    back = _converter(catalogue, "hba1c", "mmol/mol", "%")(ifcc)
    assert abs(back - pct) <= Decimal("0.1")


PAIRS = [
    (analyte, source, target)
    for analyte in ("hba1c", "c_peptide_fasting", "glucose_fasting")
    for source in ("%", "mmol/mol", "ng/mL", "nmol/L", "pmol/L", "mg/dL", "mmol/L")
    for target in ("%", "mmol/mol", "ng/mL", "nmol/L", "pmol/L", "mg/dL", "mmol/L")
    if source != target
]


@pytest.mark.parametrize(("analyte", "source", "target"), PAIRS)
@given(
    a=st.decimals(min_value=1, max_value=500, places=2),
    b=st.decimals(min_value=1, max_value=500, places=2),
)
def test_every_conversion_is_monotonic_and_at_the_targets_precision(
    catalogue, analyte, source, target, a, b
):
    forms = catalogue.analytes[analyte].forms
    if source not in forms or target not in forms:
        return
    convert = _converter(catalogue, analyte, source, target)
    low, high = sorted((a, b))
    assert convert(low) <= convert(high)
    assert convert(high).as_tuple().exponent == -(forms[target].decimals or 0)


# --- 4. Codes that assert no more than the source says ------------------------------------


def test_hba1c_converted_from_percent_keeps_the_measured_code(tmp_path, write_export, tables):
    mapping = _variant(
        tmp_path,
        "study_a.yaml",
        '{column: hba1c_pct, analyte: hba1c, unit: "%"}',
        '{column: hba1c_pct, analyte: hba1c, unit: "%", convert_to: mmol/mol}',
    )
    run, resources = _map(mapping, write_export(tmp_path / "data", tables))
    assert run.report.errors == []
    hba1c = [
        o for o in _of(resources, "Observation") if o["identifier"][0]["value"].endswith("/hba1c")
    ]
    assert hba1c
    for o in hba1c:
        assert [c["code"] for c in o["code"]["coding"]] == ["4548-4"]  # not 59261-8
        assert o["valueQuantity"]["code"] == "%"
        (converted,) = o["extension"]
        assert converted["url"] == ext.OBSERVATION_CONVERTED_VALUE
        assert converted["valueQuantity"]["code"] == "mmol/mol"
        assert Decimal(converted["valueQuantity"]["value"]).as_tuple().exponent == 0


def test_c_peptide_is_coded_fasting_only_where_the_mapping_says_so(tmp_path, write_export, tables):
    data = write_export(tmp_path / "data", tables)
    _, plain = _map(REPO / "mappings" / "study_a.yaml", data)
    fasting_mapping = _variant(
        tmp_path, "study_a.yaml", "analyte: c_peptide,", "analyte: c_peptide_fasting,"
    )
    _, fasting = _map(fasting_mapping, data)

    def codes(resources):
        return {
            o["code"]["coding"][0]["code"]
            for o in _of(resources, "Observation")
            if "c_peptide" in o["identifier"][0]["value"]
        }

    assert codes(plain) == {"1986-9"} and codes(fasting) == {"13037-7"}


def test_msc_infusion_is_not_coded_as_a_marrow_transplant(tmp_path, write_export, tables):
    _, resources = _map(REPO / "mappings" / "study_a.yaml", write_export(tmp_path, tables))
    infusions = [p for p in _of(resources, "Procedure") if "INF" in p["identifier"][0]["value"]]
    assert infusions
    for p in infusions:
        assert "coding" not in p["code"] and "mesenchymal stromal" in p["code"]["text"]


def test_study_b_marrow_cell_implantation_keeps_23719005(study_b):
    _, resources = study_b
    implants = [
        p
        for p in _of(resources, "Procedure")
        if p["code"].get("coding") and p["code"]["coding"][0]["code"] == "23719005"
    ]
    assert len(implants) == 52  # one per group I product


@pytest.mark.parametrize(
    ("edition", "kept", "dropped"), [(None, ICD10_WHO, ICD10_CM), ("cm", ICD10_CM, ICD10_WHO)]
)
def test_icd10_edition_is_the_studys_choice_who_by_default(
    tmp_path, write_export, tables, edition, kept, dropped
):
    mapping = REPO / "mappings" / "study_a.yaml"
    if edition:
        mapping = _variant(
            tmp_path,
            "study_a.yaml",
            "  status: completed\n",
            f"  status: completed\n  icd10: {edition}\n",
        )
    _, resources = _map(mapping, write_export(tmp_path / "data", tables))
    systems = {c["system"] for r in _of(resources, "Condition") for c in r["code"]["coding"]}
    assert kept in systems and dropped not in systems


def test_premixed_insulin_is_coded_by_ingredient_level_atc_never_a_package(study_b):
    _, resources = study_b
    premix = [
        s
        for s in _of(resources, "MedicationStatement")
        if s["medicationCodeableConcept"]["coding"][-1]["code"] == "A10AD05"
    ]
    assert premix
    for s in premix:
        concept = s["medicationCodeableConcept"]
        assert [c["system"] for c in concept["coding"]] == ["http://www.whocc.no/atc"]
        assert "Pen" not in concept["text"] and "aspart" in concept["text"]


# --- 5. Study status from the data --------------------------------------------------------


def test_study_b_status_matches_its_participants(study_b):
    run, resources = study_b
    assert run.report.warnings == []
    (study,) = [r for r in run.study_resources() if r["resourceType"] == "ResearchStudy"]
    assert study["status"] == "closed-to-accrual"
    assert any(s["status"] == "on-study" for s in _of(resources, "ResearchSubject"))


def test_a_completed_study_with_participants_on_study_is_warned(tmp_path):
    mapping = _variant(
        tmp_path, "study_b.yaml", "  status: closed-to-accrual\n", "  status: completed\n"
    )
    run, _ = _map(mapping, REPO / "examples" / "study_b")
    (warning,) = run.report.warnings
    assert "'completed'" in warning and "on-study" in warning
    assert "B0" not in warning  # counts only, no participant
    assert run.report.as_dict()["warnings"] == [warning]


@pytest.mark.parametrize(
    ("study", "participants", "warned"),
    [
        ("completed", {"off-study": 3}, False),
        ("completed", {"off-study": 3, "follow-up": 1}, True),
        ("administratively-completed", {"on-study-intervention": 2}, True),
        ("active", {"on-study": 5}, False),
        ("approved", {"on-study": 1}, True),
        ("closed-to-accrual-and-intervention", {"on-study-intervention": 1}, True),
        ("closed-to-accrual-and-intervention", {"follow-up": 1}, False),
    ],
)
def test_study_status_warnings(study, participants, warned):
    assert bool(study_status_warnings(study, Counter(participants))) is warned
