"""`init` drafts a mapping for each example export that, once its TODOs are filled with the
values the committed mapping uses, validates and maps exactly as many resources."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from fhir_adapter.cli import main
from fhir_adapter.errors import MappingSpecError
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping

REPO = Path(__file__).resolve().parents[3]
# Every site-export folder under examples/. examples/ehr_labs is not one: it is a FHIR Bundle
# seeding a test server as a hospital's record system (for ehr-pull), with no mapping.
EXAMPLES = {
    "study_a": "study_a.yaml",
    "study_a_alt": "study_a_alt.yaml",
    "study_b": "study_b.yaml",
    "study_a_redcap": "study_a_redcap.yaml",
    "study_a_hospital": "study_a_hospital.yaml",
}
# Lists in a mapping are matched item by item through the key that names the item.
ITEM_KEYS = ("code", "column", "table")


def _item(committed: list[Any], drafted: dict[str, Any], where: str) -> Any:
    for key in ITEM_KEYS:
        if key in drafted and drafted[key] != "TODO":
            for candidate in committed:
                if isinstance(candidate, dict) and candidate.get(key) == drafted[key]:
                    return candidate
    raise AssertionError(f"{where}: no committed item like {drafted}")


def _has_todo(node: Any) -> bool:
    if isinstance(node, dict):
        return any(_has_todo(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_todo(v) for v in node)
    return node == "TODO"


def _count_todos(node: Any) -> int:
    if isinstance(node, dict):
        return sum(_count_todos(v) for v in node.values())
    if isinstance(node, list):
        return sum(_count_todos(v) for v in node)
    return int(node == "TODO")


def fill(drafted: Any, committed: Any, where: str = "") -> int:
    """Replace every TODO by the committed mapping's value at the same key; count them.
    A TODO at a key the committed mapping does not have fails the test."""
    filled = 0
    if isinstance(drafted, dict):
        assert isinstance(committed, dict), where
        for key, value in drafted.items():
            path = f"{where}.{key}"
            if value == "TODO":
                assert key in committed, f"TODO at {path}: the committed mapping has no value"
                drafted[key] = committed[key]
                filled += 1
            elif _has_todo(value):
                assert key in committed, path
                filled += fill(value, committed[key], path)
    elif isinstance(drafted, list):
        for index, value in enumerate(drafted):
            if _has_todo(value):
                filled += fill(value, _item(committed, value, where), f"{where}[{index}]")
    return filled


def _resources(mapping_path: Path, data: Path) -> tuple[dict[str, int], bool]:
    mapping = StudyMapping(load_mapping(mapping_path), data)
    study = mapping.study_resources()
    for _ in mapping.participants():
        pass
    counts = dict(mapping.report.resources)
    assert counts, "nothing mapped"
    assert study
    return counts, mapping.report.ok


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A mappings folder with the code catalogue, where a draft is written."""
    shutil.copytree(REPO / "mappings" / "codes", tmp_path / "mappings" / "codes")
    return tmp_path / "mappings"


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_filled_draft_maps_as_the_committed_mapping(example: str, workspace: Path) -> None:
    data = REPO / "examples" / example
    out = workspace / "draft.yaml"
    result = CliRunner().invoke(main, ["init", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "include: [codes/diabetes-cell-therapy.yaml]" in text

    # Unfilled, the draft is refused, each TODO named by its key.
    with pytest.raises(MappingSpecError) as refused:
        load_mapping(out)
    todos = [p for p in refused.value.problems if "still TODO" in p.detail]
    yaml = YAML(typ="safe")
    drafted = yaml.load(text)
    assert len(todos) == len(refused.value.problems) == _count_todos(drafted)
    assert "study.key" in {p.key for p in todos}

    committed = yaml.load((REPO / "mappings" / EXAMPLES[example]).read_text(encoding="utf-8"))
    assert fill(drafted, committed) == len(todos)
    filled = workspace / "filled.yaml"
    writer = YAML(typ="safe", pure=True)
    writer.default_flow_style = False
    with filled.open("w", encoding="utf-8") as handle:
        writer.dump(drafted, handle)

    expected, expected_ok = _resources(REPO / "mappings" / EXAMPLES[example], data)
    got, ok = _resources(filled, data)
    assert ok and expected_ok
    assert got == expected


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "draft.yaml"
    out.write_text("mine\n", encoding="utf-8")
    data = str(REPO / "examples" / "study_a")
    refused = CliRunner().invoke(main, ["init", "--data", data, "--out", str(out)])
    assert refused.exit_code == 7
    assert "--force" in refused.output
    assert out.read_text(encoding="utf-8") == "mine\n"
    forced = CliRunner().invoke(main, ["init", "--data", data, "--out", str(out), "--force"])
    assert forced.exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("# Draft mapping")


def test_stdout_draft_and_include_outside_the_folder(tmp_path: Path) -> None:
    data = str(REPO / "examples" / "study_a")
    printed = CliRunner().invoke(main, ["init", "--data", data])
    assert printed.exit_code == 0
    assert "format: fhir-adapter/mapping/v1" in printed.output
    # Written where the catalogue is neither beside nor below: the include is a TODO that says why.
    CliRunner().invoke(main, ["init", "--data", data, "--out", str(tmp_path / "x.yaml")])
    text = (tmp_path / "x.yaml").read_text(encoding="utf-8")
    assert "include: TODO" in text
    assert "copy it into a codes/ folder next to this" in text


def test_every_site_export_folder_is_drafted() -> None:
    folders = {p.name for p in (REPO / "examples").iterdir() if p.is_dir()}
    # Not site exports: an EHR seed for ehr-pull, and a registry's profiles.
    assert folders - {"ehr_labs", "registry_profiles"} == set(EXAMPLES)


def test_frequency_texts_the_parser_cannot_read_are_todo(tmp_path: Path) -> None:
    (tmp_path / "subjects.csv").write_text("subject,sex\nP1,M\nP2,F\n", encoding="utf-8")
    (tmp_path / "medications.csv").write_text(
        "subject,drug,dose,unit,frequency,start\n"
        "P1,Metformin,500,mg,BID,2019-01-02\n"
        "P1,Metformin,850,mg,mane,2019-03-04\n"
        "P2,Metformin,500,mg,2x/day,2019-01-05\n",
        encoding="utf-8",
    )
    drafted = YAML(typ="safe").load(
        CliRunner().invoke(main, ["init", "--data", str(tmp_path)]).stdout
    )["medications"]
    # The map is the whole table: forms it reads map to themselves, the others are TODO.
    assert drafted["frequency"] == {
        "column": "frequency",
        "map": {"BID": "BID", "mane": "TODO", "2x/day": "2x/day"},
    }
    assert drafted["line"] == "TODO"


def test_hospital_draft_decides_what_the_files_say(workspace: Path) -> None:
    data = str(REPO / "examples" / "study_a_hospital")
    out = workspace / "h.yaml"
    assert CliRunner().invoke(main, ["init", "--data", data, "--out", str(out)]).exit_code == 0
    drafted = YAML(typ="safe").load(out.read_text(encoding="utf-8"))
    assert drafted["source"]["encoding"] == "cp1252"
    assert all("encoding" not in t for t in drafted["tables"].values())
    labs = drafted["observations"][0]
    assert labs["unit"]["map"] == {
        "%": "%",
        "ng/ml": "ng/mL",
        "mg/dl": "mg/dL",
        "mmol/mol": "mmol/mol",
        "pmol/l": "pmol/L",
    }
    assert labs["convert"] == {"hba1c": "TODO", "c_peptide": {"to": "ng/mL"}}
    assert drafted["medications"]["frequency"] == "Frequency"
    assert drafted["products"]["where"] == "TODO"
    assert drafted["products"]["dose_unit"]["map"] == {"10^6/kg": "10*6/kg"}
    assert (drafted["procedures"]["route"], drafted["procedures"]["body_site"]) == ("TODO", "TODO")
    assert drafted["adverse_events"]["id"] == "AE no."
    text = out.read_text(encoding="utf-8")
    assert "e.g. [Drug, Start] (tells every line of this export apart)" in text
