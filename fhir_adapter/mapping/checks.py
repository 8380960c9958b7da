"""Cross-reference checks on a parsed mapping: the rules a schema alone cannot express.

Each problem is yielded as (message, key path) so the loader can point at the line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from fhir_adapter.mapping.codesets import (
    AE_OUTCOME,
    SERIOUSNESS,
    SEVERITY,
    SEX,
    SUBJECT_STATUS,
)
from fhir_adapter.mapping.constructs import construct_problems
from fhir_adapter.mapping.readcheck import read_option_problems
from fhir_adapter.mapping.spec import Column, MappingSpec
from fhir_adapter.mapping.units import UnitError, check_ucum, resolve
from fhir_adapter.mapping.values import before

Problem = tuple[str, Sequence[Any]]


def _targets(
    column: Column | None, allowed: set[str] | dict[str, Any], what: str, loc: list[Any]
) -> Iterator[Problem]:
    """Every value a column can produce must be in ``allowed``."""
    if column is None:
        return
    for key in ("value", "default"):
        constant = getattr(column, key)
        if constant is not None and column.map is None and constant not in allowed:
            yield (
                f"'{constant}' is not a known {what} ({_listing(allowed, constant)})",
                [*loc, key],
            )
    for local, target in (column.map or {}).items():
        if target not in allowed:
            yield (
                (
                    f"maps '{local}' to '{target}', which is not a known {what} "
                    f"({_listing(allowed, target)})"
                ),
                [*loc, "map", local],
            )


def _listing(allowed: Any, name: str | None = None) -> str:
    """The allowed names, led by a did-you-mean guess for ``name`` when one is close."""
    names = sorted(str(n) for n in allowed)
    known = "known: " + ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
    guess = difflib.get_close_matches(name, names, n=1, cutoff=0.6) if name else []
    return f"did you mean '{guess[0]}'? {known}" if guess else known


def not_in(name: str, where: str, allowed: Any) -> str:
    """E.g. "'hba1k' is not in codes.analytes (did you mean 'hba1c'? known: ...)"."""
    return f"'{name}' is not in {where} ({_listing(allowed, name)})"


def _unit(code: str, loc: list[Any]) -> Iterator[Problem]:
    try:
        check_ucum(code)
    except UnitError as exc:
        yield str(exc), loc


def _unit_column(column: Column, loc: list[Any]) -> Iterator[Problem]:
    """A unit field's map targets, and a constant read without a map, must be UCUM."""
    for local, target in (column.map or {}).items():
        yield from _unit(target, [*loc, "map", local])
    for key in ("value", "default"):
        constant = getattr(column, key, None)
        if constant is not None and column.map is None:
            yield from _unit(constant, [*loc, key])


def path_problem(text: str) -> str | None:
    """Why ``text`` cannot name a file relative to a folder, or None when it can.

    Refuses absolute paths, drive letters and '..' segments in POSIX and Windows spelling,
    so a mapping cannot point the tool at files outside the folder it was given.
    """
    if not text.strip():
        return "is empty"
    if "\x00" in text:
        return "contains a NUL character"
    posix, windows = PurePosixPath(text), PureWindowsPath(text)
    if posix.is_absolute() or windows.drive or windows.root:
        return "is an absolute path"
    if ".." in windows.parts:  # PureWindowsPath splits on both '/' and '\\'
        return "goes up a folder ('..')"
    return None


def _table_files(spec: MappingSpec) -> Iterator[Problem]:
    """Table files must stay inside the data folder; symlinks are checked when opened."""
    for name, table in spec.tables.items():
        problem = path_problem(table.file)
        if problem:
            yield (
                f"file '{table.file}' {problem}; name a file inside the data folder (--data)",
                ["tables", name, "file"],
            )
        dictionary = table.redcap.dictionary if table.redcap is not None else None
        problem = path_problem(dictionary) if dictionary is not None else None
        if problem:
            yield (
                f"dictionary '{dictionary}' {problem}; name a file inside the data folder (--data)",
                ["tables", name, "redcap", "dictionary"],
            )


