"""Each source limit raises SourceDataError naming file, row, column and rule, never the value."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from fhir_adapter.errors import SourceDataError
from fhir_adapter.mapping import loader
from fhir_adapter.sources.limits import DEFAULT_LIMITS, SourceLimits
from fhir_adapter.sources.tables import read_table

REPO = Path(__file__).resolve().parents[3]
HIDDEN = "HIDDEN"  # planted in the offending cell: it must never reach a message


def _csv(folder: Path, rows: list[list[str]], name: str = "t.csv") -> str:
    with (folder / name).open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return name


def _xlsx(folder: Path, rows: list[list[str]], name: str = "t.xlsx") -> str:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(folder / name)
    return name


def _read(folder: Path, name: str, limits: SourceLimits = DEFAULT_LIMITS, **kw) -> list:
    return list(read_table(folder, name, delimiter=",", encoding="utf-8", limits=limits, **kw))


def _refused(folder: Path, name: str, limits: SourceLimits = DEFAULT_LIMITS, **kw):
    with pytest.raises(SourceDataError) as error:
        _read(folder, name, limits, **kw)
    assert HIDDEN not in str(error.value)
    return error.value


def test_default_values():
    assert DEFAULT_LIMITS.max_file_bytes == 2 * 1024**3
    assert DEFAULT_LIMITS.max_cell_chars == 65_536
    assert DEFAULT_LIMITS.max_rows_per_participant == 100_000


@pytest.mark.parametrize("write", [_csv, _xlsx])
def test_cell_over_the_limit_names_row_and_column(tmp_path, write):
    name = write(tmp_path, [["id", "note"], ["1", "ok"], ["2", HIDDEN + "x" * 10]])
    error = _refused(tmp_path, name, SourceLimits(max_cell_chars=10))
    assert (error.file, error.row, error.column, error.rule) == (name, 3, "note", "cell-size")


def test_cell_at_the_default_limit_passes_and_one_more_is_refused(tmp_path):
    limit = DEFAULT_LIMITS.max_cell_chars
    name = _csv(tmp_path, [["id", "note"], ["1", "x" * limit], ["2", HIDDEN + "x" * limit]])
    error = _refused(tmp_path, name)
    assert (error.row, error.column, error.rule) == (3, "note", "cell-size")


def test_cell_past_the_csv_modules_own_limit_is_a_cell_size_error(tmp_path):
    name = _csv(tmp_path, [["id", "note"], ["1", "ok"], ["2", HIDDEN + "x" * 200_000]])
    error = _refused(tmp_path, name, SourceLimits(max_cell_chars=10**6))
    assert (error.row, error.rule) == (3, "cell-size")


def test_header_cell_over_the_limit(tmp_path):
    name = _csv(tmp_path, [["id", HIDDEN * 10], ["1", "2"]])
    error = _refused(tmp_path, name, SourceLimits(max_cell_chars=20))
    assert (error.row, error.column, error.rule) == (1, "#2", "cell-size")


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    name = _csv(tmp_path, [["id"], [HIDDEN * 20]])
    error = _refused(tmp_path, name, SourceLimits(max_file_bytes=50))
    assert (error.file, error.row, error.rule) == (name, None, "file-size")


def test_workbook_that_unpacks_past_the_size_limit(tmp_path):
    name = _xlsx(tmp_path, [["id"], *[[HIDDEN] for _ in range(500)]])
    on_disk = (tmp_path / name).stat().st_size
    with zipfile.ZipFile(tmp_path / name) as archive:
        assert sum(i.file_size for i in archive.infolist()) > on_disk
    error = _refused(tmp_path, name, SourceLimits(max_file_bytes=on_disk))
    assert error.rule == "file-size" and "unpacks" in error.detail


@pytest.mark.parametrize("write", [_csv, _xlsx])
def test_rows_per_participant(tmp_path, write):
    rows = [["subject", "v"], ["A", "1"], ["B", "1"], ["A", "2"], ["A", "3"]]
    name = write(tmp_path, rows)
    limits = SourceLimits(max_rows_per_participant=2)
    assert len(_read(tmp_path, name, limits)) == 4  # without a subject column: no count
    error = _refused(tmp_path, name, limits, subject_column="subject")
    assert (error.row, error.column, error.rule) == (5, "subject", "rows-per-participant")
    assert "'A'" not in str(error)


def test_missing_column_error_shows_header_names_cut_short(tmp_path):
    name = _csv(tmp_path, [["id", "n" * 100], ["1", HIDDEN]])
    error = _refused(tmp_path, name, required_columns=["visit"])
    assert error.rule == "missing-column"
    assert "n" * 37 + "..." in str(error) and "n" * 41 not in str(error)


def test_directory_named_as_a_table_is_not_a_regular_file(tmp_path):
    (tmp_path / "t.csv").mkdir()
    error = _refused(tmp_path, "t.csv", table="visits")
    assert error.rule == "missing-file" and "table 'visits'" in str(error)


def test_symlink_inside_the_data_folder_is_followed(tmp_path):
    name = _csv(tmp_path, [["id"], ["1"]], name="real.csv")
    (tmp_path / "link.csv").symlink_to(tmp_path / name)
    assert [r.values for r in _read(tmp_path, "link.csv")] == [{"id": "1"}]


def test_docs_state_the_limits():
    docs = (REPO / "docs" / "mapping.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Limits and safety") :]
    for value in (
        f"{DEFAULT_LIMITS.max_file_bytes // 1024**3} GiB",
        f"{DEFAULT_LIMITS.max_cell_chars:,} characters",
        f"{DEFAULT_LIMITS.max_rows_per_participant:,}",
        f"{loader.MAX_MAPPING_BYTES // 1024**2} MiB",
        f"{loader.MAX_NESTING} levels",
    ):
        assert value in section, value
