"""UCUM units: checking codes and converting values between units of one analyte.

Every conversion we support is affine (``to = scale × from + offset``), so each one is
resolved once when the mapping is loaded and applied per value with exact decimals:
- same dimension (pmol/L → nmol/L, g → kg): the factor comes from the UCUM grammar (ucumvert);
- mass ↔ molar concentration (ng/mL → nmol/L): through the analyte's declared molar mass;
- analyte equations (HbA1c mmol/mol ↔ %): the IFCC–NGSP master equation, by name.

Results are rounded half-up (as laboratories round, not banker's rounding) to the decimals
laboratories report in the target unit (the catalogue's per-form ``decimals``, e.g. HbA1c
mmol/mol as whole numbers and % to one decimal, per the IFCC/NGSP consensus quoted on
loinc.org/96595-4).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# NGSP(%) = 0.09148 × IFCC(mmol/mol) + 2.152 — ngsp.org/ifcc.asp (shared/domain/CODES.md §4).
_NGSP_SLOPE = Decimal("0.09148")
_NGSP_INTERCEPT = Decimal("2.152")

EQUATIONS: dict[str, tuple[Decimal, Decimal]] = {
    "ngsp_from_ifcc": (_NGSP_SLOPE, _NGSP_INTERCEPT),
    "ifcc_from_ngsp": (1 / _NGSP_SLOPE, -_NGSP_INTERCEPT / _NGSP_SLOPE),
}


class UnitError(ValueError):
    """A unit code is not valid UCUM, or no conversion exists between two units."""


@dataclass(frozen=True, slots=True)
class Converter:
    """``to = scale × from + offset``, rounded half-up to ``decimals`` places."""

    scale: Decimal
    offset: Decimal
    decimals: int

    def __call__(self, value: Decimal) -> Decimal:
        exponent = Decimal(1).scaleb(-self.decimals)
        return (value * self.scale + self.offset).quantize(exponent, rounding=ROUND_HALF_UP)


@functools.cache
def _registry() -> Any:
    # Imported lazily: building the UCUM grammar takes about half a second.
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


@functools.cache
def _quantity(code: str) -> Any:
    try:
        return _registry().from_ucum(code)
    except Exception as exc:  # ucumvert raises lark and pint errors of several kinds
        raise UnitError(f"'{code}' is not a valid UCUM unit code") from exc


def check_ucum(code: str) -> None:
    """Raise UnitError unless ``code`` parses as UCUM."""
    _quantity(code)


def _factor(from_code: str, to_code: str) -> Decimal | None:
    source, target = _quantity(from_code), _quantity(to_code)
    if source.dimensionality != target.dimensionality:
        return None
    ratio = float((source / target).to_reduced_units().to("dimensionless").magnitude)
    return Decimal(f"{ratio:.12g}")


def _is_dimension(code: str, dimension: str) -> bool:
    return bool(_quantity(code).check(dimension))


def resolve(
    from_code: str,
    to_code: str,
    *,
    molar_mass: float | None = None,
    equations: dict[str, str] | None = None,
    decimals: int,
) -> Converter:
    """Find the conversion from one unit to another for one analyte, or raise UnitError."""
    named = (equations or {}).get(f"{from_code}->{to_code}")
    if named is not None:
        if named not in EQUATIONS:
            raise UnitError(f"unknown conversion '{named}' (known: {', '.join(sorted(EQUATIONS))})")
        scale, offset = EQUATIONS[named]
        return Converter(scale, offset, decimals)
    factor = _factor(from_code, to_code)
    if factor is not None:
        return Converter(factor, Decimal(0), decimals)
    if molar_mass is not None:
        mass, molar = "[mass]/[length]**3", "[substance]/[length]**3"
        grams_per_mole = Decimal(str(molar_mass))
        if _is_dimension(from_code, mass) and _is_dimension(to_code, molar):
            to_mass = _factor(from_code, "g/L")
            to_target = _factor("mol/L", to_code)
            assert to_mass is not None and to_target is not None
            return Converter(to_mass / grams_per_mole * to_target, Decimal(0), decimals)
        if _is_dimension(from_code, molar) and _is_dimension(to_code, mass):
            to_molar = _factor(from_code, "mol/L")
            to_target = _factor("g/L", to_code)
            assert to_molar is not None and to_target is not None
            return Converter(to_molar * grams_per_mole * to_target, Decimal(0), decimals)
    raise UnitError(f"no conversion from '{from_code}' to '{to_code}'")
