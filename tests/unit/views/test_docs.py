"""docs/views.md: its example commands run, and print and write what the page shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from fhir_adapter.cli import main

from .conftest import REPO

DOC = (REPO / "docs" / "views.md").read_text(encoding="utf-8")


def _blocks_after(marker: str) -> list[str]:
    """The fenced code blocks that follow ``marker``, in order."""
    return re.findall(r"```[a-z]*\n(.*?)```", DOC[DOC.index(marker) :], flags=re.S)


def test_the_example_commands_do_what_the_page_shows(tmp_path: Path, monkeypatch) -> None:
    commands, printed, csv_start = _blocks_after("docs-example")[:3]
    monkeypatch.chdir(REPO)
    out = f"{tmp_path}/out/"
    result = None
    for line in commands.strip().splitlines():
        argv = shlex.split(line.replace("out/", out))
        assert argv[0] == "fhir-adapter"
        result = CliRunner().invoke(main, argv[1:])
        assert result.exit_code == 0, result.output
    assert result is not None
    assert result.output.replace(out, "out/").strip() == printed.strip()
    written = (tmp_path / "out" / "a" / "observations.csv").read_text(encoding="utf-8")
    expected = csv_start.strip().splitlines()
    assert written.splitlines()[: len(expected)] == expected


def test_the_conformance_figure_matches_the_suite() -> None:
    from .test_sql_on_fhir_v2 import KNOWN_FAILURES, _cases

    total = len(_cases())
    passing = total - len(KNOWN_FAILURES)
    assert f"**{passing} of {total} pass**" in DOC
