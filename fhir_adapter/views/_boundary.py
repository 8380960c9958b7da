"""FHIRPath ``lowBoundary()`` and ``highBoundary()`` on decimals, dates, dateTimes and times.

fhirpathpy (2.2) does not implement these two functions, and its extension hook hands a
custom function bare values without their FHIR type, while a boundary depends on the type
(``1970-06`` is a date for ``Patient.birthDate`` and a dateTime for ``Observation.effective``).
So ``_fhirpath`` evaluates the input and its ``type()`` with fhirpathpy and calls these pure
functions. Rules: https://hl7.org/fhirpath/2025Jan/#lowboundaryprecision-integer-decimal--date--datetime--time
(half a unit of the last given digit for decimals; the earliest / latest instant the partial
value can denote for dates and times, with time zones +14:00 / -12:00 when none is given).
"""

from __future__ import annotations

import calendar
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_TIME = re.compile(r"^(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$")
_TZ = re.compile(r"(Z|[+-]\d{2}:\d{2})$")

_MAX_DECIMAL_PRECISION = 28
_DATE_PRECISIONS = (4, 6, 8)
_DATETIME_PRECISIONS = (4, 6, 8, 10, 12, 14, 17)
_TIME_PRECISIONS = (2, 4, 6, 9)


def boundary(value: object, kind: str, *, high: bool, precision: int | None) -> object | None:
    """The boundary of ``value`` of FHIR/FHIRPath type ``kind``, or None when it has none."""
    kind = kind.lower()
    if kind in ("decimal", "integer", "positiveint", "unsignedint", "integer64"):
        return decimal_boundary(value, high=high, precision=precision)
    if not isinstance(value, str):
        return None
    if kind == "date":
        return date_boundary(value, high=high, precision=precision)
    if kind in ("datetime", "instant"):
        return datetime_boundary(value, high=high, precision=precision)
    if kind == "time":
        return time_boundary(value, high=high, precision=precision)
    return None


def decimal_boundary(value: object, *, high: bool, precision: int | None) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if precision is not None and not 0 <= precision <= _MAX_DECIMAL_PRECISION:
        return None
    exponent = number.as_tuple().exponent
    scale = max(-exponent, 0) if isinstance(exponent, int) else 0
    half_unit = Decimal(5).scaleb(-(scale + 1))
    result = number + half_unit if high else number - half_unit
    if precision is None:
        return result
    step = Decimal(1).scaleb(-precision)
    return result.quantize(step, rounding=ROUND_CEILING if high else ROUND_FLOOR)


def date_boundary(value: str, *, high: bool, precision: int | None) -> str | None:
    match = _DATE.match(value)
    if (
        not match
        or match[1] == "0000"
        or (precision is not None and precision not in _DATE_PRECISIONS)
    ):
        return None
    year, month, day = _fill_date(match.groups(), high=high)
    text = f"{year:04d}-{month:02d}-{day:02d}"
    return text[: _date_length(precision or 8)]


def datetime_boundary(value: str, *, high: bool, precision: int | None) -> str | None:
    if precision is not None and precision not in _DATETIME_PRECISIONS:
        return None
    zone_match = _TZ.search(value) if "T" in value else None
    zone = zone_match.group(1) if zone_match else ("-12:00" if high else "+14:00")
    body = value[: zone_match.start()] if zone_match else value
    date_text, _, time_text = body.partition("T")
    date_match = _DATE.match(date_text)
    if not date_match or date_match[1] == "0000":
        return None
    year, month, day = _fill_date(date_match.groups(), high=high)
    time_filled = _fill_time(time_text, high=high) if time_text else _fill_time("", high=high)
    if time_filled is None:
        return None
    full = f"{year:04d}-{month:02d}-{day:02d}T{time_filled}"
    wanted = precision or 17
    if wanted <= 8:
        return full[: _date_length(wanted)]
    cut = {10: 13, 12: 16, 14: 19, 17: 23}[wanted]
    return full[:cut] + zone


def time_boundary(value: str, *, high: bool, precision: int | None) -> str | None:
    if precision is not None and precision not in _TIME_PRECISIONS:
        return None
    filled = _fill_time(value, high=high)
    if filled is None:
        return None
    cut = {2: 2, 4: 5, 6: 8, 9: 12}[precision or 9]
    return filled[:cut]


def _fill_date(parts: tuple[str | None, ...], *, high: bool) -> tuple[int, int, int]:
    year = int(parts[0] or 0)
    month = int(parts[1]) if parts[1] else (12 if high else 1)
    last_day = calendar.monthrange(year, month)[1]
    day = int(parts[2]) if parts[2] else (last_day if high else 1)
    return year, month, day


def _fill_time(value: str, *, high: bool) -> str | None:
    if not value:
        return "23:59:59.999" if high else "00:00:00.000"
    match = _TIME.match(value)
    if not match:
        return None
    hour, minute, second, fraction = match.groups()
    limit = "59" if high else "00"
    minute = minute or limit
    second = second or limit
    if fraction is None:
        fraction = "999" if high else "000"
    fraction = (fraction + ("9" if high else "0") * 3)[: max(3, len(fraction))]
    return f"{hour}:{minute}:{second}.{fraction}"


def _date_length(precision: int) -> int:
    return {4: 4, 6: 7, 8: 10}[precision]
