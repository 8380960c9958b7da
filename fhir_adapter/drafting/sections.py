"""Draft each record section from its table: one builder per section, fields by header words.

Every builder fills what the headers and cells say without doubt and writes TODO with the
choices where only the study can decide. Only code columns' values are written (in maps);
no identifier, date, number or free text from a cell ever reaches the draft.
"""

from __future__ import annotations

from dataclasses import replace

from fhir_adapter.drafting import procedure_rows
from fhir_adapter.drafting.analytes import analyte_for, find_rule, guess_column
from fhir_adapter.drafting.codes import Targets, normal
from fhir_adapter.drafting.fields import Reference, Table, pick, reference, words_of
from fhir_adapter.drafting.medications import column_of, frequency_reference, line_note
from fhir_adapter.drafting.roles import references
from fhir_adapter.drafting.units import conversions, unit_reference
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


def set_field(block: Block, key: str, ref: Reference, *, note: str | None = None) -> None:
    comment = "; ".join(c for c in (ref.comment, note) if c) or None
    block.add(key, ref.value, comment)


def start_section(table: Table) -> Block:
    block = Block()
    block.add("table", table.name)
    block.add(
        "subject", table.subject or TODO, None if table.subject else "the participant id column"
    )
    return block


def diagnosis(table: Table, ctx: Context) -> Block | None:
    onset = pick(table, ("diagnosis", "diagnosed", "dx", "onset"), DATE_OR_YEAR)
    if onset is None:
        return None
    block = start_section(table)
    conditions = ", ".join(ctx.codes.conditions) or "none in the catalogue"
    block.add("condition", TODO, f"the study's condition, a key of codes.conditions: {conditions}")
    set_field(block, "onset", reference(onset, blank_ok=False))
    return block


