"""The rules that turn rows into analysis inputs, on hand-made participants."""

from __future__ import annotations

import datetime as dt

from fhir_adapter.report._cohort import (
    Cohort,
    DateRange,
    Measurement,
    MedicationLine,
    Participant,
    date_range,
    visit_of,
)
from fhir_adapter.report._medication import medication_changes
from fhir_adapter.report._response import subgroup_classifiers
from fhir_adapter.report._schedule import analyte_values, build_schedule

D = dt.date
ENROLLED = D(2019, 7, 1)


def test_visit_is_read_between_subject_and_analyte() -> None:
    assert visit_of("A-001/M3/hba1c", "A-001") == "M3"
    assert visit_of("A-001/week 2/day 3/hba1c", "A-001") == "week 2/day 3"
    assert visit_of("A-0011/M3/hba1c", "A-001") is None  # another subject
    assert visit_of("A-001/hba1c", "A-001") is None
    assert visit_of(None, "A-001") is None


def test_a_partial_date_is_the_range_it_stands_for() -> None:
    assert date_range("2008") == DateRange(D(2008, 1, 1), D(2008, 12, 31))
    assert date_range("2008-02") == DateRange(D(2008, 2, 1), D(2008, 2, 29))
    assert date_range("2008-12") == DateRange(D(2008, 12, 1), D(2008, 12, 31))
    assert date_range("2008-03-12T10:00:00Z") == DateRange(D(2008, 3, 12), D(2008, 3, 12))


def _cohort(**kwargs: object) -> Cohort:
    base: dict[str, object] = {
        "title": "t",
        "description": "",
        "arms": ["x"],
        "participants": {},
        "measurements": [],
        "onsets": {},
        "first_infusion": {},
        "medications": [],
        "adverse_events": [],
    }
    base.update(kwargs)
    return Cohort(**base)  # type: ignore[arg-type]


def _p(pid: str, enrolled: dt.date = ENROLLED, end: dt.date | None = None) -> Participant:
    return Participant(pid, pid.upper(), "x", enrolled, "on-study", end)


def _m(pid: str, visit: str, analyte: str, value: float, day: dt.date, **kw: object) -> Measurement:
    return Measurement(
        pid, visit, analyte, value, kw.get("unit", "ng/mL"), kw.get("comparator"), day
    )  # type: ignore[arg-type]


def test_duration_straddling_the_cutoff_is_not_classified() -> None:
    participants = {p: _p(p) for p in ("a", "b", "c")}
    onsets = {
        "a": date_range("2009"),  # 9.5 to 10.5 years before 2019-07-01: straddles 10
        "b": date_range("2008"),  # 10.5 to 11.5 years: >= 10 y
        "c": date_range("2010-06-01"),  # 9.1 years: < 10 y
    }
    cohort = _cohort(
        participants=participants,
        onsets=onsets,
        measurements=[_m(p, "BL", "hba1c", 9.0, D(2019, 1, 2), unit="%") for p in participants],
    )
    schedule = build_schedule(cohort)
    (_, classify) = subgroup_classifiers(cohort, schedule, None)["diabetes duration"]
    assert [classify(participants[p]) for p in "abc"] == [
        None,
        "duration >= 10 y",
        "duration < 10 y",
    ]


def test_below_a_limit_counts_half_the_limit_and_other_units_are_left_out() -> None:
    cohort = _cohort(
        participants={"a": _p("a"), "b": _p("b"), "c": _p("c")},
        measurements=[
            _m("a", "BL", "c_peptide", 0.10, D(2019, 1, 2), comparator="<"),
            _m("b", "BL", "c_peptide", 0.80, D(2019, 1, 2)),
            _m("c", "BL", "c_peptide", 300.0, D(2019, 1, 2), unit="pmol/L"),
        ],
    )
    values = analyte_values(cohort, "c_peptide")
    assert values is not None
    assert values.unit == "ng/mL" and values.values == {("a", "BL"): 0.05, ("b", "BL"): 0.80}
    assert values.below_limit == 1 and dict(values.other_units) == {"pmol/L": 1}


def _line(
    pid: str, drug: str, atc: str, start: dt.date, end: dt.date | None, total: float
) -> MedicationLine:
    return MedicationLine(
        pid, drug, atc, start, end, total, "mg" if atc.startswith("A10B") else "[IU]"
    )


def test_dose_lowering_after_the_first_infusion_by_baseline_group() -> None:
    infusion = D(2019, 2, 1)
    lines = [
        # a: insulin only; lowered on 2019-03-02 (20 → 12 IU/day), raised again on 2019-06-01
        _line("a", "glargine", "A10AE04", D(2018, 1, 1), D(2019, 3, 1), 20),
        _line("a", "glargine", "A10AE04", D(2019, 3, 2), D(2019, 5, 31), 12),
        _line("a", "glargine", "A10AE04", D(2019, 6, 1), None, 18),
        # b: oral only; its dose changed before the infusion (not counted), then unchanged
        _line("b", "metformin", "A10BA02", D(2018, 1, 1), D(2019, 1, 10), 1000),
        _line("b", "metformin", "A10BA02", D(2019, 1, 11), None, 500),
        # c: insulin + oral; stops gliclazide on 2019-04-01, before the end of study
        _line("c", "metformin", "A10BA02", D(2018, 1, 1), None, 1700),
        _line("c", "gliclazide", "A10BB09", D(2018, 1, 1), D(2019, 4, 1), 160),
        _line("c", "aspart", "A10AB05", D(2018, 1, 1), None, 30),
        # d: oral only; its line ends on the day the study ends: not a stop
        _line("d", "metformin", "A10BA02", D(2018, 1, 1), D(2020, 1, 1), 1000),
    ]
    participants = {p: _p(p, end=D(2020, 1, 1)) for p in "abcde"}
    cohort = _cohort(
        participants=participants,
        medications=lines,
        first_infusion={p: infusion for p in "abcd"},  # e had no infusion
    )
    result = medication_changes(cohort)
    assert [g.as_dict() for g in result.groups] == [
        {"group": "insulin only", "participants": 1, "lowered": 1, "raised_later": 1, "share": 1.0},
        {
            "group": "oral drugs only",
            "participants": 2,
            "lowered": 0,
            "raised_later": 0,
            "share": 0.0,
        },
        {
            "group": "insulin + oral drugs",
            "participants": 1,
            "lowered": 1,
            "raised_later": 0,
            "share": 1.0,
        },
        {"group": "all", "participants": 4, "lowered": 2, "raised_later": 1, "share": 0.5},
    ]
