"""Unit columns and conversions: the export's unit text to the catalogue's UCUM spelling.

A unit is filled in only when its spelling leaves no doubt: the text is UCUM already and the
catalogue's own spelling (``mg/dL``), or differs from one only in letter case (``ng/ml`` →
``ng/mL``: the lab's habit, same unit), or writes a power of ten with a caret (``10^6/kg`` →
``10*6/kg``), or is a fixed synonym (``IU`` → ``[IU]``). A long table whose analyte comes in
a unit the catalogue has no form for is converted to its only form; an analyte reported in
several forms is the study's choice (keep each with its own LOINC, or convert to one).
"""

from __future__ import annotations

from collections.abc import Iterable

from fhir_adapter.drafting.codes import Targets, normal
from fhir_adapter.drafting.columns import ColumnProfile, code_values
from fhir_adapter.drafting.fields import Reference, Table, reference
from fhir_adapter.drafting.yamltext import TODO, Block, Flow
from fhir_adapter.mapping.spec import CodeCatalogue
from fhir_adapter.mapping.units import UnitError, check_ucum


def _is_ucum(text: str) -> bool:
    try:
        check_ucum(text)
    except UnitError:
        return False
    return True


def catalogue_units(codes: CodeCatalogue) -> dict[str, str]:
    """Lower-cased spelling → the catalogue's spelling, over every analyte's forms."""
    return {form.lower(): form for analyte in codes.analytes.values() for form in analyte.forms}


def spelling(text: str, known: dict[str, str]) -> str | None:
    """The UCUM code a unit text names without doubt, or None."""
    if text in known.values():
        return text
    if text.lower() in known:
        return known[text.lower()]
    caret = text.replace("^", "*")
    if caret != text and _is_ucum(caret):
        return caret
    return text if _is_ucum(text) else None


def unit_reference(column: ColumnProfile | None, codes: CodeCatalogue) -> Reference:
    """A unit column: the bare column when every value is its own UCUM code, else a map."""
    if column is None:
        return Reference(TODO, "no unit column found")
    known = catalogue_units(codes)
    values = code_values(column)
    spelled = {v: spelling(v, known) for v in values}
    if values and all(spelled[v] == v for v in values):
        return Reference(column.name, None)
    found = {normal(v): s for v, s in spelled.items() if s}
    units = Targets("ucum", tuple(sorted(set(found.values()))), found)
    return reference(column, blank_ok=True, targets=units)


def conversions(
    table: Table,
    test: str,
    unit: str,
    analytes: dict[str, str],
    codes: CodeCatalogue,
) -> Block | None:
    """``convert:`` of a long table: per analyte, the units its rows come in (``analytes``:
    test code → catalogue analyte)."""
    known = catalogue_units(codes)
    found: dict[str, set[str]] = {}
    for row in table.sample:
        analyte = analytes.get(str(row.values.get(test, "")).strip())
        text = str(row.values.get(unit, "")).strip()
        ucum = spelling(text, known) if text else None
        if analyte is not None and ucum is not None:
            found.setdefault(analyte, set()).add(ucum)
    block = Block()
    for analyte, units in found.items():
        forms = list(codes.analytes[analyte].forms)
        outside = sorted(units - set(forms))
        if outside and len(forms) == 1:
            block.add(
                analyte,
                Flow({"to": forms[0]}),
                f"reported in {_listed(units)}; the catalogue has {analyte} in {forms[0]} only",
            )
        elif outside:
            block.add(
                analyte,
                TODO,
                f"reported in {_listed(outside)}, which the catalogue has no form for: "
                f"{{to: one of {_listed(forms)}}}",
            )
        elif len(units) > 1:
            block.add(
                analyte,
                TODO,
                f"reported in {_listed(units)}, each a catalogue form with its own LOINC: "
                "delete this line to keep them as reported, or convert all to one: "
                f'{{to: "{forms[0]}"}}',
            )
    return block if block.entries else None


def _listed(units: Iterable[str]) -> str:
    return " and ".join(sorted(units))
