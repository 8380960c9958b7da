"""A mapping file's problems come all at once, each with file:line [key], with a did-you-mean
wherever a name is looked up; `validate --json` lists them all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main
from fhir_adapter.errors import MappingSpecError
from fhir_adapter.mapping.loader import load_mapping

REPO = Path(__file__).resolve().parents[2]


def _typos(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    shutil.copytree(REPO / "mappings" / "codes", tmp_path / "codes")
    text = (REPO / "mappings" / "study_a.yaml").read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "typos.yaml"
    path.write_text(text, encoding="utf-8")
    return path


THREE = (
    ("analyte: hba1c", "analyte: hba1k"),
    ("IV: intravenous", "IV: intravenus"),
    ("    table: visits", "    table: visit"),
)


def test_three_typos_are_listed_in_one_run_with_guesses(tmp_path: Path) -> None:
    with pytest.raises(MappingSpecError) as caught:
        load_mapping(_typos(tmp_path, *THREE))
    problems = caught.value.problems
    assert len(problems) == 3
    assert [p.line for p in problems] == sorted(p.line or 0 for p in problems)
    shown = [p.detail for p in problems]
    assert "did you mean 'visits'?" in shown[0]
    assert "did you mean 'hba1c'?" in shown[1]
    assert "did you mean 'intravenous'?" in shown[2]
    assert str(caught.value).endswith("(and 2 more problems)")


def test_unknown_keys_anywhere_get_a_guess(tmp_path: Path) -> None:
    path = _typos(
        tmp_path, ("  subject: subject_id", "  subjekt: subject_id"), ("title:", "titel:")
    )
    with pytest.raises(MappingSpecError) as caught:
        load_mapping(path)
    messages = [p.detail for p in caught.value.problems]
    assert "unknown key 'subjekt' (did you mean 'subject'?)" in messages
    assert "unknown key 'titel' (did you mean 'title'?)" in messages
    assert not any(m == "Field required" for m in messages)  # explained by the typo


def test_the_cli_lists_every_problem_and_json_gives_them_all(tmp_path: Path) -> None:
    path = _typos(tmp_path, *THREE)
    plain = CliRunner().invoke(main, ["validate", "--mapping", str(path)])
    assert plain.exit_code == 3
    assert plain.output.count("error: ") == 3 and "3 problems in the mapping file" in plain.output
    as_json = CliRunner().invoke(main, ["validate", "--mapping", str(path), "--json"])
    assert as_json.exit_code == 3
    listed = json.loads(as_json.stdout)["problems"]
    assert [p["key"] for p in listed] == [
        "observations.0.table",
        "observations.0.values.0.analyte",
        "procedures.route.map.IV",
    ]
