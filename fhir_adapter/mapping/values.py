"""Parsers for cell values: decimals, censored results ('<0.10'), dates and years.

Pure functions; each raises ``ValueError`` with a message that describes the expected form
and never repeats the value (cells can be PHI).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_YEAR = re.compile(r"^\d{4}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATE_FORMATS = ("%Y-%m-%d",)


def parse_decimal(text: object, decimal: str = ".") -> Decimal:
    """Read a plain decimal number written with the given decimal separator."""
    if isinstance(text, bool):
        raise ValueError("expected a number")
    if isinstance(text, int):
        return Decimal(text)
    if isinstance(text, Decimal):  # an expression's number (``mapping.expressions``)
        return text
    if isinstance(text, float):
        return Decimal(repr(text))
    raw = str(text).strip()
    other = "," if decimal == "." else "."
    if other in raw:
        raise ValueError(f"expected a number with '{decimal}' as decimal separator")
    if decimal == ",":
        raw = raw.replace(",", ".")
    if not _NUMBER.match(raw):
        raise ValueError(f"expected a number with '{decimal}' as decimal separator")
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        raise ValueError("expected a number") from None


def parse_result(
    text: object, decimal: str = ".", comparators: tuple[str, ...] = ()
) -> tuple[str | None, Decimal]:
    """Read a result that may carry a comparator prefix such as '<' (below a detection limit)."""
    if isinstance(text, (int, float)):
        return None, parse_decimal(text, decimal)
    raw = str(text).strip()
    for comparator in sorted(comparators, key=len, reverse=True):
        if raw.startswith(comparator):
            return comparator, parse_decimal(raw[len(comparator) :].strip(), decimal)
    if raw[:1] in "<>" and not comparators:
        raise ValueError("comparator prefixes are not accepted for this source")
    if raw[:1] in "<>":
        raise ValueError(f"comparator not accepted (allowed: {' '.join(comparators)})")
    return None, parse_decimal(raw, decimal)


def parse_date(text: object, formats: tuple[str, ...]) -> str:
    """Read a calendar date into ISO form (YYYY-MM-DD); Excel date cells pass straight through."""
    if isinstance(text, dt.datetime):
        return text.date().isoformat()
    if isinstance(text, dt.date):
        return text.isoformat()
    return _parse_date_text(str(text).strip(), formats)


@functools.lru_cache(maxsize=8192)  # bounded: dates repeat across rows, memory stays flat
def _parse_date_text(raw: str, formats: tuple[str, ...]) -> str:
    if "%Y-%m-%d" in formats and _ISO_DATE.match(raw):
        try:
            return dt.date.fromisoformat(raw).isoformat()  # fast path for the common format
        except ValueError:
            pass  # an impossible date such as 2021-02-30: reported below
    for fmt in formats:
        try:
            return dt.datetime.strptime(raw, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"expected a valid date in the form {' or '.join(formats)}")


def parse_year(text: object) -> str:
    """Read a four-digit year (FHIR allows a date of year precision, e.g. birthDate '1960')."""
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    raw = str(text).strip()
    if not _YEAR.match(raw) or not 1800 <= int(raw) <= 2200:
        raise ValueError("expected a four-digit year")
    return raw


def parse_count(text: object, decimal: str = ".") -> int:
    """A whole number of at least 1 ('2', '2.0'); '2x/day' or '0' is refused, never guessed."""
    value = parse_decimal(text, decimal)
    if value != value.to_integral_value() or value < 1:
        raise ValueError("expected a whole number, 1 or more")
    return int(value)


def before(earlier: str, later: str) -> bool:
    """True when ISO date ``earlier`` lies wholly before ``later`` at the precision both have.

    Dates may be of year or day precision ('1960', '1960-03-04'); '1960' is not before
    '1960-03-04', since the year holds that day. Equal-length ISO text orders as dates do.
    """
    n = min(len(earlier), len(later))
    return earlier[:n] < later[:n]
