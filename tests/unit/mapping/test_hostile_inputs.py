"""Hostile mapping files and data folders are refused fast, precisely, and without echoing files."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import pytest

from fhir_adapter.errors import MappingSpecError, SourceDataError
from fhir_adapter.mapping import loader
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping
from fhir_adapter.pipeline import run as pipeline_run
from fhir_adapter.sources.limits import SourceLimits
from fhir_adapter.sources.tables import read_table

CATALOGUE = "diabetes-cell-therapy.yaml"
SECRET = "SECRET-CONTENT-never-shown"


def _variant(folder: Path, repo: Path, old: str = "", new: str = "") -> Path:
    """study_a.yaml copied into ``folder`` with one replacement, its catalogue beside it."""
    text = (repo / "mappings" / "study_a.yaml").read_text(encoding="utf-8")
    assert old in text, old
    (folder / "codes").mkdir(exist_ok=True)
    catalogue = (repo / "mappings" / "codes" / CATALOGUE).read_text(encoding="utf-8")
    (folder / "codes" / CATALOGUE).write_text(catalogue, encoding="utf-8")
    path = folder / "variant.yaml"
    path.write_text(text.replace(old, new, 1) if old else text, encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def _secret_outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text(f"{SECRET}\n{SECRET}\n", encoding="utf-8")
    return secret


# --- YAML aliases, nesting, size -------------------------------------------------------------


def _billion_laughs(levels: int = 10) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_fast_with_file_and_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_billion_laughs(), encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(MappingSpecError, match="alias '\\*a0' is not allowed") as error:
        load_mapping(path)
    assert time.perf_counter() - started < 1.0
    assert error.value.file == str(path)
    assert error.value.line == 2


def test_merge_key_is_an_alias_too(tmp_path, repo):
    path = _variant(
        tmp_path, repo, "tables:\n", "defaults: &csv {delimiter: ','}\ntables:\n  <<: *csv\n"
    )
    with pytest.raises(MappingSpecError, match="alias '\\*csv'") as error:
        load_mapping(path)
    assert error.value.line == _line_of(path, "<<: *csv")


def test_alias_in_an_included_catalogue_names_the_catalogue(tmp_path, repo):
    path = _variant(tmp_path, repo)
    catalogue = tmp_path / "codes" / CATALOGUE
    catalogue.write_text("codes: &c\n  routes: {}\nmore: *c\n", encoding="utf-8")
    with pytest.raises(MappingSpecError, match="alias") as error:
        load_mapping(path)
    assert error.value.file == str(catalogue)
    assert error.value.line == 3


def test_deep_nesting_is_refused(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8")
    with pytest.raises(MappingSpecError, match=f"more than {loader.MAX_NESTING} levels"):
        load_mapping(path)


def test_mapping_file_over_the_size_limit(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# padding\n" * (loader.MAX_MAPPING_BYTES // 10 + 1))
    with pytest.raises(MappingSpecError, match="larger than the 1 MiB limit") as error:
        load_mapping(path)
    assert error.value.file == str(path)


def test_mapping_that_is_not_a_regular_file(tmp_path):
    with pytest.raises(MappingSpecError, match="not a regular file"):
        load_mapping(tmp_path)


# --- path confinement at load time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        ("../x.csv", "goes up a folder"),
        ("sub/../../x.csv", "goes up a folder"),
        ("..\\\\x.csv", "goes up a folder"),
        ("/etc/passwd", "is an absolute path"),
        ("C:\\\\data\\\\x.csv", "is an absolute path"),
    ],
)
def test_table_file_outside_the_data_folder_is_refused_at_load(tmp_path, repo, file, reason):
    path = _variant(tmp_path, repo, "{file: visits.csv}", f'{{file: "{file}"}}')
    with pytest.raises(MappingSpecError, match=reason) as error:
        load_mapping(path)
    assert error.value.key == "tables.visits.file"
    assert error.value.line == _line_of(path, "visits: {file:")


def test_include_going_up_a_folder_is_refused(tmp_path, repo):
    path = _variant(tmp_path, repo, f"codes/{CATALOGUE}", f"../codes/{CATALOGUE}")
    with pytest.raises(MappingSpecError, match="goes up a folder") as error:
        load_mapping(path)
    assert error.value.key == "include"
    assert error.value.line == _line_of(path, f"../codes/{CATALOGUE}")


def test_include_symlinked_outside_the_mapping_folder_is_refused(tmp_path, repo):
    mapping_dir = tmp_path / "study"
    mapping_dir.mkdir()
    path = _variant(mapping_dir, repo)
    outside = _secret_outside(tmp_path)
    (mapping_dir / "codes" / CATALOGUE).unlink()
    os.symlink(outside, mapping_dir / "codes" / CATALOGUE)
    with pytest.raises(MappingSpecError, match="resolves outside this mapping's folder") as e:
        load_mapping(path)
    assert SECRET not in str(e.value)


# --- path confinement at open time ------------------------------------------------------------


def test_symlink_out_of_the_data_folder_is_refused_without_content(
    tmp_path, repo, tables, write_export
):
    data = write_export(tmp_path / "data", tables)
    (data / "visits.csv").unlink()
    os.symlink(_secret_outside(tmp_path), data / "visits.csv")
    mapping = StudyMapping(load_mapping(repo / "mappings" / "study_a.yaml"), data)
    with pytest.raises(SourceDataError) as error:
        list(mapping.participants())
    assert error.value.rule == "outside-data-dir"
    assert "table 'visits'" in str(error.value)
    assert SECRET not in str(error.value)


@pytest.mark.parametrize("file", ["/etc/passwd", "../outside/secret.csv"])
def test_reader_refuses_paths_outside_even_without_the_loader(tmp_path, file):
    _secret_outside(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    rows = read_table(data, file, delimiter=",", encoding="utf-8", table="t")
    with pytest.raises(SourceDataError) as error:
        next(rows)
    assert error.value.rule == "outside-data-dir"
    assert SECRET not in str(error.value) and "root:" not in str(error.value)


def test_pipeline_bounds_rows_per_participant(tmp_path, repo, tables, write_export, monkeypatch):
    tables["visits.csv"] += [dict(tables["visits.csv"][0], visit=f"M{i}") for i in range(3)]
    data = write_export(tmp_path / "data", tables)
    small = SourceLimits(max_rows_per_participant=3)
    monkeypatch.setattr(pipeline_run, "read_table", functools.partial(read_table, limits=small))
    mapping = StudyMapping(load_mapping(repo / "mappings" / "study_a.yaml"), data)
    with pytest.raises(SourceDataError) as error:
        list(mapping.participants())
    assert (error.value.file, error.value.column) == ("visits.csv", "subject_id")
    assert error.value.rule == "rows-per-participant"
    assert error.value.row == 6  # header, A-001 BL, A-002 BL, A-001 M0, M1, then M2
    assert "A-001" not in str(error.value)