def semantic_problems(spec: MappingSpec) -> Iterator[Problem]:
    yield from _table_files(spec)
    yield from read_option_problems(spec)
    codes = spec.codes
    for loc, section in spec.sections():
        if section.table not in spec.tables:
            yield (
                f"table '{section.table}' is not declared under 'tables' "
                f"({_listing(spec.tables, section.table)})",
                [*loc, "table"],
            )
    yield from construct_problems(spec)

    study = spec.study
    if study.period_start and study.period_end and before(study.period_end, study.period_start):
        yield "period_end is before period_start", ["study", "period_end"]

    p = spec.participants
    yield from _targets(p.sex, SEX, "administrative gender", ["participants", "sex"])
    yield from _targets(
        p.status, SUBJECT_STATUS, "ResearchSubject status", ["participants", "status"]
    )
    arms = {arm.code: arm for arm in spec.study.arms}
    yield from _targets(p.arm, arms, "arm code (study.arms)", ["participants", "arm"])
    yield from _targets(
        p.end_reason,
        codes.end_reasons,
        "end reason (codes.end_reasons)",
        ["participants", "end_reason"],
    )

    if spec.diagnosis and spec.diagnosis.condition not in codes.conditions:
        yield (
            "condition " + not_in(spec.diagnosis.condition, "codes.conditions", codes.conditions),
            ["diagnosis", "condition"],
        )

    for index, section in enumerate(spec.observations):
        loc = ["observations", index]
        if section.layout == "wide":
            for v_index, value in enumerate(section.values):
                yield from _observed(
                    spec,
                    value.analyte,
                    value.unit,
                    value.convert_to,
                    value.decimals,
                    [*loc, "values", v_index],
                )
        else:
            yield from _targets(section.analyte, codes.analytes, "analyte", [*loc, "analyte"])
            for local, unit in (section.unit.map or {}).items():
                yield from _unit(unit, [*loc, "unit", "map", local])
            for analyte, conversion in section.convert.items():
                if analyte not in codes.analytes:
                    yield (
                        not_in(analyte, "codes.analytes", codes.analytes),
                        [*loc, "convert", analyte],
                    )
                    continue
                for unit in codes.analytes[analyte].forms:
                    if unit != conversion.to:
                        yield from _observed(
                            spec,
                            analyte,
                            unit,
                            conversion.to,
                            conversion.decimals,
                            [*loc, "convert", analyte],
                        )

    if spec.procedures:
        loc = ["procedures"]
        yield from _targets(spec.procedures.kind, codes.procedures, "procedure", [*loc, "kind"])
        yield from _targets(spec.procedures.route, codes.routes, "route", [*loc, "route"])
        yield from _targets(
            spec.procedures.body_site, codes.body_sites, "body site", [*loc, "body_site"]
        )
    for key, kind in codes.procedures.items():
        if kind.route and kind.route not in codes.routes:
            yield (
                "route " + not_in(kind.route, "codes.routes", codes.routes),
                ["codes", "procedures", key],
            )
        if kind.body_site and kind.body_site not in codes.body_sites:
            yield (
                "body site " + not_in(kind.body_site, "codes.body_sites", codes.body_sites),
                ["codes", "procedures", key],
            )
    for key, drug in codes.drugs.items():
        if drug.route not in codes.routes:
            yield (
                "route " + not_in(drug.route, "codes.routes", codes.routes),
                ["codes", "drugs", key],
            )
    if spec.products:
        yield from _targets(
            spec.products.cell_type, codes.cell_types, "cell type", ["products", "cell_type"]
        )
        yield from _unit_column(spec.products.dose_unit, ["products", "dose_unit"])
    if spec.medications:
        yield from _targets(spec.medications.drug, codes.drugs, "drug", ["medications", "drug"])
        yield from _unit_column(spec.medications.dose_unit, ["medications", "dose_unit"])
    if spec.adverse_events:
        ae = spec.adverse_events
        yield from _targets(ae.severity, SEVERITY, "severity", ["adverse_events", "severity"])
        yield from _targets(ae.serious, SERIOUSNESS, "seriousness", ["adverse_events", "serious"])
        yield from _targets(ae.outcome, AE_OUTCOME, "outcome", ["adverse_events", "outcome"])


def _observed(
    spec: MappingSpec,
    analyte_key: str,
    unit: str,
    convert_to: str | None,
    decimals: int | None,
    loc: list[Any],
) -> Iterator[Problem]:
    analyte = spec.codes.analytes.get(analyte_key)
    if analyte is None:
        yield not_in(analyte_key, "codes.analytes", spec.codes.analytes), [*loc, "analyte"]
        return
    problems = list(_unit(unit, [*loc, "unit"]))
    if problems:
        yield from problems
        return
    target = convert_to or unit
    if target not in analyte.forms:
        yield (
            (
                f"analyte '{analyte_key}' has no form in '{target}' "
                f"(forms: {', '.join(analyte.forms)})"
            ),
            [*loc, "convert_to" if convert_to else "unit"],
        )
        return
    if convert_to and convert_to != unit:
        form = analyte.forms[convert_to]
        places = form.decimals if decimals is None else decimals
        if places is None:
            yield (
                f"give 'decimals': the catalogue declares no reporting precision for "
                f"'{convert_to}' of analyte '{analyte_key}'",
                [*loc, "convert_to"],
            )
            return
        if form.method and unit not in analyte.forms:
            yield (
                f"the code of '{convert_to}' asserts a method ({form.method}) the source did "
                f"not use, and '{unit}' has no form of its own to keep the measured value in; "
                f"add a form for '{unit}' to analyte '{analyte_key}'",
                [*loc, "convert_to"],
            )
            return
        try:
            resolve(
                unit,
                convert_to,
                molar_mass=analyte.molar_mass_g_per_mol,
                equations=analyte.conversions,
                decimals=places,
            )
        except UnitError as exc:
            yield f"{exc} for analyte '{analyte_key}'", [*loc, "convert_to"]
