"""``Measurer``: an analyte result in its declared unit, converted if asked, range-checked.

Shared by every layout of observations (wide, long); compiled once per mapping so each
conversion is resolved once.
"""

from __future__ import annotations

from decimal import Decimal

from fhir_adapter.mapping.records import Converted
from fhir_adapter.mapping.rowreader import RowReader
from fhir_adapter.mapping.spec import CodeCatalogue
from fhir_adapter.mapping.units import Converter, UnitError, resolve


class Measurer:
    def __init__(self, codes: CodeCatalogue):
        self.codes = codes
        self._converters: dict[tuple[str, str, str, int], Converter] = {}
        self._bounds = {
            (key, unit): (
                None if form.min is None else Decimal(str(form.min)),
                None if form.max is None else Decimal(str(form.max)),
            )
            for key, analyte in codes.analytes.items()
            for unit, form in analyte.forms.items()
        }

    def measure(
        self,
        r: RowReader,
        column: str,
        analyte_key: str,
        unit: str,
        convert_to: str | None,
        decimals: int | None,
        value: Decimal,
        unit_column: str | None = None,
    ) -> tuple[str, Decimal, Converted | None] | None:
        """Convert if asked, then check each value against its form's plausible range.

        A conversion into a form whose code asserts a method (HbA1c by IFCC protocol) keeps
        the measured value in its own form and returns the converted one beside it.
        """
        analyte = self.codes.analytes[analyte_key]
        target = convert_to or unit
        if target not in analyte.forms or (
            target != unit and analyte.forms[target].method and unit not in analyte.forms
        ):
            r.fail(
                unit_column or column,
                "unit",
                f"unit is not one the mapping declares for analyte '{analyte_key}'",
            )
            return None
        if target == unit:
            if not self._in_range(r, column, analyte_key, unit, value):
                return None
            return unit, value, None
        converter = self._converter(r, column, analyte_key, unit, target, decimals, unit_column)
        if converter is None:
            return None
        converted = converter(value)
        if not self._in_range(r, column, analyte_key, target, converted):
            return None
        if analyte.forms[target].method:
            if not self._in_range(r, column, analyte_key, unit, value):
                return None
            return unit, value, Converted(target, converted)
        return target, converted, None

    def _converter(
        self,
        r: RowReader,
        column: str,
        analyte_key: str,
        unit: str,
        target: str,
        decimals: int | None,
        unit_column: str | None,
    ) -> Converter | None:
        analyte = self.codes.analytes[analyte_key]
        places = analyte.forms[target].decimals if decimals is None else decimals
        if places is None:  # refused at load; a unit read from a cell can still get here
            r.fail(unit_column or column, "unit", f"no precision declared for '{target}'")
            return None
        key = (analyte_key, unit, target, places)
        converter = self._converters.get(key)
        if converter is None:
            try:
                converter = resolve(
                    unit,
                    target,
                    molar_mass=analyte.molar_mass_g_per_mol,
                    equations=analyte.conversions,
                    decimals=places,
                )
            except UnitError as exc:
                r.fail(unit_column or column, "unit", str(exc))
                return None
            self._converters[key] = converter
        return converter

    def _in_range(
        self, r: RowReader, column: str, analyte_key: str, unit: str, value: Decimal
    ) -> bool:
        """Whether ``value`` is plausible for the analyte's form in ``unit`` (else a row error)."""
        low, high = self._bounds[(analyte_key, unit)]
        if (low is not None and value < low) or (high is not None and value > high):
            r.fail(column, "range", f"outside the plausible range {low}–{high} {unit}")
            return False
        return True
