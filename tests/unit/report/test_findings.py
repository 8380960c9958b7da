"""The findings built into the example data (examples/README.md) come out of the report's
analysis of the mapped resources, in the direction the publications report."""

from __future__ import annotations

from fhir_adapter.report._timecourse import ALL
from fhir_adapter.report.analysis import StudyAnalysis

FAVOURABLE, OTHERS = "BMI < 23 and duration < 10 y", "others"


def test_study_a_schedule_baseline_and_response_visit(analysed: dict[str, StudyAnalysis]) -> None:
    a = analysed["study_a"]
    assert a.schedule.codes() == ["BL", "H48", "M1", "M3", "M6", "M12"]
    assert a.schedule.baseline == "BL" and a.response_visit == "M6"
    assert a.arm_sizes == {"intravenous": 15, "intra-arterial": 15}
    assert a.synthetic


def test_study_a_good_responders_drop_more_hba1c(analysed: dict[str, StudyAnalysis]) -> None:
    combined = analysed["study_a"].response("hba1c").factor("BMI and duration")
    good, others = combined.level(FAVOURABLE), combined.level(OTHERS)
    assert good.n + others.n == 28  # two withdrawals have no M6
    assert good.mean is not None and others.mean is not None
    assert good.mean < -1.3 and -1.0 < others.mean < -0.3  # README: ~1.6 vs ~0.4-0.7
    assert combined.difference is not None and combined.difference.high is not None
    assert combined.difference.high < 0  # the interval of good - others is below zero


def test_study_a_route_has_no_effect_beyond_noise(analysed: dict[str, StudyAnalysis]) -> None:
    for analyte in ("hba1c", "c_peptide"):
        route = analysed["study_a"].response(analyte).factor("arm")
        assert route.difference is not None and not route.difference.excludes_zero, analyte
    hba1c = analysed["study_a"].response("hba1c").factor("arm")
    assert all(level.summary.mean is not None and level.summary.mean < 0 for level in hba1c.levels)


def test_study_a_c_peptide_rises_in_the_good_subgroup(analysed: dict[str, StudyAnalysis]) -> None:
    combined = analysed["study_a"].response("c_peptide").factor("BMI and duration")
    good, others = combined.level(FAVOURABLE), combined.level(OTHERS)
    assert good.low is not None and good.low > 0
    assert others.mean is not None and abs(others.mean) < 0.1
    assert analysed["study_a"].timecourse("c_peptide").below_limit == 5


def test_study_a_partial_rebound_at_month_12(analysed: dict[str, StudyAnalysis]) -> None:
    hba1c = analysed["study_a"].timecourse("hba1c")
    m6, m12, bl = (hba1c.level(v, ALL).mean for v in ("M6", "M12", "BL"))
    assert m6 is not None and m12 is not None and bl is not None
    assert m6 < m12 < bl


def test_study_a_more_than_half_lower_a_dose(analysed: dict[str, StudyAnalysis]) -> None:
    medication = analysed["study_a"].medication
    assert medication is not None
    total = medication.group("all")
    assert total.participants == 30 and total.lowered / total.participants > 0.5
    assert 0 < total.raised_later < total.lowered  # some go back up later
    assert {g.group for g in medication.groups} == {
        "insulin only",
        "oral drugs only",
        "insulin + oral drugs",
        "all",
    }


def test_study_a_adverse_events_all_non_serious(analysed: dict[str, StudyAnalysis]) -> None:
    safety = analysed["study_a"].safety
    assert {r.seriousness for r in safety.rows} == {"Non-serious"}
    assert 6 <= sum(r.events for r in safety.rows) <= 10


def test_study_b_group_i_lower_hba1c_over_follow_up(analysed: dict[str, StudyAnalysis]) -> None:
    b = analysed["study_b"]
    assert b.arms == ["group-I-bm-mnc", "group-II-insulin"]
    hba1c = b.follow_up("hba1c")
    assert hba1c.difference is not None and hba1c.difference.high is not None
    assert hba1c.difference.high < 0  # group I - group II, whole interval below zero
    course = b.timecourse("hba1c")
    for visit in b.schedule.codes()[4:]:  # from month 6 on, at every visit
        one = course.level(visit, "group-I-bm-mnc").mean
        two = course.level(visit, "group-II-insulin").mean
        assert one is not None and two is not None and one < two, visit


def test_study_b_c_peptide_up_in_group_i_only(analysed: dict[str, StudyAnalysis]) -> None:
    course = analysed["study_b"].timecourse("c_peptide")
    month_36 = course.change("36", "group-I-bm-mnc")
    assert month_36.low is not None and month_36.low > 0
    control = course.change("36", "group-II-insulin")
    assert control.mean is not None and control.mean < 0.05


def test_study_b_adverse_events_only_in_group_ii(analysed: dict[str, StudyAnalysis]) -> None:
    safety = analysed["study_b"].safety
    assert safety.events("group-I-bm-mnc") == 0
    assert safety.events("group-II-insulin") > 0


def test_study_b_completeness_counts_missed_visits(analysed: dict[str, StudyAnalysis]) -> None:
    rows = analysed["study_b"].completeness
    baseline = [r for r in rows if r.visit == "0"]
    assert [(r.arm, r.planned, r.present) for r in baseline] == [
        ("group-I-bm-mnc", 52, 52),
        ("group-II-insulin", 66, 66),
    ]
    assert all(r.present <= r.planned for r in rows)
    assert any(r.present < r.planned for r in rows)
