"""A dose is never silently misread: frequency text is mapped or a row error, blanks are omitted.

The reported failure: frequencies came as text ('2x/day'), a map on times_per_day was ignored,
the field was dropped to get past the error, and every dose went out as a daily total.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fhir_adapter.errors import MappingSpecError
from fhir_adapter.mapping.frequency import FrequencyError, parse_frequency
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping

MEDICATIONS = """  dose: dose
  dose_unit: {column: dose_unit, map: {mg: mg, IU: "[IU]"}}
  times_per_day: times_per_day
"""


def _mapping(tmp_path: Path, study_a_mapping: Path, medications: str) -> Path:
    text = study_a_mapping.read_text(encoding="utf-8")
    assert MEDICATIONS in text
    (tmp_path / "codes").mkdir(exist_ok=True)
    for item in (study_a_mapping.parent / "codes").iterdir():
        (tmp_path / "codes" / item.name).write_bytes(item.read_bytes())
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(MEDICATIONS, medications), encoding="utf-8")
    return path


def _statements(mapping: Path, directory: Path):
    run = StudyMapping(load_mapping(mapping), directory, check_models=True)
    resources = [r for p in run.participants() for r in p.resources]
    assert run.report.model_problems == []
    return run.report, [r for r in resources if r["resourceType"] == "MedicationStatement"]


@pytest.fixture
def text_frequencies(tables):
    for row, text in zip(tables["medications.csv"], ["2x/day", "2x/day", "1x/day"], strict=True):
        row["times_per_day"] = text
    return tables


def test_text_frequency_without_a_map_is_a_row_error_naming_the_column(
    tmp_path, text_frequencies, write_export, study_a_mapping
):
    report, statements = _statements(study_a_mapping, write_export(tmp_path, text_frequencies))
    assert statements == []
    found = {(e.file, e.row, e.column, e.rule) for e in report.errors}
    assert found == {
        ("medications.csv", 2, "times_per_day", "number"),
        ("medications.csv", 3, "times_per_day", "number"),
        ("medications.csv", 4, "times_per_day", "number"),
    }


def test_mapped_text_frequency_gives_the_per_administration_dose(
    tmp_path, text_frequencies, write_export, study_a_mapping
):
    mapping = _mapping(
        tmp_path,
        study_a_mapping,
        MEDICATIONS.replace(
            "times_per_day: times_per_day",
            "times_per_day: {column: times_per_day, map: {1x/day: '1', 2x/day: '2'}}",
        ),
    )
    report, statements = _statements(mapping, write_export(tmp_path / "d", text_frequencies))
    assert report.errors == []
    first = statements[0]["dosage"][0]
    assert first["timing"]["repeat"] == {"frequency": 2, "period": 1, "periodUnit": "d"}
    assert str(first["doseAndRate"][0]["doseQuantity"]["value"]) == "850"  # per administration
    assert "maxDosePerPeriod" not in first
    assert first["text"] == "850 mg 2 time(s) a day"


def test_frequency_not_in_the_map_is_a_code_error(
    tmp_path, text_frequencies, write_export, study_a_mapping
):
    text_frequencies["medications.csv"][2]["times_per_day"] = "BID"
    mapping = _mapping(
        tmp_path,
        study_a_mapping,
        MEDICATIONS.replace(
            "times_per_day: times_per_day",
            "times_per_day: {column: times_per_day, map: {1x/day: '1', 2x/day: '2'}}",
        ),
    )
    report, _ = _statements(mapping, write_export(tmp_path / "d", text_frequencies))
    assert [(e.row, e.column, e.rule) for e in report.errors] == [(4, "times_per_day", "code")]


@pytest.mark.parametrize("cell", ["0", "1.5", "-2", "twice"])
def test_frequency_must_be_a_whole_number_of_at_least_one(
    tmp_path, tables, write_export, study_a_mapping, cell
):
    tables["medications.csv"][0]["times_per_day"] = cell
    report, _ = _statements(study_a_mapping, write_export(tmp_path, tables))
    assert [(e.row, e.column, e.rule) for e in report.errors] == [(2, "times_per_day", "number")]
    assert cell not in str(report.errors[0])


def test_a_dose_without_its_basis_is_refused_at_load(tmp_path, study_a_mapping):
    # Dropping times_per_day used to turn every per-administration dose into a daily total.
    mapping = _mapping(
        tmp_path, study_a_mapping, MEDICATIONS.replace("  times_per_day: times_per_day\n", "")
    )
    with pytest.raises(MappingSpecError, match="daily_total: true") as error:
        load_mapping(mapping)
    assert error.value.key == "medications.dose" and error.value.line is not None


def test_daily_total_contradicting_times_per_day_is_refused(tmp_path, study_a_mapping):
    mapping = _mapping(tmp_path, study_a_mapping, MEDICATIONS + "  daily_total: true\n")
    with pytest.raises(MappingSpecError, match="contradicts") as error:
        load_mapping(mapping)
    assert error.value.key == "medications.daily_total"


def test_declared_daily_total(tmp_path, tables, write_export, study_a_mapping):
    mapping = _mapping(
        tmp_path,
        study_a_mapping,
        MEDICATIONS.replace("  times_per_day: times_per_day\n", "  daily_total: true\n"),
    )
    report, statements = _statements(mapping, write_export(tmp_path / "d", tables))
    assert report.errors == []
    dosage = statements[0]["dosage"][0]
    # What was taken, once per day, flagged as a total whose split was not recorded; never
    # maxDosePerPeriod (a limit, not a dose taken).
    assert "maxDosePerPeriod" not in dosage
    assert dosage["extension"] == [
        {"url": "urn:fhir-adapter:extension:dosage-daily-total", "valueBoolean": True}
    ]
    assert dosage["timing"] == {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
    assert str(dosage["doseAndRate"][0]["doseQuantity"]["value"]) == "850"
    assert "per day in total" in dosage["text"]


def test_blank_optional_dose_is_left_out_never_null(
    tmp_path, tables, write_export, study_a_mapping
):
    tables["medications.csv"][0]["dose"] = ""
    tables["medications.csv"][1]["dose"] = ""
    tables["medications.csv"][1]["dose_unit"] = ""
    mapping = _mapping(
        tmp_path,
        study_a_mapping,
        MEDICATIONS.replace("  dose: dose", "  dose: {column: dose, required: false}").replace(
            "dose_unit: {column", "dose_unit: {required: false, column"
        ),
    )
    report, statements = _statements(mapping, write_export(tmp_path / "d", tables))
    assert report.errors == []
    for statement in statements[:2]:
        dosage = statement["dosage"][0]
        assert "doseAndRate" not in dosage and "maxDosePerPeriod" not in dosage
        assert dosage["timing"]["repeat"]["frequency"] == 2
        assert dosage["text"] == "2 time(s) a day, dose not recorded"
    assert "null" not in repr(statements) and "None" not in repr(statements)


def test_blank_dose_of_a_declared_daily_total_leaves_only_the_route(
    tmp_path, tables, write_export, study_a_mapping
):
    tables["medications.csv"][0]["dose"] = ""
    mapping = _mapping(
        tmp_path,
        study_a_mapping,
        MEDICATIONS.replace("  dose: dose", "  dose: {column: dose, required: false}").replace(
            "  times_per_day: times_per_day\n", "  daily_total: true\n"
        ),
    )
    report, statements = _statements(mapping, write_export(tmp_path / "d", tables))
    assert report.errors == []
    assert set(statements[0]["dosage"][0]) == {"route"}


def test_blank_required_dose_is_a_row_error(tmp_path, tables, write_export, study_a_mapping):
    tables["medications.csv"][0]["dose"] = ""
    report, _ = _statements(study_a_mapping, write_export(tmp_path, tables))
    assert [(e.row, e.column, e.rule) for e in report.errors] == [(2, "dose", "required")]


def test_a_dose_without_its_unit_is_a_row_error(tmp_path, tables, write_export, study_a_mapping):
    tables["medications.csv"][0]["dose_unit"] = ""
    mapping = _mapping(
        tmp_path,
        study_a_mapping,
        MEDICATIONS.replace("dose_unit: {column", "dose_unit: {required: false, column"),
    )
    report, _ = _statements(mapping, write_export(tmp_path / "d", tables))
    assert [(e.row, e.column, e.rule) for e in report.errors] == [(2, "dose_unit", "required")]


def test_blank_frequency_is_not_taken_for_a_daily_total(
    tmp_path, tables, write_export, study_a_mapping
):
    tables["medications.csv"][0]["times_per_day"] = ""
    mapping = _mapping(
        tmp_path,
        study_a_mapping,
        MEDICATIONS.replace(
            "times_per_day: times_per_day",
            "times_per_day: {column: times_per_day, required: false}",
        ),
    )
    report, statements = _statements(mapping, write_export(tmp_path / "d", tables))
    assert report.errors == []
    dosage = statements[0]["dosage"][0]
    assert "maxDosePerPeriod" not in dosage and "timing" not in dosage
    assert str(dosage["doseAndRate"][0]["doseQuantity"]["value"]) == "850"
    assert dosage["text"] == "850 mg per administration, frequency not recorded"


def test_unmapped_dose_unit_must_be_ucum(tmp_path, tables, write_export, study_a_mapping):
    tables["medications.csv"][2]["dose_unit"] = "IU"  # UCUM writes international units [IU]
    mapping = _mapping(
        tmp_path,
        study_a_mapping,
        MEDICATIONS.replace(
            'dose_unit: {column: dose_unit, map: {mg: mg, IU: "[IU]"}}', "dose_unit: dose_unit"
        ),
    )
    report, statements = _statements(mapping, write_export(tmp_path / "d", tables))
    assert [(e.row, e.column, e.rule) for e in report.errors] == [(4, "dose_unit", "unit")]
    assert len(statements) == 2  # the other participant's 'mg' is valid UCUM


# --- frequency text ('frequency:') ----------------------------------------------------------

FREQUENCY = MEDICATIONS.replace("times_per_day: times_per_day", "frequency: times_per_day")


def _with_frequencies(tables, texts):
    for row, text in zip(tables["medications.csv"], texts, strict=True):
        row["times_per_day"] = text
    return tables


def test_frequency_text_gives_what_the_whole_number_gave(
    tmp_path, tables, write_export, study_a_mapping
):
    # The same export, once with 2/2/1 (times_per_day) and once with 2x/day, BID, once daily
    # (frequency): the statements are the same to the byte.
    _, by_number = _statements(study_a_mapping, write_export(tmp_path / "n", tables))
    mapping = _mapping(tmp_path, study_a_mapping, FREQUENCY)
    texts = _with_frequencies(tables, ["2x/day", "BID", "once daily"])
    report, by_text = _statements(mapping, write_export(tmp_path / "t", texts))
    assert report.errors == [] and len(by_text) == 3
    assert by_text == by_number
    assert by_text[0]["dosage"][0]["timing"] == {
        "repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}
    }


@pytest.mark.parametrize(
    ("text", "repeat", "words"),
    [
        ("q8h", (1, 8, "h"), "1 time(s) every 8 hours"),
        ("every other day", (1, 2, "d"), "1 time(s) every 2 days"),
        ("weekly", (1, 1, "wk"), "1 time(s) a week"),
        ("2x/week", (2, 1, "wk"), "2 time(s) a week"),
        ("1-0-1", (2, 1, "d"), "2 time(s) a day"),
        ("1-1-1-1", (4, 1, "d"), "4 time(s) a day"),
        ("TID", (3, 1, "d"), "3 time(s) a day"),
    ],
)
def test_frequency_text_is_written_as_timing_repeat_with_the_dose_per_administration(
    tmp_path, tables, write_export, study_a_mapping, text, repeat, words
):
    mapping = _mapping(tmp_path, study_a_mapping, FREQUENCY)
    texts = _with_frequencies(tables, [text, "2x/day", "1x/day"])
    report, statements = _statements(mapping, write_export(tmp_path / "d", texts))
    assert report.errors == []
    dosage = statements[0]["dosage"][0]
    frequency, period, unit = repeat
    assert dosage["timing"] == {
        "repeat": {"frequency": frequency, "period": period, "periodUnit": unit}
    }
    assert str(dosage["doseAndRate"][0]["doseQuantity"]["value"]) == "850"  # not a total
    assert dosage["text"] == f"850 mg {words}"
    assert "maxDosePerPeriod" not in dosage and "extension" not in dosage


@pytest.mark.parametrize("text", ["2", "twice a fortnight", "PRN", "1x/month"])
def test_unreadable_frequency_text_is_a_row_error_naming_the_column(
    tmp_path, tables, write_export, study_a_mapping, text
):
    mapping = _mapping(tmp_path, study_a_mapping, FREQUENCY)
    texts = _with_frequencies(tables, [text, "2x/day", "1x/day"])
    report, statements = _statements(mapping, write_export(tmp_path / "d", texts))
    assert [(e.file, e.row, e.column, e.rule) for e in report.errors] == [
        ("medications.csv", 2, "times_per_day", "frequency")
    ]
    message = report.errors[0].message
    assert "BID" in message and "q8h" in message  # says what would be read
    with pytest.raises(FrequencyError) as other:
        parse_frequency("some other text")
    assert message == str(other.value)  # the same words whatever the cell: it is not quoted
    # Only the bad line goes: A-001's second line (which does not depend on it) and
    # A-002's line are mapped.
    assert len(statements) == 2


def test_a_pattern_with_different_doses_is_a_row_error_saying_why(
    tmp_path, tables, write_export, study_a_mapping
):
    mapping = _mapping(tmp_path, study_a_mapping, FREQUENCY)
    texts = _with_frequencies(tables, ["2x/day", "2x/day", "1-2-1"])
    report, _ = _statements(mapping, write_export(tmp_path / "d", texts))
    assert [(e.row, e.column, e.rule) for e in report.errors] == [(4, "times_per_day", "frequency")]
    assert "different doses" in report.errors[0].message


def test_a_map_reads_a_site_s_own_forms(tmp_path, tables, write_export, study_a_mapping):
    mapping = _mapping(
        tmp_path,
        study_a_mapping,
        FREQUENCY.replace(
            "frequency: times_per_day",
            "frequency: {column: times_per_day, map: "
            "{morning and night: 2x/day, mornings: once daily, BID: BID}}",
        ),
    )
    texts = _with_frequencies(tables, ["morning and night", "BID", "mornings"])
    report, statements = _statements(mapping, write_export(tmp_path / "d", texts))
    assert report.errors == []
    assert [s["dosage"][0]["timing"]["repeat"]["frequency"] for s in statements] == [2, 2, 1]
    # With a map, the map is the whole table: a text not in it is a 'code' error, even one
    # the parser would read.
    texts = _with_frequencies(tables, ["morning and night", "TID", "mornings"])
    report, _ = _statements(mapping, write_export(tmp_path / "e", texts))
    assert [(e.row, e.column, e.rule) for e in report.errors] == [(3, "times_per_day", "code")]


def test_blank_frequency_text_leaves_the_timing_out(
    tmp_path, tables, write_export, study_a_mapping
):
    mapping = _mapping(
        tmp_path,
        study_a_mapping,
        FREQUENCY.replace(
            "frequency: times_per_day", "frequency: {column: times_per_day, required: false}"
        ),
    )
    texts = _with_frequencies(tables, ["", "2x/day", "1x/day"])
    report, statements = _statements(mapping, write_export(tmp_path / "d", texts))
    assert report.errors == []
    dosage = statements[0]["dosage"][0]
    assert "timing" not in dosage and "extension" not in dosage
    assert dosage["text"] == "850 mg per administration, frequency not recorded"


def test_frequency_and_times_per_day_together_are_refused(tmp_path, study_a_mapping):
    mapping = _mapping(tmp_path, study_a_mapping, MEDICATIONS + "  frequency: freq_text\n")
    with pytest.raises(MappingSpecError, match="keep one") as error:
        load_mapping(mapping)
    assert error.value.key == "medications.times_per_day" and error.value.line is not None


def test_daily_total_contradicting_frequency_is_refused(tmp_path, study_a_mapping):
    mapping = _mapping(tmp_path, study_a_mapping, FREQUENCY + "  daily_total: true\n")
    with pytest.raises(MappingSpecError, match="contradicts 'frequency'") as error:
        load_mapping(mapping)
    assert error.value.key == "medications.daily_total"


def test_without_a_basis_the_refusal_names_frequency(tmp_path, study_a_mapping):
    mapping = _mapping(
        tmp_path, study_a_mapping, MEDICATIONS.replace("  times_per_day: times_per_day\n", "")
    )
    with pytest.raises(MappingSpecError, match="'frequency'"):
        load_mapping(mapping)
