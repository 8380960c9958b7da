"""Which laboratory analytes a mapping reads, in which unit, and by which LOINC codes.

The unit of an analyte is the one the mapping declares for it: a wide section's
``convert_to`` (else its ``unit``), a long section's ``convert: {analyte: {to: ...}}``, an
analyte with a single form in the catalogue, or ``--unit analyte=UCUM``. Two sections that
declare different units, or an analyte with several forms and no declaration, need
``--unit``: the unit is never guessed.

The codes searched for are the LOINC codes of every form of each analyte in the catalogue
(HbA1c in % and mmol/mol, both glucose forms, ...): a hospital reports in either unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fhir_adapter.errors import ConfigError
from fhir_adapter.mapping.spec import Analyte, LongObservations, MappingSpec, WideObservations

LOINC = "http://loinc.org"


class LabTargetError(ConfigError):
    """The mapping does not say which unit an analyte is wanted in, or ``--unit`` names an
    analyte or unit the mapping cannot write."""


@dataclass(frozen=True)
class LabTarget:
    """One analyte to fetch: its catalogue entry and the unit the table carries it in.

    ``keep_measured``: the unit's form asserts a method (HbA1c in mmol/mol "by IFCC
    protocol"), which a converted value does not have; a value measured in another unit is
    then written as measured and the mapping snippet's ``convert`` has ``map`` attach the
    converted value beside it (as ``map`` does for any source).
    """

    key: str
    unit: str
    analyte: Analyte

    @property
    def keep_measured(self) -> bool:
        return self.analyte.forms[self.unit].method is not None

    @property
    def decimals(self) -> int | None:
        return self.analyte.forms[self.unit].decimals


@dataclass(frozen=True)
class LabTargets:
    """The analytes to fetch (by key) and which analyte each searched LOINC code reports."""

    by_key: dict[str, LabTarget]
    by_code: dict[str, str]

    @property
    def codes(self) -> list[str]:
        return sorted(self.by_code)


def _declared(spec: MappingSpec) -> dict[str, set[str]]:
    """Analyte key → the units the mapping's observation sections declare for it."""
    declared: dict[str, set[str]] = {}
    labs = {k for k, a in spec.codes.analytes.items() if a.category == "laboratory"}
    for section in spec.observations:
        if isinstance(section, WideObservations):
            for value in section.values:
                declared.setdefault(value.analyte, set()).add(value.convert_to or value.unit)
        elif isinstance(section, LongObservations):
            column = section.analyte
            if column.value is not None:
                keys = {column.value}
            elif column.map is not None:
                keys = set(column.map.values())
            else:  # the analyte column is read as written: any analyte of the catalogue
                keys = labs
            for key in keys:
                units = declared.setdefault(key, set())
                if key in section.convert:
                    units.add(section.convert[key].to)
    return {key: units for key, units in declared.items() if key in labs}


def lab_targets(spec: MappingSpec, units: Mapping[str, str] | None = None) -> LabTargets:
    """The laboratory analytes ``spec`` reads, each in its unit; ``units`` (from ``--unit``)
    overrides the mapping's declaration. Raises ``LabTargetError`` when a unit is unclear."""
    analytes = spec.codes.analytes
    chosen = dict(units or {})
    for key, unit in chosen.items():
        if key not in analytes or analytes[key].category != "laboratory":
            raise LabTargetError(
                f"--unit {key}=...: '{key}' is not a laboratory analyte of the mapping's catalogue"
            )
        if unit not in analytes[key].forms:
            raise LabTargetError(
                f"--unit {key}={unit}: the catalogue has no form of '{key}' in that unit "
                f"(forms: {', '.join(analytes[key].forms)})"
            )
    by_key: dict[str, LabTarget] = {}
    for key, declared in sorted(_declared(spec).items()):
        forms = analytes[key].forms
        if key in chosen:
            unit = chosen[key]
        elif len(declared) == 1:
            (unit,) = declared
        elif not declared and len(forms) == 1:
            (unit,) = forms
        else:
            listed = ", ".join(sorted(declared or forms))
            raise LabTargetError(
                f"the mapping does not name one unit for '{key}' ({listed}); choose one with "
                f"--unit {key}=UNIT"
            )
        by_key[key] = LabTarget(key, unit, analytes[key])
    if not by_key:
        raise LabTargetError("the mapping's observation sections read no laboratory analyte")
    by_code: dict[str, str] = {}
    for key, target in by_key.items():
        for form in target.analyte.forms.values():
            other = by_code.setdefault(form.loinc, key)
            if other != key:
                raise LabTargetError(
                    f"LOINC {form.loinc} is a form of both '{other}' and '{key}': a value "
                    "coded so could not be told apart"
                )
    return LabTargets(by_key, by_code)
