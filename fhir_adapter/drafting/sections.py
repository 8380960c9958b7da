"""Draft each record section from its table: one builder per section, fields by header words.

Every builder fills what the headers and cells say without doubt and writes TODO with the
choices where only the study can decide. Only code columns' values are written (in maps);
no identifier, date, number or free text from a cell ever reaches the draft.
"""

from __future__ import annotations

from fhir_adapter.drafting.analytes import analyte_for, find_rule, guess_column
from fhir_adapter.drafting.codes import Targets, normal, targets
from fhir_adapter.drafting.columns import code_values
from fhir_adapter.drafting.fields import Reference, Table, pick, reference
from fhir_adapter.drafting.roles import references
from fhir_adapter.drafting.yamltext import TODO, Block
from fhir_adapter.mapping.spec import CodeCatalogue
from fhir_adapter.sources.redcap import EVENT as REDCAP_EVENT

DATES = ("date",)
DATE_OR_YEAR = ("date", "year")
CODES = ("code", "count")
IDS = ("identifier", "count", "code", "text")
NUMBERS = ("number", "count")
TEXT = ("text", "code", "identifier")


class Context:
    """What every builder needs: the targets of mapped fields and the catalogue."""

    def __init__(self, codes: CodeCatalogue, target_sets: dict[str, Targets]) -> None:
        self.codes = codes
        self.targets = target_sets


def _set(block: Block, key: str, ref: Reference, *, note: str | None = None) -> None:
    comment = "; ".join(c for c in (ref.comment, note) if c) or None
    block.add(key, ref.value, comment)


def _start(table: Table) -> Block:
    block = Block()
    block.add("table", table.name)
    block.add(
        "subject", table.subject or TODO, None if table.subject else "the participant id column"
    )
    return block


def participants(table: Table, ctx: Context) -> Block:
    block = _start(table)
    t = ctx.targets
    _set(
        block,
        "sex",
        reference(pick(table, ("sex", "gender"), CODES), blank_ok=True, targets=t["sex"]),
    )
    _set(
        block,
        "birth_date",
        reference(pick(table, ("dob", "birth", "yob", "born"), DATE_OR_YEAR), blank_ok=True),
    )
    arm = pick(
        table,
        (
            "arm",
            "group",
            "route",
            "allocation",
            "randomisation",
            "randomization",
            "cohort",
            "treatment",
        ),
        CODES,
    )
    if arm is not None and arm.labels:
        # Labels of a choice list ('Pancreatic artery'), not codes: the study names its arms.
        arms = Block()
        for label in arm.codes:
            arms.add(label, TODO)
        arm_block = Block()
        arm_block.add("column", arm.name)
        arm_block.add("map", arms, "each label to the code of one of study.arms")
        block.add("arm", arm_block)
    else:
        _set(block, "arm", reference(arm, blank_ok=False), note="the study.arms codes above")
    enrolled = (
        "consent",
        "enrolment",
        "enrollment",
        "enrol",
        "enroll",
        "registration",
        "inclusion",
        "randomisation",
        "randomization",
        "start",
    )
    _set(block, "enrolled", reference(pick(table, enrolled, DATES), blank_ok=False))
    status = reference(
        pick(table, ("status", "disposition"), CODES), blank_ok=False, targets=t["status"]
    )
    _set(
        block,
        "status",
        status,
        note=(
            "R4 research-subject-status: 'withdrawn' means before registration; a participant "
            "treated and followed who then left is 'off-study' (docs/mapping.md)"
        ),
    )
    end = pick(
        table,
        ("end", "exit", "withdrawal", "discontinuation", "stop", "last"),
        DATES,
        avoid=("reason",),
    )
    if end is not None:
        _set(block, "end", reference(end, blank_ok=True))
    reason = pick(table, ("reason",), CODES)
    if reason is not None:
        _set(block, "end_reason", reference(reason, blank_ok=True, targets=t["end_reasons"]))
    return block


def diagnosis(table: Table, ctx: Context) -> Block | None:
    onset = pick(table, ("diagnosis", "diagnosed", "dx", "onset"), DATE_OR_YEAR)
    if onset is None:
        return None
    block = _start(table)
    conditions = ", ".join(ctx.codes.conditions) or "none in the catalogue"
    block.add("condition", TODO, f"the study's condition, a key of codes.conditions: {conditions}")
    _set(block, "onset", reference(onset, blank_ok=False))
    return block


