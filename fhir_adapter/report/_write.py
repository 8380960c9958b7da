"""NDJSON folder → report: tables, analysis, figures, then the HTML file and its folder.

``--out report.html`` writes ``report.html`` and ``report_files/`` beside it (the figures as
PNG and SVG). Both are written to temporary names and moved into place when complete. They
hold aggregates only (counts, means and intervals, no identifier or date of a participant),
but small groups can still say something about a person: files are owner-only, like every
other output of the adapter, and sharing them is the user's decision.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fhir_adapter._private import private_dir, private_opener
from fhir_adapter.report._figures import Figure, draw_figures
from fhir_adapter.report._html import render_html
from fhir_adapter.report._tables import load_tables
from fhir_adapter.report.analysis import AnalysisOptions, StudyAnalysis, analyse


@dataclass(frozen=True)
class ReportResult:
    html: Path
    folder: Path
    analysis: StudyAnalysis
    figures: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "html": str(self.html),
            "figures_folder": str(self.folder),
            "figures": list(self.figures),
            "participants": self.analysis.participants,
            "arms": self.analysis.arm_sizes,
            "synthetic": self.analysis.synthetic,
        }


def figures_folder(out: Path) -> Path:
    return out.with_name(f"{out.stem}_files")


def write_report(
    ndjson_dir: Path,
    views_dir: Path,
    out: Path,
    options: AnalysisOptions | None = None,
    notes: list[str] | None = None,
) -> ReportResult:
    """Analyse the study in ``ndjson_dir`` and write ``out`` with its figures folder;
    ``notes`` (what happened before, e.g. rows a mapping rejected) are printed in it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fhir-adapter-report-", dir=out.parent) as tmp:
        work = Path(tmp)
        tables = load_tables(ndjson_dir, views_dir, work / "tables")
        analysis = analyse(tables, options)
        analysis.notes.extend(notes or [])
        figures = draw_figures(analysis)
        folder = figures_folder(out)
        staged = private_dir(work / "figures")
        for figure in figures:
            _write(staged / f"{figure.name}.png", figure.png)
            _write(staged / f"{figure.name}.svg", figure.svg)
        page = work / "report.html"
        _write(page, render_html(analysis, figures, folder.name).encode("utf-8"))
        if folder.is_dir():
            shutil.rmtree(folder)
        staged.rename(folder)
        page.replace(out)
    return ReportResult(out, folder, analysis, tuple(f.name for f in figures))


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb", opener=private_opener) as handle:
        handle.write(data)


__all__ = ["Figure", "ReportResult", "figures_folder", "write_report"]
