"""The pure parts of an EHR pull: the enrolment file, visit windows, which unit each analyte
is wanted in, one Observation's normalisation (values hand-computed), and one value per
analyte and day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.ehr import Enrolled, LabTargetError, lab_targets, parse_visits, read_mrns
from fhir_adapter.ehr._normalise import LabValue, Normaliser, NotFinal
from fhir_adapter.ehr._problems import Problem
from fhir_adapter.ehr._settle import assign_visits, one_per_day
from fhir_adapter.ehr._visits import place
from fhir_adapter.errors import SourceDataError
from fhir_adapter.mapping.loader import load_mapping

STUDY_A = load_mapping("mappings/study_a.yaml").spec
STUDY_A_ALT = load_mapping("mappings/study_a_alt.yaml").spec
STUDY_B = load_mapping("mappings/study_b.yaml").spec
PERSON = Enrolled(2, "S-1", "urn:mrn", "M-1", dt.date(2024, 1, 1))


# --- the enrolment file ---------------------------------------------------------------------


def test_unusable_rows_are_problems_by_row_and_never_name_the_mrn(tmp_path: Path) -> None:
    path = tmp_path / "mrns.csv"
    path.write_text(
        "subject,mrn,mrn_system,anchor_date\n"
        "S-1,MRN-111,,2024-01-01\n"  # default system: fine
        "S-2,MRN-222,urn:other,2024-13-01\n"  # no such date
        "S-3,,,2024-01-01\n"  # no MRN
        "S-4,MRN-444,,2024-01-01\n"
        "S-4,MRN-445,,2024-01-01\n"  # a subject twice
        "S-6,MRN-666,,2024-01-01\n"
        "S-7,MRN-666,,2024-01-01\n"  # one MRN for two subjects
        "\n",
        encoding="utf-8",
    )
    enrolled, problems = read_mrns(path, "urn:mrn", "anchor_date")
    assert [(e.row, e.subject, e.system, e.anchor) for e in enrolled] == [
        (2, "S-1", "urn:mrn", dt.date(2024, 1, 1))
    ]
    assert [(p.row, p.rule) for p in problems] == [(3, "mrn-file"), (4, "mrn-file")] + [
        (row, "mrn-file") for row in (5, 6, 7, 8)
    ]
    assert all("MRN-" not in p.message for p in problems)
    assert "MRN-111" not in repr(enrolled[0])


def test_rows_without_a_system_need_mrn_system(tmp_path: Path) -> None:
    path = tmp_path / "mrns.csv"
    path.write_text("subject,mrn\nS-1,M-1\n", encoding="utf-8")
    enrolled, problems = read_mrns(path, None)
    assert enrolled == [] and "--mrn-system" in problems[0].message


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mrns.csv"
    path.write_text("id,hospital_number\nS-1,M-1\n", encoding="utf-8")
    with pytest.raises(SourceDataError, match="subject, mrn"):
        read_mrns(path, "urn:mrn")


# --- visits -----------------------------------------------------------------------------------


def test_visits_parse_with_and_without_windows() -> None:
    visits = parse_visits("BL:0, M3:90±14,M6:180+-14")
    assert [(v.name, v.day, v.window) for v in visits] == [
        ("BL", 0, 0),
        ("M3", 90, 14),
        ("M6", 180, 14),
    ]
    for bad in ("M3", "M3:ninety", "M3:90±", "A:1,A:2", "EHR1:5"):
        with pytest.raises(ValueError):
            parse_visits(bad)


def test_a_value_takes_the_visit_whose_window_holds_it_else_the_nearest_flagged() -> None:
    visits = parse_visits("M3:90±14,M6:180±30")
    anchor = dt.date(2024, 1, 1)
    assert place(visits, anchor, anchor + dt.timedelta(days=100)).window == "in"
    # day 140: outside both windows, 50 from M3 and 40 from M6
    far = place(visits, anchor, anchor + dt.timedelta(days=140))
    assert (far.visit, far.window, far.day, far.distance) == ("M6", "outside", 140, 40)
    # day 135: 45 from each target, outside both: the earlier visit
    assert place(visits, anchor, anchor + dt.timedelta(days=135)).visit == "M3"
    assert place((), anchor, anchor).window == "none"


def _value(day: int, text: str, unit: str = "%", target: bool = True) -> LabValue:
    return LabValue(
        "hba1c", dt.date(2024, 1, 1) + dt.timedelta(days=day), Decimal(text), None, "%",
        unit, "4548-4", unit != "%", target,
    )  # fmt: skip


def test_one_value_per_visit_the_rest_labelled_by_date() -> None:
    visits = parse_visits("M3:90±14")
    rows = assign_visits(PERSON, [_value(80, "7.0"), _value(92, "7.1"), _value(200, "6.5")], visits)
    assert [(r.visit, r.placement.window) for r in rows] == [
        ("EHR 2024-03-21", "in"),
        ("M3", "in"),  # day 92 is nearer day 90 than day 80
        ("EHR 2024-07-19", "outside"),
    ]


# --- units ------------------------------------------------------------------------------------


def test_units_come_from_the_mapping_or_from_unit_options() -> None:
    a = lab_targets(STUDY_A)
    assert {k: t.unit for k, t in a.by_key.items()} == {
        "c_peptide": "ng/mL",
        "glucose_fasting": "mg/dL",
        "hba1c": "%",
    }
    assert a.by_code["59261-8"] == "hba1c" and a.by_code["14771-0"] == "glucose_fasting"
    with pytest.raises(LabTargetError, match="--unit hba1c=UNIT"):
        lab_targets(STUDY_B)  # its long section reads the unit from each row
    assert lab_targets(STUDY_B, {"hba1c": "mmol/mol"}).by_key["hba1c"].unit == "mmol/mol"
    with pytest.raises(LabTargetError, match="no form"):
        lab_targets(STUDY_B, {"hba1c": "mg/dL"})


def _obs(loinc: str, value: Any, unit: str | None, **extra: Any) -> dict[str, Any]:
    quantity = {"value": value, "code": unit, "system": "http://unitsofmeasure.org"}
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "effectiveDateTime": "2024-05-05",
        "valueQuantity": {k: v for k, v in quantity.items() if v is not None},
        **extra,
    }


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "expected"),
    [
        ("4548-4", 7.25, "%", ("7.25", "%", False)),  # measured in the unit: as sent
        ("59261-8", 48, "mmol/mol", ("6.5", "%", True)),  # 0.09148*48+2.152 = 6.54304
        ("1558-6", 99, "mg/dL", ("99", "mg/dL", False)),
        ("14771-0", 6.95, "mmol/L", ("125", "mg/dL", True)),  # 6.95*18.0156 = 125.21
        ("1986-9", 500, "pmol/L", ("1.51", "ng/mL", True)),  # 500*0.00302 = 1.51
        ("1986-9", 0.165, "nmol/L", ("0.50", "ng/mL", True)),  # 0.4983 half-up -> 0.50
    ],
)
def test_values_are_converted_to_the_mappings_unit(loinc, value, unit, expected) -> None:
    got = Normaliser(lab_targets(STUDY_A)).normalise(_obs(loinc, value, unit), 2, "S-1")
    assert isinstance(got, LabValue)
    assert (got.text, got.unit, got.converted) == expected


def test_a_comparator_is_kept_through_a_conversion() -> None:
    obs = _obs("1986-9", 33, "pmol/L")
    obs["valueQuantity"]["comparator"] = "<"
    got = Normaliser(lab_targets(STUDY_A)).normalise(obs, 2, "S-1")
    assert isinstance(got, LabValue) and got.text == "<0.10"  # 33*0.00302 = 0.09966


def test_a_method_form_keeps_the_measured_value_for_map_to_convert() -> None:
    # study_a_alt wants HbA1c in mmol/mol "by IFCC protocol": a % value is no IFCC result
    got = Normaliser(lab_targets(STUDY_A_ALT)).normalise(_obs("4548-4", 7.0, "%"), 2, "S-1")
    assert isinstance(got, LabValue)
    assert (got.text, got.unit, got.converted, got.measured_in_target) == ("7.0", "%", False, False)


@pytest.mark.parametrize(
    ("obs", "rule"),
    [
        (_obs("1558-6", 100, "mg"), "unit"),  # a mass, no conversion to mg/dL
        (_obs("4548-4", 7.0, None), "unit"),  # no UCUM code
        (_obs("4548-4", 7.0, "%", effectiveDateTime="2024-05"), "no-date"),
        (_obs("4548-4", 45, "%"), "range"),  # the catalogue's plausible range is 2-25 %
        ({**_obs("4548-4", 7.0, "%"), "valueQuantity": None, "valueString": "7"}, "no-value"),
    ],
)
def test_what_cannot_be_read_exactly_is_a_problem(obs, rule) -> None:
    got = Normaliser(lab_targets(STUDY_A)).normalise(obs, 2, "S-1")
    assert isinstance(got, Problem) and got.rule == rule and got.row == 2


def test_a_result_that_does_not_stand_is_counted_not_read() -> None:
    with pytest.raises(NotFinal):
        Normaliser(lab_targets(STUDY_A)).normalise(
            _obs("4548-4", 7.0, "%", status="preliminary"), 2, "S-1"
        )


def test_one_value_per_day_prefers_the_unit_measured_and_refuses_conflicts() -> None:
    same = [_value(5, "7.0"), _value(5, "6.9", "mmol/mol", target=False)]
    kept, problems, duplicates = one_per_day(PERSON, same)
    assert [v.text for v in kept] == ["7.0"] and problems == [] and duplicates == 1
    kept, problems, _ = one_per_day(PERSON, [_value(5, "7.0"), _value(5, "7.4")])
    assert kept == [] and [(p.rule, p.date) for p in problems] == [("conflict", "2024-01-06")]