def _visit_and_date(table: Table, block: Block) -> None:
    _set(
        block,
        "date",
        reference(pick(table, ("date", "sample", "collection", "visit"), DATES), blank_ok=False),
    )
    visit = pick(
        table,
        ("visit", "timepoint", "visitmonth", "month", "week", "day", "event"),
        (*CODES, "text", "identifier"),
    )
    note = None
    if visit is not None and visit.name == REDCAP_EVENT:
        note = (
            "REDCap's unique event names; to share ids with another export of the study, "
            "map them to its visit codes: {column: redcap_event_name, map: {baseline_arm_1: BL}}"
        )
    _set(block, "visit", reference(visit, blank_ok=False), note=note)


def wide_observations(table: Table, ctx: Context) -> Block | None:
    block = _start(table)
    block.add("layout", "wide")
    _visit_and_date(table, block)
    values: list[Block] = []
    skipped: list[str] = []
    for name in table.header:
        column = table.columns[name]
        if name in table.used or name == table.subject or column.kind not in NUMBERS:
            continue
        guess = guess_column(name, column.median, ctx.codes)
        if guess is None:
            skipped.append(name)
            continue
        table.used.add(name)
        item = Block()
        item.add("column", name)
        item.add("analyte", guess.analyte or TODO, guess.analyte_note or None)
        item.add("unit", guess.unit or TODO, "; ".join(guess.unit_notes) or None)
        if guess.convert_to:
            item.add("convert_to", guess.convert_to)
        values.append(item)
    if not values:
        return None
    block.add(
        "values",
        values,
        None,
        [f"not drafted (no analyte recognised): {', '.join(skipped)}"] if skipped else (),
    )
    return block


def long_observations(table: Table, ctx: Context) -> Block | None:
    test = next(
        (
            c
            for c in table.columns.values()
            if c.kind == "code" and c.name != table.subject and any(find_rule(v) for v in c.codes)
        ),
        None,
    )
    if test is None:
        return None
    table.used.add(test.name)
    block = _start(table)
    block.add("layout", "long")
    _visit_and_date(table, block)
    mapping = Block()
    open_notes: list[str] = []
    for code in test.codes:
        rule = find_rule(code)
        analyte, note = analyte_for(rule, code, ctx.codes) if rule else (None, "")
        mapping.add(code, analyte or TODO, note or None)
        if analyte is None:
            open_notes.append(code)
    analyte_block = Block()
    analyte_block.add("column", test.name)
    choices = ", ".join(ctx.codes.analytes)
    analyte_block.add("map", mapping, f"to: {choices}" if open_notes else None)
    block.add("analyte", analyte_block)
    result = pick(table, ("result", "value", "res", "orres", "stresn"), NUMBERS)
    block.add("value", result.name if result else TODO, None if result else "the result column")
    unit = pick(table, ("unit", "units", "uom"), CODES)
    _set(block, "unit", _unit_reference(unit))
    return block


def _unit_reference(column: object) -> Reference:
    """A unit column: the bare column when every value is UCUM already, else a map to UCUM."""
    from fhir_adapter.drafting.columns import ColumnProfile
    from fhir_adapter.mapping.units import UnitError, check_ucum

    if not isinstance(column, ColumnProfile):
        return Reference(TODO, "no unit column found")

    def ucum(value: str) -> str | None:
        try:
            check_ucum(value)
        except UnitError:
            return None
        return value

    values = code_values(column)
    names = {v: ucum(v) for v in values}
    if values and all(names.values()):
        return Reference(column.name, None)
    units = targets("ucum", [v for v in names.values() if v])
    return reference(column, blank_ok=True, targets=units)


def procedures(table: Table, ctx: Context, products: Table | None) -> Block:
    block = _start(table)
    words = ("procedure", "proc", "id", "no", "number")
    ident = pick(table, words, ("identifier",)) or pick(table, words, IDS)
    block.add(
        "id", ident.name if ident else TODO, None if ident else "the procedure's own id column"
    )
    t = ctx.targets
    _set(
        block,
        "kind",
        reference(
            pick(table, ("kind", "type", "code", "procedure", "proc"), CODES),
            blank_ok=False,
            targets=t["procedures"],
        ),
    )
    _set(
        block, "date", reference(pick(table, ("date", "performed", "start"), DATES), blank_ok=False)
    )
    route = pick(table, ("route",), CODES)
    if route is not None:
        _set(block, "route", reference(route, blank_ok=True, targets=t["routes"]))
    site = pick(table, ("site", "bodysite", "location"), CODES)
    if site is not None:
        _set(block, "body_site", reference(site, blank_ok=True, targets=t["body_sites"]))
    if products is not None and products.subject is not None:
        product_id = _product_id(products)
        linked = references(table, products, product_id) if product_id else None
        if linked is not None:
            table.used.add(linked)
            _set(block, "product", reference(table.columns[linked], blank_ok=True))
    return block


