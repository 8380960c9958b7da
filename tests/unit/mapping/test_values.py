import contextlib
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_adapter.mapping.values import parse_date, parse_decimal, parse_result, parse_year


@pytest.mark.parametrize(
    ("text", "sep", "expected"),
    [
        ("8.4", ".", "8.4"),
        ("8,4", ",", "8.4"),
        ("0.10", ".", "0.10"),
        ("-3", ".", "-3"),
        (" 12 ", ".", "12"),
        (7, ".", "7"),
        (7.25, ".", "7.25"),
    ],
)
def test_decimal_accepts_plain_numbers(text, sep, expected):
    assert parse_decimal(text, sep) == Decimal(expected)
    assert str(parse_decimal(text, sep)) == expected


@pytest.mark.parametrize(
    ("text", "sep"),
    [
        ("8,4", "."),
        ("8.4", ","),
        ("1,234.5", "."),
        ("abc", "."),
        ("", "."),
        ("1e3", "."),
        ("NaN", "."),
        ("--1", "."),
    ],
)
def test_decimal_rejects_everything_else_without_echoing_the_value(text, sep):
    with pytest.raises(ValueError) as error:
        parse_decimal(text, sep)
    assert text.strip() == "" or text not in str(error.value)


def test_result_reads_comparators_longest_first():
    assert parse_result("<0.10", ".", ("<", ">", "<=")) == ("<", Decimal("0.10"))
    assert parse_result("<=5", ".", ("<", "<=")) == ("<=", Decimal("5"))
    assert parse_result("<0,10", ",", ("<",)) == ("<", Decimal("0.10"))
    assert parse_result("4.2", ".", ("<",)) == (None, Decimal("4.2"))


def test_result_refuses_comparator_the_mapping_does_not_accept():
    with pytest.raises(ValueError, match="comparator"):
        parse_result("<0.1", ".", ())


@pytest.mark.parametrize("text", ["2021-02-30", "2021-13-01", "21-01-01", "01/02/2021"])
def test_impossible_or_misformatted_dates_are_rejected(text):
    with pytest.raises(ValueError, match="valid date"):
        parse_date(text, ("%Y-%m-%d",))


def test_dates_in_several_formats_and_excel_cells():
    assert parse_date("05/03/2020", ("%d/%m/%Y",)) == "2020-03-05"
    assert parse_date(dt.datetime(2020, 3, 5, 0, 0), ("%d/%m/%Y",)) == "2020-03-05"
    assert parse_date(dt.date(2020, 3, 5), ()) == "2020-03-05"


def test_year():
    assert parse_year("1956") == "1956"
    assert parse_year(1956.0) == "1956"
    for bad in ("56", "19560", "year", "1700"):
        with pytest.raises(ValueError):
            parse_year(bad)


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6
    ),
    st.sampled_from([".", ","]),
)
def test_decimal_round_trips_in_either_separator(value, sep):
    text = format(value, "f").replace(".", sep)
    assert parse_decimal(text, sep) == value


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.sampled_from(["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%m/%d/%Y"]),
)
def test_dates_round_trip_in_any_declared_format(day, fmt):
    assert parse_date(day.strftime(fmt), (fmt,)) == day.isoformat()


@given(st.text(max_size=12))
def test_result_parser_never_raises_anything_but_value_error(text):
    with contextlib.suppress(ValueError):
        parse_result(text, ".", ("<", ">"))
