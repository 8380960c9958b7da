"""Headers with blank or repeated names are refused; declared encodings read Windows exports."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from fhir_adapter.errors import SourceDataError
from fhir_adapter.sources.header import column_letter
from fhir_adapter.sources.tables import read_table

HIDDEN = "HIDDEN"  # planted in cells: it must never reach a message


def _write_csv(folder: Path, text: str, encoding: str = "utf-8", name: str = "t.csv") -> str:
    (folder / name).write_bytes(text.encode(encoding))
    return name


def _write_xlsx(folder: Path, rows: list[list[object]], name: str = "t.xlsx") -> str:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(folder / name)
    return name


def _read(folder: Path, name: str, encoding: str = "utf-8") -> list:
    return list(read_table(folder, name, delimiter=",", encoding=encoding))


def test_column_letters():
    assert [column_letter(n) for n in (1, 2, 26, 27, 52, 703)] == ["A", "B", "Z", "AA", "AZ", "AAA"]


def test_repeated_csv_header_is_refused_naming_the_cells(tmp_path):
    # The reported case: a second 'sex' column silently replaced the first for every row.
    name = _write_csv(tmp_path, f"id,sex,age,sex\n1,M,{HIDDEN},F\n")
    with pytest.raises(SourceDataError) as error:
        _read(tmp_path, name)
    assert (error.value.file, error.value.row, error.value.rule) == (name, 1, "header")
    assert "'sex' in cells 2 (B), 4 (D)" in str(error.value)
    assert HIDDEN not in str(error.value)


def test_header_names_repeated_after_trimming_are_refused(tmp_path):
    name = _write_csv(tmp_path, "id,sex ,sex\n1,M,F\n")
    with pytest.raises(SourceDataError, match="'sex' in cells 2 \\(B\\), 3 \\(C\\)"):
        _read(tmp_path, name)


def test_blank_csv_header_is_refused_naming_the_cell(tmp_path):
    name = _write_csv(tmp_path, "id, ,age\n1,x,3\n")
    with pytest.raises(SourceDataError, match="header cell\\(s\\) 2 \\(B\\)") as error:
        _read(tmp_path, name)
    assert error.value.rule == "header"


def test_trailing_delimiter_makes_a_blank_last_header(tmp_path):
    name = _write_csv(tmp_path, "id,age,\n1,3,\n")
    with pytest.raises(SourceDataError, match="3 \\(C\\).*end of each line"):
        _read(tmp_path, name)


def test_repeated_excel_header_is_refused(tmp_path):
    name = _write_xlsx(tmp_path, [["id", "sex", "sex"], ["1", "M", HIDDEN]])
    with pytest.raises(SourceDataError, match="'sex' in cells 2 \\(B\\), 3 \\(C\\)") as error:
        _read(tmp_path, name)
    assert error.value.rule == "header" and HIDDEN not in str(error.value)


def test_blank_excel_header_between_names_is_refused(tmp_path):
    name = _write_xlsx(tmp_path, [["id", None, "age"], ["1", "x", "3"]])
    with pytest.raises(SourceDataError, match="2 \\(B\\)"):
        _read(tmp_path, name)


def test_excel_trailing_empty_header_cells_are_not_columns(tmp_path):
    name = _write_xlsx(tmp_path, [["id", "age", None], ["1", "3", None]])
    rows = _read(tmp_path, name)
    assert rows[0].values == {"id": "1", "age": "3"}


@pytest.mark.parametrize("encoding", ["cp1252", "windows-1252", "latin-1", "iso-8859-1"])
def test_declared_windows_encoding_reads_accents(tmp_path, encoding):
    text = "id,term\n1,Fi\u00e8vre\n2,\u00e9ruption cutan\u00e9e\n"
    name = _write_csv(tmp_path, text, "cp1252")
    rows = _read(tmp_path, name, encoding=encoding)
    assert [r.values["term"] for r in rows] == ["Fi\u00e8vre", "\u00e9ruption cutan\u00e9e"]


def test_cp1252_only_characters(tmp_path):
    # The euro sign and curly quotes live in 0x80-0x9F, where cp1252 and latin-1 differ.
    name = _write_csv(tmp_path, "id,note\n1,\u20ac \u201cok\u201d\n", "cp1252")
    assert _read(tmp_path, name, encoding="cp1252")[0].values["note"] == "\u20ac \u201cok\u201d"


def test_undecodable_bytes_name_the_row_and_column(tmp_path):
    # Enough clean rows that the decoder's block boundary is far from the bad row.
    clean = "".join(f"{n},plain text {n}\n" for n in range(1, 3000))
    bad = (clean + "3000,Fi\u00e8vre " + HIDDEN + "\n3001,x\n").encode("cp1252")
    (tmp_path / "t.csv").write_bytes(b"id,term\n" + bad)
    with pytest.raises(SourceDataError) as error:
        _read(tmp_path, "t.csv")
    assert (error.value.row, error.value.column, error.value.rule) == (3001, "term", "encoding")
    message = str(error.value)
    assert "utf-8" in message and "encoding: cp1252" in message and HIDDEN not in message


def test_undecodable_byte_in_the_header_names_row_1(tmp_path):
    (tmp_path / "t.csv").write_bytes("id,Th\u00e9rapie\n1,x\n".encode("cp1252"))
    with pytest.raises(SourceDataError) as error:
        _read(tmp_path, "t.csv")
    assert (error.value.row, error.value.column) == (1, None)


def test_undefined_cp1252_byte_is_an_encoding_error_with_its_row(tmp_path):
    # 0x81 has no character in cp1252: declaring the encoding does not make it readable.
    (tmp_path / "t.csv").write_bytes(b"id,term\n1,ok\n2,a\x81b\n")
    with pytest.raises(SourceDataError) as error:
        _read(tmp_path, "t.csv", encoding="cp1252")
    assert (error.value.row, error.value.column, error.value.rule) == (3, "term", "encoding")
