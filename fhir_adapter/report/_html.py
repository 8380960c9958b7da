"""One self-contained HTML page from an analysis and its figures.

Figures are embedded as base64 PNG (``data:`` URLs) and the style sheet is inline: the page
loads nothing from anywhere, so it can be mailed or archived as one file. Every text that
comes from the data (study title, arm names, visit codes) is HTML-escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from html import escape

from fhir_adapter import __version__
from fhir_adapter.report._figures import LABELS, Figure
from fhir_adapter.report._stats import Difference, Summary
from fhir_adapter.report.analysis import StudyAnalysis

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
.synthetic { background: #b00020; color: white; font-weight: bold; padding: .5rem 1rem;
             letter-spacing: .1em; text-align: center; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; }
figcaption { font-size: .9rem; color: #444; } figcaption b { color: #222; }
table { border-collapse: collapse; font-size: .85rem; margin: .8rem 0; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.notes { font-size: .85rem; color: #555; }
"""


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _interval(low: float | None, high: float | None, digits: int = 2) -> str:
    if low is None or high is None:
        return "–"
    return f"{_number(low, digits)} to {_number(high, digits)}"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary_cells(s: Summary) -> list[object]:
    return [s.n, _number(s.mean), _interval(s.low, s.high)]


def _difference_cells(d: Difference | None) -> list[object]:
    if d is None:
        return ["–", "–"]
    return [_number(d.difference), _interval(d.low, d.high)]


def _figure(figure: Figure, folder: str) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    return (
        f'<figure id="{escape(figure.name)}"><img alt="{escape(figure.title)}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption><b>{escape(figure.title)}.</b> {escape(figure.method)} "
        f"(Also as {escape(folder)}/{escape(figure.name)}.png and .svg.)</figcaption></figure>"
    )


def render_html(analysis: StudyAnalysis, figures: list[Figure], folder: str) -> str:
    """The page; ``folder`` is the name of the folder beside it holding the figure files."""
    shown = {f.name: _figure(f, folder) for f in figures}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(analysis.title or 'Study report')}</title>",
        f"<style>{_STYLE}</style></head><body>",
    ]
    if analysis.synthetic:
        parts.append(
            '<div class="synthetic">SYNTHETIC DATA: no value belongs to a real person</div>'
        )
    parts.append(f"<h1>{escape(analysis.title or 'Study report')}</h1>")
    parts.append(
        "<p>"
        + escape(
            f"{analysis.participants} participants: "
            + ", ".join(f"{arm} {n}" for arm, n in analysis.arm_sizes.items())
            + f". Visits: {', '.join(analysis.schedule.codes())} (baseline "
            f"{analysis.schedule.baseline})."
        )
        + "</p>"
    )
    for course in analysis.timecourses:
        label = LABELS[course.analyte]
        parts.append(f"<h2>{escape(label)}</h2>")
        parts.append(shown[f"{course.analyte}_by_arm"])
        parts.append(shown[f"{course.analyte}_change"])
        follow = analysis.follow_up(course.analyte)
        parts.append(
            "<p>"
            + escape(
                f"Over follow-up: each participant's mean {label} over the visits after "
                f"baseline, summarized by arm (mean, t-based 95 % CI); the difference is "
                f"{' minus '.join(follow.arms) or 'not defined'} (Welch 95 % interval)."
            )
            + "</p>"
        )
        parts.append(
            _table(
                [
                    "group",
                    "n",
                    f"baseline mean ({course.unit})",
                    "95 % CI",
                    "n",
                    f"follow-up mean ({course.unit})",
                    "95 % CI",
                ],
                [
                    [
                        group,
                        *_summary_cells(follow.baseline[group]),
                        *_summary_cells(follow.follow_up[group]),
                    ]
                    for group in follow.baseline
                ],
            )
        )
        if follow.difference is not None:
            parts.append(
                _table(
                    ["follow-up difference", "difference", "Welch 95 % CI"],
                    [[" − ".join(follow.arms), *_difference_cells(follow.difference)]],
                )
            )
    for result in analysis.responses:
        label = LABELS[result.analyte]
        parts.append(f"<h2>{escape(label)} response at {escape(result.visit)}</h2>")
        parts.append(shown[f"{result.analyte}_response"])
        rows = []
        for factor in result.factors:
            for index, level in enumerate(factor.levels):
                difference = _difference_cells(factor.difference) if index == 0 else ["", ""]
                unclassified = factor.unclassified if index == 0 else ""
                rows.append(
                    [
                        factor.name,
                        level.name,
                        *_summary_cells(level.summary),
                        *difference,
                        unclassified,
                    ]
                )
        parts.append(
            _table(
                [
                    "split",
                    "level",
                    "n",
                    f"mean change ({result.unit})",
                    "95 % CI",
                    "first − second",
                    "Welch 95 % CI",
                    "not classified",
                ],
                rows,
            )
        )
    if analysis.medication is not None:
        parts.append("<h2>Diabetes medicines after the first infusion</h2>")
        parts.append(shown["medication_lowered"])
        parts.append(
            _table(
                [
                    "baseline medication",
                    "participants",
                    "lowered a dose",
                    "%",
                    "raised again later",
                ],
                [
                    [
                        g.group,
                        g.participants,
                        g.lowered,
                        _number(100 * (g.share or 0.0), 0),
                        g.raised_later,
                    ]
                    for g in analysis.medication.groups
                ],
            )
        )
    parts.append("<h2>Safety</h2>")
    parts.append(shown["adverse_events"])
    parts.append(
        _table(
            ["arm", "seriousness", "events", "participants with ≥ 1", "arm size"],
            [
                [r.arm, r.seriousness, r.events, r.participants, r.arm_size]
                for r in analysis.safety.rows
            ],
        )
    )
    severity = sorted({s for counts in analysis.safety.severity.values() for s in counts})
    if severity:
        parts.append(
            _table(
                ["arm", *(f"{s} events" for s in severity)],
                [
                    [arm, *(counts.get(s, 0) for s in severity)]
                    for arm, counts in analysis.safety.severity.items()
                ],
            )
        )
    parts.append("<h2>Completeness</h2>")
    parts.append(shown["completeness"])
    arms = analysis.arms
    visits = list(dict.fromkeys(c.visit for c in analysis.completeness))
    cell = {(c.visit, c.arm): f"{c.present}/{c.planned}" for c in analysis.completeness}
    parts.append(
        _table(
            ["visit", *(f"{arm}: present/planned" for arm in arms)],
            [[v, *(cell.get((v, arm), "–") for arm in arms)] for v in visits],
        )
    )
    notes = [*analysis.notes]
    notes.append(
        "Every number comes from the study's FHIR resources through the SQL-on-FHIR views "
        "of the fhir-adapter (participants, observations, conditions, procedures, "
        f"medications, adverse_events, studies); fhir-adapter {__version__}."
    )
    parts.append('<div class="notes">' + "".join(f"<p>{escape(n)}</p>" for n in notes) + "</div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