def _visit_and_date(table: Table, block: Block) -> None:
    set_field(
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
    set_field(block, "visit", reference(visit, blank_ok=False), note=note)


def wide_observations(table: Table, ctx: Context) -> Block | None:
    block = start_section(table)
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
    block = start_section(table)
    block.add("layout", "long")
    _visit_and_date(table, block)
    mapping = Block()
    open_notes: list[str] = []
    mapped: dict[str, str | None] = {}
    for code in test.codes:
        rule = find_rule(code)
        analyte, note = analyte_for(rule, code, ctx.codes) if rule else (None, "")
        mapped[code] = analyte
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
    set_field(block, "unit", unit_reference(unit, ctx.codes))
    analytes = {code: a for code, a in mapped.items() if a is not None}
    if result is not None and unit is not None and analytes:
        convert = conversions(table, test.name, unit.name, analytes, ctx.codes)
        if convert is not None:
            block.add(
                "convert",
                convert,
                None,
                ["One unit per analyte where needed (docs/mapping.md, 'Units and conversions')."],
            )
    return block


def procedures(table: Table, ctx: Context, products: Table | None) -> Block:
    """``products`` is the products table, or None; when it is None and a column of this
    table names products, the products are on these rows (``procedure_rows``)."""
    block = start_section(table)
    own_product = procedure_rows.product_column(table) if products is None else None
    if own_product is not None:
        table.used.add(own_product)
    words = ("procedure", "proc", "id", "no", "number")
    ident = pick(table, words, ("identifier",)) or pick(table, words, IDS)
    block.add(
        "id", ident.name if ident else TODO, None if ident else "the procedure's own id column"
    )
    t = ctx.targets
    set_field(
        block,
        "kind",
        reference(
            pick(table, ("kind", "type", "code", "procedure", "proc"), CODES),
            blank_ok=False,
            targets=t["procedures"],
        ),
    )
    set_field(
        block, "date", reference(pick(table, ("date", "performed", "start"), DATES), blank_ok=False)
    )
    route = pick(table, ("route",), CODES)
    if route is not None and {"site", "location"} & set(words_of(route.name)):
        kind = drafted_columns(block).get("kind")
        route_note, site_note = procedure_rows.mixed_route_site(
            table, route.name, kind, lambda v: t["routes"].match(v) is not None
        )
        block.add("route", TODO, route_note)
        block.add("body_site", TODO, site_note)
    elif route is not None:
        set_field(block, "route", reference(route, blank_ok=True, targets=t["routes"]))
    site = pick(table, ("site", "bodysite", "location"), CODES)
    if site is not None:
        set_field(block, "body_site", reference(site, blank_ok=True, targets=t["body_sites"]))
    if products is not None and products.subject is not None:
        product_id = _product_id(products)
        linked = references(table, products, product_id) if product_id else None
        if linked is not None:
            table.used.add(linked)
            set_field(block, "product", reference(table.columns[linked], blank_ok=True))
    if own_product is not None:
        set_field(block, "product", reference(table.columns[own_product], blank_ok=True))
    return block


def drafted_columns(block: Block) -> dict[str, str | None]:
    """Each field of a drafted section → the column it reads (None: TODO, constant)."""
    return {e.key: column_of(e.value) for e in block.entries}


def procedure_products(table: Table, ctx: Context, procedures: Block) -> Block | None:
    """Products on the procedure rows, when a column of the table names them."""
    product = procedure_rows.product_column(table)
    if product is None:
        return None
    return procedure_rows.products(
        table, product, drafted_columns(procedures), ctx.codes, list(ctx.codes.cell_types)
    )


def _product_id(table: Table) -> str | None:
    ids = [n for n in table.header if table.columns[n].unique and n != table.subject]
    ids.sort(key=lambda n: ("product" not in n.lower(), table.header.index(n)))
    return ids[0] if ids else None


def products(
    table: Table, ctx: Context, procedures: Table | None, procedure_id: str | None
) -> Block:
    block = start_section(table)
    ident = _product_id(table)
    if ident:
        table.used.add(ident)
    block.add("id", ident or TODO, None if ident else "the product's own id column")
    if procedures is not None and procedure_id is not None:
        harvest = references(table, procedures, procedure_id)
        if harvest is not None:
            table.used.add(harvest)
            set_field(block, "harvest", reference(table.columns[harvest], blank_ok=True))
    set_field(
        block,
        "collected",
        reference(
            pick(table, ("collection", "collected", "harvest", "date"), DATES), blank_ok=False
        ),
    )
    t = ctx.targets
    set_field(
        block,
        "cell_type",
        reference(
            pick(table, ("celltype", "cell", "type"), CODES),
            blank_ok=False,
            targets=t["cell_types"],
        ),
    )
    dose = pick(table, ("dose",), NUMBERS)
    set_field(block, "dose", reference(dose, blank_ok=True))
    squeezed = normal(dose.name).replace("_", "") if dose else ""
    if "1e6" in squeezed and "kg" in squeezed:
        block.add("dose_unit", "10*6/kg", "from the header: 10^6 cells per kg")
    else:
        block.add("dose_unit", TODO, "UCUM unit of the dose column, e.g. 10*6/kg")
    viability = pick(table, ("viability", "viable"), NUMBERS)
    if viability is not None:
        set_field(block, "viability", reference(viability, blank_ok=True))
    return block


def medications(table: Table, ctx: Context) -> Block:
    block = start_section(table)
    line = pick(
        table,
        ("line", "lineno", "seq", "sequence", "no", "number", "instance"),
        ("count", "identifier", "code"),
    )
    block.add("line", line.name if line else TODO)
    t = ctx.targets
    set_field(
        block,
        "drug",
        reference(
            pick(table, ("drug", "medication", "med", "product", "name", "treatment"), CODES),
            blank_ok=False,
            targets=t["drugs"],
        ),
    )
    dose = pick(table, ("dose", "dosage", "amount"), NUMBERS, avoid=("unit",))
    set_field(block, "dose", reference(dose, blank_ok=True))
    set_field(
        block, "dose_unit", unit_reference(pick(table, ("unit", "units", "uom"), CODES), ctx.codes)
    )
    times = pick(table, ("perday", "timesperday", "frequency", "freq", "times"), ("count",))
    text = pick(table, ("frequency", "freq", "schedule", "regimen", "times"), ("code", "text"))
    if times is not None:
        set_field(block, "times_per_day", reference(times, blank_ok=True))
    elif text is not None:
        set_field(block, "frequency", frequency_reference(text))
    else:
        hint = f" ('{dose.name}' suggests so)" if dose and "daily" in dose.name.lower() else ""
        block.add(
            "daily_total",
            TODO,
            f"true if the dose column is the total per day{hint}; false needs times_per_day",
        )
    set_field(
        block, "start", reference(pick(table, ("start", "begin", "from"), DATES), blank_ok=False)
    )
    end = pick(table, ("end", "stop", "to"), DATES)
    if end is not None:
        set_field(block, "end", reference(end, blank_ok=True))
    if line is None:
        block.entries[2] = replace(block.entries[2], comment=line_note(table, block))
    return block


def adverse_events(table: Table, ctx: Context) -> Block:
    block = start_section(table)
    words = ("ae", "aeid", "event", "eventno", "id", "no", "number", "seq")
    ident = pick(table, words, ("identifier",)) or pick(table, words, IDS)
    block.add("id", ident.name if ident else TODO, None if ident else "the event's own id column")
    set_field(
        block, "onset", reference(pick(table, ("onset", "start", "date"), DATES), blank_ok=False)
    )
    set_field(
        block,
        "term",
        reference(
            pick(table, ("term", "description", "event", "text", "name"), TEXT), blank_ok=False
        ),
    )
    t = ctx.targets
    set_field(
        block,
        "severity",
        reference(
            pick(table, ("severity", "grade", "intensity"), CODES),
            blank_ok=False,
            targets=t["severity"],
        ),
    )
    set_field(
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
        set_field(block, "outcome", reference(outcome, blank_ok=True, targets=t["outcome"]))
    return block
