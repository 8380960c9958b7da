"""`fhir-adapter report` on data that went to the server and back: a private copy of each
example study is synced, pulled, and analysed; every number equals the analysis of the same
source's `map` output, and the report written from the server is byte for byte the report
written from the mapping."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.client import FhirClient
from fhir_adapter.pull import NoProgress, PullOptions, StudyRef, pull_study, shipped_views_dir
from fhir_adapter.report import analyse, load_tables

from .conftest import Study


def _identifier(study: Study) -> str:
    resource = study.expected()["ResearchStudy"][0]
    identifier = resource["identifier"][0]
    return f"{identifier['system']}|{identifier['value']}"


def _mapped(study: Study, out: Path) -> Path:
    result = CliRunner().invoke(
        main,
        [
            "map",
            "--mapping",
            str(study.mapping_path),
            "--data",
            str(study.data_dir),
            "--out",
            str(out),
            "--format",
            "ndjson",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    return out / "ndjson"


@pytest.mark.parametrize("name", ["study_a", "study_b"])
def test_report_numbers_from_the_server_equal_those_from_the_source(
    name: str, make_study, client: FhirClient, tmp_path: Path
) -> None:
    study = make_study(name, subjects=None)
    assert study.sync(client).ok
    views = shipped_views_dir()

    pulled = tmp_path / "pulled"
    pull_study(client, StudyRef.parse(_identifier(study)), PullOptions(out=pulled), NoProgress())
    from_server = analyse(load_tables(pulled / "ndjson", views, tmp_path / "t1"))
    from_source = analyse(load_tables(_mapped(study, tmp_path / "mapped"), views, tmp_path / "t2"))

    assert from_server.participants == (30 if name == "study_a" else 118)
    assert from_server.as_dict() == from_source.as_dict()
    hba1c = from_server.timecourse("hba1c")
    assert sum(p.summary.n for p in hba1c.levels if p.group == "all participants") > 100

    pages = {}
    for source, args in {
        "server": ["--server", study.server_url, "--study", _identifier(study)],
        "mapping": ["--mapping", str(study.mapping_path), "--data", str(study.data_dir)],
    }.items():
        page = tmp_path / source / "report.html"
        result = CliRunner().invoke(main, ["report", *args, "--out", str(page)])
        assert result.exit_code == 0, result.output
        pages[source] = page.read_bytes()
    assert pages["server"] == pages["mapping"]
    assert b"SYNTHETIC DATA" in pages["server"]
