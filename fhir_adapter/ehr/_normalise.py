"""One hospital Observation → one lab value in the unit the mapping wants, or a problem.

A value in the wanted unit keeps the precision it was sent with; a converted one is rounded
half-up to the decimals the catalogue gives for the wanted unit (``mapping/units.py``). The
unit must be UCUM-coded (``valueQuantity.system`` http://unitsofmeasure.org): unit text alone
is not read, and a unit with no conversion to the wanted one is a problem for that value,
never a guess. Values outside the catalogue's plausible range are problems too, as ``map``
would refuse them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fhir_adapter.ehr._problems import Problem
from fhir_adapter.ehr._targets import LOINC, LabTarget, LabTargets
from fhir_adapter.mapping.units import Converter, UnitError, check_ucum, resolve

UCUM = "http://unitsofmeasure.org"
# Results that stand (https://hl7.org/fhir/R4/valueset-observation-status.html); preliminary,
# registered, cancelled, entered-in-error and unknown ones are counted and left out.
FINAL_STATUSES = ("final", "amended", "corrected")
COMPARATORS = ("<", "<=", ">=", ">")


@dataclass(frozen=True)
class LabValue:
    """A value ready for the table: ``value`` in ``unit`` (the wanted unit, or the measured
    one when the wanted form asserts a method), as reported in ``source_unit``/``loinc``."""

    analyte: str
    date: dt.date
    value: Decimal
    comparator: str | None
    unit: str
    source_unit: str
    loinc: str
    converted: bool  # the table value was converted from ``source_unit``
    measured_in_target: bool  # ``source_unit`` is the unit the mapping wants

    @property
    def text(self) -> str:
        return f"{self.comparator or ''}{self.value:f}"


class NotFinal(Exception):
    """The Observation's status says it is not a standing result (counted, not a problem)."""


def _date(observation: dict[str, Any]) -> dt.date | None:
    when = observation.get("effectiveDateTime") or observation.get("effectiveInstant")
    if when is None:
        when = (observation.get("effectivePeriod") or {}).get("start")
    if not isinstance(when, str) or len(when) < 10:
        return None  # absent, or only a year or month
    try:
        return dt.date.fromisoformat(when[:10])
    except ValueError:
        return None


def _loinc_codes(observation: dict[str, Any], targets: LabTargets) -> set[str]:
    codings = (observation.get("code") or {}).get("coding") or ()
    return {
        c["code"]
        for c in codings
        if isinstance(c, dict) and c.get("system") == LOINC and c.get("code") in targets.by_code
    }


class Normaliser:
    """Turns the Observations of one pull into ``LabValue``s; caches conversions."""

    def __init__(self, targets: LabTargets) -> None:
        self.targets = targets
        self._converters: dict[tuple[str, str], Converter] = {}

    def normalise(self, observation: dict[str, Any], row: int, subject: str) -> LabValue | Problem:
        """The value of one Observation the search returned for this participant.

        Raises ``NotFinal`` for a result whose status says it does not stand.
        """
        codes = _loinc_codes(observation, self.targets)
        keys = {self.targets.by_code[c] for c in codes}
        date = _date(observation)
        day = date.isoformat() if date else None

        def problem(rule: str, message: str, analyte: str | None = None) -> Problem:
            return Problem(row, rule, message, subject, analyte, day)

        if len(keys) != 1:
            return problem("code", f"coded as several analytes ({', '.join(sorted(codes))})")
        key = keys.pop()
        loinc = sorted(codes)[0]
        target = self.targets.by_key[key]
        if observation.get("status") not in FINAL_STATUSES:
            raise NotFinal
        if date is None:
            return problem("no-date", f"LOINC {loinc}: no effective date to the day", key)
        quantity = observation.get("valueQuantity")
        if not isinstance(quantity, dict) or quantity.get("value") is None:
            return problem("no-value", f"LOINC {loinc}: no valueQuantity with a value", key)
        unit = quantity.get("code")
        if quantity.get("system") != UCUM or not isinstance(unit, str):
            return problem(
                "unit", f"LOINC {loinc}: the unit is not coded in UCUM (valueQuantity.system)", key
            )
        comparator = quantity.get("comparator")
        if comparator is not None and comparator not in COMPARATORS:
            return problem(
                "value", f"LOINC {loinc}: comparator '{comparator}' is not one of R4's", key
            )
        try:
            measured = Decimal(str(quantity["value"]))
            check_ucum(unit)
        except (InvalidOperation, ValueError):
            return problem("value", f"LOINC {loinc}: the value or unit cannot be read", key)
        if not measured.is_finite():
            return problem("value", f"LOINC {loinc}: the value is not a number", key)
        return self._convert(target, loinc, unit, measured, comparator, date, problem)

    def _convert(
        self,
        target: LabTarget,
        loinc: str,
        unit: str,
        measured: Decimal,
        comparator: str | None,
        date: dt.date,
        problem: Callable[[str, str, str], Problem],
    ) -> LabValue | Problem:
        key = target.key
        if unit == target.unit:
            value, written = measured, unit
        else:
            converter = self._converter(target, unit)
            if isinstance(converter, str):
                return problem("unit", f"LOINC {loinc}: {converter}", key)
            converted = converter(measured)
            if not self._plausible(target, target.unit, converted):
                return problem("range", self._range_text(target, target.unit, loinc), key)
            if target.keep_measured:
                if unit not in target.analyte.forms:
                    return problem(
                        "unit",
                        f"LOINC {loinc}: '{key}' in {target.unit} asserts a method, and a value "
                        f"in {unit} (not a form of the catalogue) cannot be carried beside it",
                        key,
                    )
                value, written = measured, unit  # map's convert attaches the converted value
            else:
                value, written = converted, target.unit
        if not self._plausible(target, written, value):
            return problem("range", self._range_text(target, written, loinc), key)
        return LabValue(
            key, date, value, comparator, written, unit, loinc, written != unit, unit == target.unit
        )

    def _converter(self, target: LabTarget, unit: str) -> Converter | str:
        cached = self._converters.get((target.key, unit))
        if cached is not None:
            return cached
        decimals = target.decimals
        if decimals is None:
            return f"the catalogue gives no decimals for '{target.key}' in {target.unit}"
        try:
            converter = resolve(
                unit,
                target.unit,
                molar_mass=target.analyte.molar_mass_g_per_mol,
                equations=target.analyte.conversions,
                decimals=decimals,
            )
        except UnitError as error:
            return f"{error} for '{target.key}'"
        if converter.scale <= 0:  # a comparator would turn round; none of ours does
            return f"no order-keeping conversion from '{unit}' to '{target.unit}'"
        self._converters[(target.key, unit)] = converter
        return converter

    @staticmethod
    def _plausible(target: LabTarget, unit: str, value: Decimal) -> bool:
        form = target.analyte.forms.get(unit)
        if form is None:
            return True
        low = None if form.min is None else Decimal(str(form.min))
        high = None if form.max is None else Decimal(str(form.max))
        return not ((low is not None and value < low) or (high is not None and value > high))

    @staticmethod
    def _range_text(target: LabTarget, unit: str, loinc: str) -> str:
        form = target.analyte.forms[unit]
        return (
            f"LOINC {loinc}: outside the plausible range {form.min}–{form.max} {unit} of "
            f"'{target.key}'"
        )
