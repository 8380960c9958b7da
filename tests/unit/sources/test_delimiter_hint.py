"""A header split by the wrong delimiter gets a hint naming the one it looks split by."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhir_adapter.errors import SourceDataError
from fhir_adapter.sources.tables import read_table


@pytest.mark.parametrize(("written", "hint"), [(";", "';'"), ("\t", "'\\t'"), ("|", "'|'")])
def test_a_wrongly_split_header_names_the_likely_delimiter(
    tmp_path: Path, written: str, hint: str
) -> None:
    (tmp_path / "s.csv").write_text(
        written.join(["subject_id", "sex", "birth_date"])
        + "\n"
        + written.join(["A-1", "female", "1960-01-01"])
        + "\n"
    )
    with pytest.raises(SourceDataError) as caught:
        list(
            read_table(
                tmp_path,
                "s.csv",
                delimiter=",",
                encoding="utf-8",
                sheet=None,
                required_columns=["subject_id", "sex"],
            )
        )
    assert f"looks split by {hint}" in str(caught.value)
    assert "A-1" not in str(caught.value)


def test_a_missing_column_in_a_well_split_header_gets_no_hint(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("subject_id,sex,birth_date\nA-1,female,1960-01-01\n")
    with pytest.raises(SourceDataError) as caught:
        list(
            read_table(
                tmp_path,
                "s.csv",
                delimiter=",",
                encoding="utf-8",
                sheet=None,
                required_columns=["arm"],
            )
        )
    assert "looks split" not in str(caught.value)
