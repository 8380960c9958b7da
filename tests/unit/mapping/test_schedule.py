"""Planned against actual visits (``study.schedule``): windows, missing, unscheduled."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from fhir_adapter.cli import main
from fhir_adapter.mapping.records import Origin, Participant
from fhir_adapter.mapping.schedule import HeldVisit, check_visits
from fhir_adapter.mapping.spec import VisitSchedule

REPO = Path(__file__).resolve().parents[3]
SCHEDULE = VisitSchedule.model_validate(
    {
        "anchor": "BL",
        "visits": [
            {"code": "BL", "day": 0},
            {"code": "M1", "day": 30, "early": 5, "late": 5},
            {"code": "M3", "day": 90, "early": 10, "late": 10},
        ],
    }
)


def _participant(end: str | None = None) -> Participant:
    return Participant(
        "P1", None, None, "A", "a", "2020-01-01", "on-study", end, Origin("subjects.csv", 7)
    )


def _visits(**days: int) -> list[HeldVisit]:
    start = dt.date(2020, 1, 10)
    return [
        HeldVisit(code, (start + dt.timedelta(days=day)).isoformat(), Origin("visits.csv", n))
        for n, (code, day) in enumerate(days.items(), start=2)
    ]


def _found(visits, end=None, cutoff=None):
    return [
        (f.rule, f.visit, f.day, f.window)
        for f in check_visits(SCHEDULE, _participant(end), visits, cutoff)
    ]


def test_visits_inside_their_windows_are_fine():
    assert _found(_visits(BL=0, M1=25, M3=100)) == []  # both window edges count as inside


def test_a_visit_outside_its_window_names_its_day_and_window():
    assert _found(_visits(BL=0, M1=36, M3=90)) == [("outside-window", "M1", 36, (25, 35))]
    finding = next(check_visits(SCHEDULE, _participant(), _visits(BL=0, M1=24), None))
    assert str(finding) == (
        "subjects.csv row 7: visit M1 (visits.csv row 3) on day 24, outside its window (days 25–35)"
    )


def test_a_visit_is_missing_only_once_its_whole_window_has_passed():
    # Last visit on day 95: M3's window (80–100) has not passed, M1's (25–35) has.
    assert _found(_visits(BL=0, M3=95)) == [("missing", "M1", None, (25, 35))]
    # The end of participation (day 30 after baseline) is the horizon: M1 was still open.
    assert _found(_visits(BL=0), end="2020-02-09") == []
    # Without an end date the data cut-off is the horizon.
    assert _found(_visits(BL=0), cutoff="2020-12-31") == [
        ("missing", "M1", None, (25, 35)),
        ("missing", "M3", None, (80, 100)),
    ]


def test_an_unknown_visit_and_a_missing_anchor_are_named():
    # A code the schedule lacks is source text: named by its row, never shown.
    assert _found(_visits(BL=0, M1=30, EXTRA=40)) == [("unscheduled", "", None, None)]
    (finding,) = check_visits(SCHEDULE, _participant(), _visits(BL=0, M1=30, EXTRA=40), None)
    assert str(finding) == (
        "subjects.csv row 7: the visit of visits.csv row 4 is not in the schedule (study.schedule)"
    )
    assert "EXTRA" not in json.dumps(finding.as_dict())
    assert _found(_visits(M1=30)) == [("no-anchor", "BL", None, None)]


def test_the_schedule_is_checked_at_load():
    with pytest.raises(ValidationError, match="anchor 'X' must be one of"):
        VisitSchedule.model_validate({"anchor": "X", "visits": [{"code": "BL", "day": 0}]})
    with pytest.raises(ValidationError, match="once"):
        VisitSchedule.model_validate(
            {"anchor": "BL", "visits": [{"code": "BL", "day": 0}, {"code": "BL", "day": 1}]}
        )


def test_study_b_reports_exactly_the_visits_its_export_lacks(tmp_path):
    """Counted independently from the source files: a planned month a participant has no
    lab row for, whose window closed before the end of participation (else the cut-off)."""
    result = CliRunner().invoke(
        main,
        ["map", "--mapping", str(REPO / "mappings" / "study_b.yaml")]
        + ["--data", str(REPO / "examples" / "study_b"), "--out", str(tmp_path / "o"), "--json"],
    )
    assert result.exit_code == 0, result.output
    schedule = json.loads(result.stdout)["schedule"]
    assert set(schedule["counts"]) == {"missing"}

    from openpyxl import load_workbook

    ends = {}
    sheet = load_workbook(REPO / "examples" / "study_b" / "patients.xlsx", read_only=True).active
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows))
    for row in rows:
        record = dict(zip(header, row, strict=False))
        end = record.get("EndDate")
        ends[str(record["PatientNo"])] = end.date() if hasattr(end, "date") else None
    seen: dict[str, dict[int, dt.date]] = {}
    with (REPO / "examples" / "study_b" / "labs.csv").open(encoding="utf-8-sig") as handle:
        for lab in csv.DictReader(handle, delimiter=";"):
            day = dt.datetime.strptime(lab["SampleDate"], "%d/%m/%Y").date()
            seen.setdefault(lab["PatientNo"], {})[int(lab["VisitMonth"])] = day
    cutoff = dt.date(2022, 6, 30)
    expected = 0
    for patient, visits in seen.items():
        horizon = ends.get(patient) or cutoff
        for month in [0, 1, 2, 3, *range(6, 37, 3)]:
            closes = round(30.44 * month) + 15
            if month not in visits and (horizon - visits[0]).days > closes:
                expected += 1
    assert schedule["counts"]["missing"] == expected > 0


def test_study_a_keeps_to_its_schedule(tmp_path):
    result = CliRunner().invoke(
        main,
        ["map", "--mapping", str(REPO / "mappings" / "study_a.yaml")]
        + ["--data", str(REPO / "examples" / "study_a"), "--out", str(tmp_path / "o"), "--json"],
    )
    assert json.loads(result.stdout)["schedule"] == {"counts": {}, "findings": []}


def test_a_deidentified_run_reports_no_schedule_findings(tmp_path):
    """Findings name source files and rows: they stay out of a de-identified result."""
    key = tmp_path / "key"
    key.write_bytes(b"k" * 32)
    result = CliRunner().invoke(
        main,
        ["map", "--mapping", str(REPO / "mappings" / "study_b.yaml")]
        + ["--data", str(REPO / "examples" / "study_b"), "--out", str(tmp_path / "o"), "--json"]
        + ["--deidentify", "safe-harbor", "--deid-key-file", str(key)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["schedule"] == {"counts": {}, "findings": []}
    assert "patients.xlsx" not in (tmp_path / "o" / "summary.json").read_text()
