"""Mapped example studies (NDJSON as `fhir-adapter map` writes it), once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main

REPO = Path(__file__).resolve().parents[3]
VIEWS = REPO / "mappings" / "views"


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
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    return out / "ndjson"


@pytest.fixture(scope="session")
def study_ndjson(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """study name → its mapped NDJSON folder."""
    base = tmp_path_factory.mktemp("mapped")
    return {study: map_study(study, base / study) for study in ("study_a", "study_b")}
