"""Frequency text → schedule: every accepted form with its hand-computed schedule, and the
texts that must be refused rather than guessed."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from fhir_adapter.mapping.frequency import (
    ACCEPTED_FORMS,
    FrequencyError,
    Schedule,
    parse_frequency,
)

# text → (frequency, period, periodUnit), worked out by hand from what the text says.
ACCEPTED = {
    "1x/day": (1, 1, "d"),
    "2x/day": (2, 1, "d"),
    "3 x / day": (3, 1, "d"),
    "4X/DAY": (4, 1, "d"),
    "2 times a day": (2, 1, "d"),
    "2x daily": (2, 1, "d"),
    "3 times per day": (3, 1, "d"),
    "1 time daily": (1, 1, "d"),
    "BID": (2, 1, "d"),
    "bid": (2, 1, "d"),
    "TID": (3, 1, "d"),
    "QID": (4, 1, "d"),
    "QD": (1, 1, "d"),
    "OD": (1, 1, "d"),
    " od ": (1, 1, "d"),
    "q8h": (1, 8, "h"),
    "Q 12 H": (1, 12, "h"),
    "q1h": (1, 1, "h"),
    "every 8 hours": (1, 8, "h"),
    "Every 6 Hours": (1, 6, "h"),
    "every 1 hour": (1, 1, "h"),
    "every 4 h": (1, 4, "h"),
    "once daily": (1, 1, "d"),
    "Once Daily": (1, 1, "d"),
    "once a day": (1, 1, "d"),
    "twice daily": (2, 1, "d"),
    "twice a day": (2, 1, "d"),
    "three times daily": (3, 1, "d"),
    "four times daily": (4, 1, "d"),
    "three time daily": (3, 1, "d"),
    "one time a day": (1, 1, "d"),
    "six times a day": (6, 1, "d"),
    "two times a week": (2, 1, "wk"),
    "daily": (1, 1, "d"),
    "every day": (1, 1, "d"),
    "1-0-1": (2, 1, "d"),
    "1-1-1": (3, 1, "d"),
    "0-0-1": (1, 1, "d"),
    "1 - 0 - 0": (1, 1, "d"),
    "1-1-1-1": (4, 1, "d"),
    "0-0-0-1": (1, 1, "d"),
    "1-0-1-0": (2, 1, "d"),
    "every other day": (1, 2, "d"),
    "Every Other Day": (1, 2, "d"),
    "every 3 days": (1, 3, "d"),
    "weekly": (1, 1, "wk"),
    "once weekly": (1, 1, "wk"),
    "once a week": (1, 1, "wk"),
    "every week": (1, 1, "wk"),
    "every 2 weeks": (1, 2, "wk"),
    "every other week": (1, 2, "wk"),
    "2x/week": (2, 1, "wk"),
    "3 x / week": (3, 1, "wk"),
    "twice weekly": (2, 1, "wk"),
    "twice a week": (2, 1, "wk"),
}


@pytest.mark.parametrize(("text", "expected"), ACCEPTED.items(), ids=list(ACCEPTED))
def test_accepted_form(text: str, expected: tuple[int, int, str]) -> None:
    frequency, period, unit = expected
    schedule = parse_frequency(text)
    assert schedule == Schedule(frequency, Decimal(period), unit)  # type: ignore[arg-type]
    assert isinstance(schedule.frequency, int) and isinstance(schedule.period, Decimal)


def test_every_documented_form_is_accepted() -> None:
    for text in ACCEPTED_FORMS:
        parse_frequency(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "2",  # 2 a day? every 2 days? a bare number has no unit
        "x/day",
        "0x/day",  # no administration
        "0-0-0",
        "0-0-0-0",
        "q0h",
        "every 0 days",
        "1 2x/day",  # 12 or a typo: a space inside a number is never joined
        "q1 2h",
        "1x/month",  # a month has no fixed length in days
        "monthly",
        "2-3x/day",  # a range is not one frequency
        "q4-6h",
        "prn",  # as needed: no schedule
        "as needed",
        "bid tid",
        "b.i.d.",
        "1-0",  # too short for morning-noon-evening
        "1-0-1-0-1",  # too long
        "1/0/1",
        "10-0-10",
        "2x/day prn",
        "every other",
        "twice",
        "1x",
        "1000x/day",
    ],
)
def test_refused_rather_than_guessed(text: str) -> None:
    with pytest.raises(FrequencyError):
        parse_frequency(text)


@pytest.mark.parametrize("text", ["1-2-1", "2-0-2", "1-0-1-2", "0-3-0"])
def test_pattern_with_another_dose_than_one_names_the_reason(text: str) -> None:
    # One dose column cannot say that the noon dose is twice the morning one.
    with pytest.raises(FrequencyError, match="different doses"):
        parse_frequency(text)


def test_errors_never_quote_the_text_and_list_the_forms() -> None:
    with pytest.raises(FrequencyError) as error:
        parse_frequency("after breakfast")
    assert "breakfast" not in str(error.value)
    assert "BID" in str(error.value) and "q8h" in str(error.value)


def test_frequency_error_is_a_value_error() -> None:
    # The field readers turn ValueError into a row error; a FrequencyError must be one.
    assert issubclass(FrequencyError, ValueError)


@given(st.integers(min_value=1, max_value=999), st.sampled_from(["day", "week"]))
def test_any_count_per_day_or_week(count: int, unit: str) -> None:
    expected = Schedule(count, Decimal(1), "d" if unit == "day" else "wk")
    assert parse_frequency(f"{count}x/{unit}") == expected
    assert parse_frequency(f" {count} X / {unit.upper()} ") == expected


@given(st.integers(min_value=1, max_value=999))
def test_any_hour_interval(hours: int) -> None:
    expected = Schedule(1, Decimal(hours), "h")
    assert parse_frequency(f"q{hours}h") == expected == parse_frequency(f"every {hours} hours")


@given(st.lists(st.sampled_from("01"), min_size=3, max_size=4).filter(lambda p: "1" in p))
def test_day_pattern_counts_its_ones(positions: list[str]) -> None:
    schedule = parse_frequency("-".join(positions))
    assert schedule == Schedule(positions.count("1"), Decimal(1), "d")


_PIECES = st.sampled_from(
    [
        "1",
        "2",
        "x",
        "/",
        "day",
        "week",
        "times",
        "time",
        "once",
        "twice",
        "three",
        "a",
        "per",
        "daily",
        "weekly",
        "every",
        "other",
        "hours",
        "h",
        "q",
        "-",
        "0",
        " ",
        "bid",
        "days",
    ]
)


@given(st.text(max_size=20) | st.lists(_PIECES, max_size=6).map("".join))
def test_any_text_gives_a_schedule_or_a_frequency_error(text: str) -> None:
    try:
        schedule = parse_frequency(text)
    except FrequencyError:
        return
    assert schedule.frequency >= 1 and schedule.period > 0
    assert schedule.period_unit in ("h", "d", "wk")


# --- docs/mapping.md says what the parser does ----------------------------------------------

DOCS = Path(__file__).resolve().parents[3] / "docs" / "mapping.md"


def _docs_section() -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("### Medication frequency")
    return text[start : text.index("\n## ", start)]


def _table_rows() -> list[tuple[list[str], str, str, str]]:
    rows = []
    for line in _docs_section().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows.append((re.findall(r"`([^`]+)`", cells[0]), *cells[1:]))
    return rows


def test_every_text_in_the_docs_table_reads_as_its_row_says() -> None:
    rows = _table_rows()
    assert len(rows) >= 12
    for texts, frequency, period, unit in rows:
        for text in texts:
            schedule = parse_frequency(text)
            if frequency == "N":
                expected_frequency = int(re.search(r"[0-9]+", text)[0])  # type: ignore[index]
            elif frequency == "number of 1s":
                expected_frequency = text.count("1")
            else:
                expected_frequency = int(frequency)
            assert schedule == Schedule(expected_frequency, Decimal(period), unit), text  # type: ignore[arg-type]


def test_the_docs_table_shows_every_accepted_form() -> None:
    documented = {text for texts, *_ in _table_rows() for text in texts}
    assert set(ACCEPTED_FORMS) <= documented


def test_the_docs_example_maps_onto_accepted_forms() -> None:
    block = re.search(r"```yaml\n(medications:.*?)```", _docs_section(), re.S)
    assert block is not None
    table = YAML(typ="safe").load(block[1])["medications"]["frequency"]["map"]
    schedules = {local: parse_frequency(target) for local, target in table.items()}
    assert schedules["morning and night"] == Schedule(2, Decimal(1), "d")
    assert schedules["q8h"] == Schedule(1, Decimal(8), "h")
