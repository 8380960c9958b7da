"""The options and summary lines every command that maps a source shares: bad rows, and
visits against the protocol's schedule."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fhir_adapter.mapping.dependents import BadRowPolicy
from fhir_adapter.pipeline import MapReport

_MAX_NAMED = 20


def bad_row_options(
    rejects_default: str,
    *,
    strict_help: str = "The same as --on-bad-row stop.",
    extra_help: str = "",
) -> Callable[[Any], Any]:
    """``--on-bad-row``, ``--strict`` and ``--rejects``; ``rejects_default`` says in the help
    where rejected rows go when ``--rejects`` is not given."""

    def decorate(func: Any) -> Any:
        for option in reversed(
            [
                click.option(
                    "--on-bad-row",
                    type=click.Choice([p.value for p in BadRowPolicy]),
                    default=BadRowPolicy.ROW.value,
                    show_default=True,
                    help="What a bad row costs. row: that row, and the rows that depend on "
                    "it (an infusion on its rejected cell product; the participant when it "
                    "is the participant's own row); participant: all of that participant's "
                    "rows; stop: the run (exit 4)." + extra_help,
                ),
                click.option("--strict", is_flag=True, help=strict_help),
                click.option(
                    "--rejects",
                    "rejects_dir",
                    type=click.Path(file_okay=False, path_type=Path),
                    help="Folder for the rows not mapped: one CSV per table with file, row, "
                    "rule and the original cells, to correct and run again. Created "
                    f"owner-only (it holds source data). Default: {rejects_default}.",
                ),
            ]
        ):
            func = option(func)
        return func

    return decorate


def policy(on_bad_row: str, strict: bool) -> BadRowPolicy:
    return BadRowPolicy.STOP if strict else BadRowPolicy(on_bad_row)


def bad_row_lines(report: MapReport, rejects_dir: Path | None) -> list[str]:
    """What was not mapped, in a few lines: bad rows apart from the rows left out with them,
    the participants affected named by their own source row (never an identifier)."""
    if not report.errors and not report.rows_left_out:
        return []
    lines = [
        f"rows rejected {report.rows_rejected:,} (broke a rule); rows left out with them "
        f"{report.rows_left_out:,}; participants mapped without some rows "
        f"{report.participants_partial:,}, left out whole {report.participants_rejected:,}"
    ]
    subject_rows = sorted(
        {(e.subject_row.file, e.subject_row.row) for e in report.errors if e.subject_row}
    )
    if subject_rows:
        shown = ", ".join(f"{file} row {row}" for file, row in subject_rows[:_MAX_NAMED])
        extra = len(subject_rows) - _MAX_NAMED
        more = f" and {extra} more" if extra > 0 else ""
        lines.append(f"participants affected: {shown}{more}")
    if rejects_dir is not None and report.rejects_written:
        lines.append(
            f"rows not mapped written to {rejects_dir}/ (rows: {report.rejects_written:,}; "
            "owner-only: it holds source cells); correct the source and run again"
        )
    return lines


_SHOWN_FINDINGS = 10


def schedule_lines(report: MapReport) -> list[str]:
    """Visits against ``study.schedule``, counted by rule, the first few named."""
    if not report.schedule:
        return []
    counts = Counter(f.rule for f in report.schedule)
    lines = [
        "visit schedule: "
        + ", ".join(f"{rule} {n:,}" for rule, n in sorted(counts.items()))
        + " (deviations to review; see --json for all)"
    ]
    lines += [f"  {finding}" for finding in report.schedule[:_SHOWN_FINDINGS]]
    if len(report.schedule) > _SHOWN_FINDINGS:
        lines.append(f"  ... and {len(report.schedule) - _SHOWN_FINDINGS:,} more")
    return lines
