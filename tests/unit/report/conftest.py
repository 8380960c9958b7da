"""The example studies mapped by `fhir-adapter map` and analysed, once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.pull import shipped_views_dir
from fhir_adapter.report import load_tables
from fhir_adapter.report.analysis import StudyAnalysis, analyse

REPO = Path(__file__).resolve().parents[3]


def map_study(study: str, out: Path) -> Path:
    result = CliRunner().invoke(
        main,
        [
            "map",
            "--mapping",
            str(REPO / "mappings" / f"{study}.yaml"),
            "--data",
            str(REPO / "examples" / study),
            "--out",
            str(out),
            "--format",
            "ndjson",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    return out / "ndjson"


@pytest.fixture(scope="session")
def mapped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """study name → its mapped NDJSON folder."""
    base = tmp_path_factory.mktemp("report-mapped")
    return {s: map_study(s, base / s) for s in ("study_a", "study_b")}


@pytest.fixture(scope="session")
def analysed(
    mapped: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, StudyAnalysis]:
    base = tmp_path_factory.mktemp("report-tables")
    return {
        study: analyse(load_tables(folder, shipped_views_dir(), base / study))
        for study, folder in mapped.items()
    }