def _product_id(table: Table) -> str | None:
    ids = [n for n in table.header if table.columns[n].unique and n != table.subject]
    ids.sort(key=lambda n: ("product" not in n.lower(), table.header.index(n)))
    return ids[0] if ids else None


def products(
    table: Table, ctx: Context, procedures: Table | None, procedure_id: str | None
) -> Block:
    block = _start(table)
    ident = _product_id(table)
    if ident:
        table.used.add(ident)
    block.add("id", ident or TODO, None if ident else "the product's own id column")
    if procedures is not None and procedure_id is not None:
        harvest = references(table, procedures, procedure_id)
        if harvest is not None:
            table.used.add(harvest)
            _set(block, "harvest", reference(table.columns[harvest], blank_ok=True))
    _set(
        block,
        "collected",
        reference(
            pick(table, ("collection", "collected", "harvest", "date"), DATES), blank_ok=False
        ),
    )
    t = ctx.targets
    _set(
        block,
        "cell_type",
        reference(
            pick(table, ("celltype", "cell", "type"), CODES),
            blank_ok=False,
            targets=t["cell_types"],
        ),
    )
    dose = pick(table, ("dose",), NUMBERS)
    _set(block, "dose", reference(dose, blank_ok=True))
    squeezed = normal(dose.name).replace("_", "") if dose else ""
    if "1e6" in squeezed and "kg" in squeezed:
        block.add("dose_unit", "10*6/kg", "from the header: 10^6 cells per kg")
    else:
        block.add("dose_unit", TODO, "UCUM unit of the dose column, e.g. 10*6/kg")
    viability = pick(table, ("viability", "viable"), NUMBERS)
    if viability is not None:
        _set(block, "viability", reference(viability, blank_ok=True))
    return block


def medications(table: Table, ctx: Context) -> Block:
    block = _start(table)
    line = pick(
        table,
        ("line", "lineno", "seq", "sequence", "no", "number", "instance"),
        ("count", "identifier", "code"),
    )
    block.add(
        "line",
        line.name if line else TODO,
        None if line else "the column numbering each participant's lines",
    )
    t = ctx.targets
    _set(
        block,
        "drug",
        reference(
            pick(table, ("drug", "medication", "med", "product", "name", "treatment"), CODES),
            blank_ok=False,
            targets=t["drugs"],
        ),
    )
    dose = pick(table, ("dose", "dosage", "amount"), NUMBERS, avoid=("unit",))
    _set(block, "dose", reference(dose, blank_ok=True))
    _set(block, "dose_unit", _unit_reference(pick(table, ("unit", "units", "uom"), CODES)))
    times = pick(table, ("perday", "timesperday", "frequency", "freq", "times"), ("count", "code"))
    if times is not None:
        _set(block, "times_per_day", reference(times, blank_ok=True))
    else:
        hint = f" ('{dose.name}' suggests so)" if dose and "daily" in dose.name.lower() else ""
        block.add(
            "daily_total",
            TODO,
            f"true if the dose column is the total per day{hint}; false needs times_per_day",
        )
    _set(block, "start", reference(pick(table, ("start", "begin", "from"), DATES), blank_ok=False))
    end = pick(table, ("end", "stop", "to"), DATES)
    if end is not None:
        _set(block, "end", reference(end, blank_ok=True))
    return block


def adverse_events(table: Table, ctx: Context) -> Block:
    block = _start(table)
    ident = pick(table, ("ae", "aeid", "event", "eventno", "id", "no", "number", "seq"), IDS)
    block.add("id", ident.name if ident else TODO, None if ident else "the event's own id column")
    _set(block, "onset", reference(pick(table, ("onset", "start", "date"), DATES), blank_ok=False))
    _set(
        block,
        "term",
        reference(
            pick(table, ("term", "description", "event", "text", "name"), TEXT), blank_ok=False
        ),
    )
    t = ctx.targets
    _set(
        block,
        "severity",
        reference(
            pick(table, ("severity", "grade", "intensity"), CODES),
            blank_ok=False,
            targets=t["severity"],
        ),
    )
    _set(
        block,
        "serious",
        reference(
            pick(table, ("serious", "sae", "seriousness"), CODES),
            blank_ok=False,
            targets=t["serious"],
        ),
    )
    outcome = pick(table, ("outcome",), CODES)
    if outcome is not None:
        _set(block, "outcome", reference(outcome, blank_ok=True, targets=t["outcome"]))
    return block
