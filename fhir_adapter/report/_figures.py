"""The report's figures, drawn with matplotlib (Agg, no display) from a ``StudyAnalysis``.

Each figure comes with its method: the sentence printed under it that says what is plotted
and how the numbers were made. PNG and SVG bytes are rendered without a timestamp, so the
same analysis gives the same files.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 (the backend is chosen first)
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402

from fhir_adapter.report._medication import MedicationChanges  # noqa: E402
from fhir_adapter.report._response import Response  # noqa: E402
from fhir_adapter.report._safety import Safety, VisitCount  # noqa: E402
from fhir_adapter.report._schedule import Schedule  # noqa: E402
from fhir_adapter.report._timecourse import ALL, Timecourse, TimePoint  # noqa: E402
from fhir_adapter.report.analysis import StudyAnalysis  # noqa: E402

LABELS = {"hba1c": "HbA1c", "c_peptide": "C-peptide"}
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f")
CI = "t-based 95 % confidence interval of the mean (mean ± t(0.975, n−1)·SD/√n)"


@dataclass(frozen=True)
class Figure:
    name: str  # file stem, e.g. hba1c_by_arm
    title: str
    method: str
    png: bytes
    svg: bytes


def draw_figures(analysis: StudyAnalysis) -> list[Figure]:
    plt.rcParams["svg.hashsalt"] = "fhir-adapter-report"  # stable ids inside the SVG
    figures: list[Figure] = []
    for course in analysis.timecourses:
        figures.append(_level_figure(analysis, course))
        figures.append(_change_figure(analysis, course))
    for result in analysis.responses:
        figures.append(_response_figure(analysis, result))
    if analysis.medication is not None:
        figures.append(_medication_figure(analysis.medication))
    figures.append(_safety_figure(analysis.arms, analysis.safety))
    figures.append(_completeness_figure(analysis.arms, analysis.completeness))
    return figures


def _render(name: str, title: str, method: str, draw: Callable[[MplFigure], None]) -> Figure:
    figure = plt.figure(figsize=(7.5, 4.2), dpi=100)
    try:
        draw(figure)
        figure.tight_layout()
        png, svg = io.BytesIO(), io.BytesIO()
        figure.savefig(png, format="png", metadata={"Software": None})
        figure.savefig(svg, format="svg", metadata={"Date": None})
    finally:
        plt.close(figure)
    return Figure(name, title, method, png.getvalue(), svg.getvalue())


def _unit_note(course: Timecourse) -> str:
    notes = []
    if course.below_limit:
        notes.append(f"{course.below_limit} result(s) reported below a limit (<L) entered as L/2")
    if course.above_limit:
        notes.append(f"{course.above_limit} result(s) reported above a limit entered as the limit")
    for unit, n in sorted(course.left_out_units.items()):
        notes.append(f"{n} result(s) in {unit or 'no unit'} left out (not converted)")
    return (" " + "; ".join(notes) + ".") if notes else ""


def _x_axis(ax: Axes, schedule: Schedule) -> None:
    dated = [v for v in schedule.visits if v.month is not None]
    ax.set_xticks([v.month or 0.0 for v in dated])
    span = max((v.month or 0.0 for v in dated), default=1.0) or 1.0
    labels, last = [], None
    for v in dated:  # a label too close to the previous one would overprint it
        month = v.month or 0.0
        labels.append(v.code if last is None or month - last > span / 40 else "")
        last = month if labels[-1] else last
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_xlabel("visit (placed at its median time after baseline, months)")
    ax.grid(alpha=0.3)


def _bands(ax: Axes, points: tuple[TimePoint, ...], arms: list[str]) -> None:
    for index, arm in enumerate(arms):
        shown = [
            p
            for p in points
            if p.group == arm and p.summary.mean is not None and p.month is not None
        ]
        if not shown:
            continue
        colour = COLOURS[index % len(COLOURS)]
        xs = [p.month or 0.0 for p in shown]
        ax.plot(
            xs, [p.summary.mean or 0.0 for p in shown], "o-", color=colour, label=arm, markersize=4
        )
        banded = [p for p in shown if p.summary.low is not None]
        ax.fill_between(
            [p.month or 0.0 for p in banded],
            [p.summary.low or 0.0 for p in banded],
            [p.summary.high or 0.0 for p in banded],
            color=colour,
            alpha=0.18,
            linewidth=0,
        )
    ax.legend(fontsize=8, frameon=False)


def _level_figure(analysis: StudyAnalysis, course: Timecourse) -> Figure:
    label = LABELS[course.analyte]

    def draw(figure: MplFigure) -> None:
        ax = figure.add_subplot()
        _bands(ax, course.levels, analysis.arms)
        _x_axis(ax, analysis.schedule)
        ax.set_ylabel(f"{label} ({course.unit})")

    method = (
        f"Mean {label} per visit and arm, each participant's result at that visit "
        f"(LOINC-coded Observations, unit {course.unit}); shaded: {CI}. A visit's time is "
        "the median time from enrolment to its results, relative to the baseline visit "
        f"{analysis.schedule.baseline}; visits with no {label} result have no point."
        + _unit_note(course)
    )
    return _render(f"{course.analyte}_by_arm", f"{label} over time by arm", method, draw)


def _change_figure(analysis: StudyAnalysis, course: Timecourse) -> Figure:
    label = LABELS[course.analyte]

    def draw(figure: MplFigure) -> None:
        ax = figure.add_subplot()
        ax.axhline(0, color="black", linewidth=0.8)
        _bands(ax, course.changes, analysis.arms)
        _x_axis(ax, analysis.schedule)
        ax.set_ylabel(f"change in {label} ({course.unit})")

    method = (
        f"Mean change in {label} from baseline ({analysis.schedule.baseline}) per visit and arm: "
        "each participant's value at the visit minus their own baseline value (participants "
        f"without both are left out of that visit); shaded: {CI}." + _unit_note(course)
    )
    return _render(
        f"{course.analyte}_change", f"Change in {label} from baseline by arm", method, draw
    )


def _response_figure(analysis: StudyAnalysis, result: Response) -> Figure:
    label = LABELS[result.analyte]
    rows = [(f.name, lv) for f in result.factors for lv in f.levels]

    def draw(figure: MplFigure) -> None:
        ax = figure.add_subplot()
        ys = list(range(len(rows)))[::-1]
        for y, (factor, level) in zip(ys, rows, strict=True):
            s = level.summary
            if s.mean is None:
                continue
            colour = COLOURS[[f.name for f in result.factors].index(factor) % len(COLOURS)]
            ax.plot([s.mean], [y], "o", color=colour)
            if s.low is not None and s.high is not None:
                ax.plot([s.low, s.high], [y, y], "-", color=colour)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(ys)
        ax.set_yticklabels([f"{lv.name} (n={lv.summary.n})" for _, lv in rows], fontsize=8)
        ax.set_xlabel(f"change in {label} at {result.visit} ({result.unit})")
        ax.grid(alpha=0.3, axis="x")

    method = (
        f"Mean change in {label} from baseline to visit {result.visit} by subgroup and arm, "
        f"with the {CI}. Subgroups: BMI at the baseline visit < 23 vs ≥ 23 kg/m²; diabetes "
        "duration at enrolment < 10 vs ≥ 10 years (earliest Condition onset to the "
        "ResearchSubject period start; a year-only onset whose range straddles 10 years is "
        "not classified); both favourable (BMI < 23 and duration < 10 y) vs the others. The "
        "table below gives the difference between the two levels of each split with "
        "Welch's 95 % interval."
    )
    return _render(
        f"{result.analyte}_response", f"{label} response by subgroup and arm", method, draw
    )


def _medication_figure(result: MedicationChanges) -> Figure:
    def draw(figure: MplFigure) -> None:
        ax = figure.add_subplot()
        groups = list(result.groups)
        shares = [100 * (g.share or 0.0) for g in groups]
        bars = ax.bar(range(len(groups)), shares, color=COLOURS[0])
        for bar, g in zip(bars, groups, strict=True):
            ax.annotate(
                f"{g.lowered}/{g.participants}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([g.group for g in groups], fontsize=8)
        ax.set_ylim(0, 110)
        ax.set_ylabel("% who lowered a dose")

    method = (
        "Share of participants with a cell infusion (a Procedure that used a cell product) "
        "who lowered a diabetes-medicine dose after their first infusion, by the medicines "
        "running on that day (ATC A10A insulins, A10B other glucose-lowering drugs). A "
        "lowering is a MedicationStatement line of a drug followed within a day by a line of "
        "the same drug with a lower total daily dose (same unit), or a drug stopped before "
        "the participant's end of study."
        + (
            f" {result.not_comparable} change(s) whose daily totals could not be compared "
            "are not counted as lowerings."
            if result.not_comparable
            else ""
        )
    )
    return _render("medication_lowered", "Dose lowered after the first infusion", method, draw)


def _safety_figure(arms: list[str], safety: Safety) -> Figure:
    kinds = sorted({r.seriousness for r in safety.rows})

    def draw(figure: MplFigure) -> None:
        ax = figure.add_subplot()
        bottom = [0] * len(arms)
        for index, kind in enumerate(kinds):
            counts = [
                sum(r.events for r in safety.rows if r.arm == arm and r.seriousness == kind)
                for arm in arms
            ]
            ax.bar(arms, counts, bottom=bottom, label=kind, color=COLOURS[index % len(COLOURS)])
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        ax.set_ylabel("adverse events")
        ax.tick_params(axis="x", labelsize=8)
        if kinds:
            ax.legend(fontsize=8, frameon=False)

    method = (
        "Number of adverse events (AdverseEvent resources with actuality 'actual') by arm, "
        "stacked by seriousness (R4 adverse-event-seriousness). The table gives events and "
        "participants with at least one event per arm."
    )
    return _render("adverse_events", "Adverse events by arm and seriousness", method, draw)


def _completeness_figure(arms: list[str], rows: tuple[VisitCount, ...]) -> Figure:
    visits = list(dict.fromkeys(r.visit for r in rows))

    def draw(figure: MplFigure) -> None:
        ax = figure.add_subplot()
        width = 0.8 / max(len(arms), 1)
        for index, arm in enumerate(arms):
            shown = [r for r in rows if r.arm == arm]
            xs = [visits.index(r.visit) + (index - (len(arms) - 1) / 2) * width for r in shown]
            ys = [100 * r.present / r.planned if r.planned else 0.0 for r in shown]
            ax.bar(xs, ys, width=width, label=arm, color=COLOURS[index % len(COLOURS)])
        ax.set_xticks(range(len(visits)))
        ax.set_xticklabels(visits, fontsize=8)
        ax.set_ylim(0, 105)
        ax.set_ylabel("% of participants with results")
        ax.set_xlabel("visit")
        ax.legend(fontsize=8, frameon=False, loc="lower left")

    method = (
        "Visits present per arm and visit: participants with at least one HbA1c, C-peptide "
        "or BMI result at the visit, out of all participants of the arm. The planned visits "
        "are the visit codes seen in the study (no schedule is stored), so a visit after a "
        "withdrawal or not yet due at the data cut-off counts as absent."
    )
    return _render("completeness", "Visits planned vs present", method, draw)


__all__ = ["ALL", "Figure", "draw_figures"]
