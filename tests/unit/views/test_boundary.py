"""lowBoundary()/highBoundary(): the FHIRPath specification's examples and properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_adapter.views._boundary import boundary, decimal_boundary


@pytest.mark.parametrize(
    ("value", "kind", "high", "precision", "expected"),
    [
        (Decimal("1.587"), "decimal", False, None, Decimal("1.5865")),
        (Decimal("-1.587"), "decimal", False, None, Decimal("-1.5875")),
        (Decimal("1.587"), "decimal", False, 6, Decimal("1.586500")),
        (Decimal("1.587"), "decimal", False, 2, Decimal("1.58")),
        (Decimal("1.587"), "decimal", True, 2, Decimal("1.59")),
        (Decimal("1.587"), "decimal", False, 0, Decimal("1")),
        (1, "integer", False, None, Decimal("0.5")),
        (Decimal("1.587"), "decimal", False, 40, None),
        ("2014", "date", False, None, "2014-01-01"),
        ("2014", "date", True, None, "2014-12-31"),
        ("2016-02", "date", True, None, "2016-02-29"),
        ("2014-01-01T08", "dateTime", False, 17, "2014-01-01T08:00:00.000+14:00"),
        ("2014-01-01T08:05+02:00", "dateTime", True, None, "2014-01-01T08:05:59.999+02:00"),
        ("2014-01-01", "dateTime", True, 8, "2014-01-01"),
        ("10:30", "time", False, None, "10:30:00.000"),
        ("10:30", "time", True, 6, "10:30:59"),
        ("abc", "date", False, None, None),
        ("x", "string", False, None, None),
    ],
)
def test_examples(value, kind, high, precision, expected) -> None:
    assert boundary(value, kind, high=high, precision=precision) == expected


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-1e6, max_value=1e6))
def test_a_decimal_lies_between_its_boundaries(value: Decimal) -> None:
    low = decimal_boundary(value, high=False, precision=None)
    high = decimal_boundary(value, high=True, precision=None)
    assert low is not None and high is not None
    assert low < value < high
    assert high - low == Decimal(1).scaleb(value.as_tuple().exponent)  # one unit of last digit
