"""Put a draft together: read the export, decide read options, draft every section, render.

The draft is a starting point a data manager edits: what the files say without doubt is
filled in, every decision only the study can make is a ``TODO`` value with the choices in a
comment, and ``validate`` refuses the file while one TODO is left.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fhir_adapter.drafting import sections
from fhir_adapter.drafting.codes import (
    Catalogue,
    catalogue_dir,
    catalogue_targets,
    fixed_targets,
    load_catalogues,
)
from fhir_adapter.drafting.columns import (
    DateDecision,
    code_values,
    decide_date_formats,
    profile_table,
)
from fhir_adapter.drafting.fields import Table
from fhir_adapter.drafting.participants import participants as participants_section
from fhir_adapter.drafting.redcap import split_instruments, with_labels
from fhir_adapter.drafting.roles import find_participants, section_of
from fhir_adapter.drafting.sniff import ExportFile, find_files, read_rows
from fhir_adapter.drafting.yamltext import TODO, Block, Flow, Scalar, Value, render
from fhir_adapter.errors import SourceDataError

FORMAT_ID = "fhir-adapter/mapping/v1"
MAX_ROWS = 200_000  # rows read per table; enough to see every code and decide date order
COMPARATOR_ORDER = ("<", ">", "<=", ">=")
SECTION_ORDER = ("observations", "procedures", "products", "medications", "adverse_events")


@dataclass(frozen=True)
class Draft:
    """The draft's text and what a caller may report about it."""

    text: str
    todos: int
    tables: int
    notes: tuple[str, ...]


def _read(data_dir: Path, exports: list[ExportFile], notes: list[str]) -> list[Table]:
    redcap = split_instruments(data_dir, exports)
    notes.extend(redcap.notes)
    exports = redcap.exports
    tables: list[Table] = []
    for export in exports:
        try:
            header, rows = read_rows(data_dir, export, MAX_ROWS)
        except SourceDataError as error:
            notes.append(f"{export.file}: not read ({error.detail})")
            continue
        if not rows:
            notes.append(f"{export.file}: no data rows, nothing to draft from")
            continue
        truncated = len(rows) >= MAX_ROWS
        if truncated:
            notes.append(f"{export.file}: drafted from its first {MAX_ROWS:,} rows")
        columns = with_labels(export, profile_table(header, rows), redcap.dictionaries)
        tables.append(Table(export, header, columns, len(rows), truncated, sample=rows))
    return tables


def _majority(values: Iterable[object], prefer: object = None) -> object | None:
    """The commonest value (``prefer`` on a tie, else the first seen)."""
    counted = Counter(v for v in values if v is not None)
    if not counted:
        return None
    top = max(counted.values())
    return prefer if counted.get(prefer) == top else counted.most_common(1)[0][0]


def _decimal(table: Table) -> str | None:
    seen = {c.decimal for c in table.columns.values() if c.kind == "number" and c.decimal}
    if len(seen) > 1:
        return TODO
    return seen.pop() if seen else None


@dataclass(frozen=True)
class ReadOptions:
    source: Block
    per_table: dict[str, tuple[dict[str, Value], list[str]]]


def _dates_value(decision: DateDecision) -> tuple[Value, str | None]:
    if decision.ambiguous:
        return TODO, (
            "every day in these dates is 12 or less, so they read as day/month and as "
            f"month/day: write one of {' or '.join(repr(f) for f in decision.formats)} as a list"
        )
    note = "decided by other tables of the export (every day here is 12 or less)"
    formats: list[Scalar] = list(decision.formats)
    return formats, note if decision.borrowed else None


def _read_options(tables: list[Table]) -> ReadOptions:
    delimited = [t for t in tables if not t.export.is_excel]
    delimiter = _majority(t.export.delimiter for t in delimited)
    # A file of ASCII bytes only reads the same in every codec: it does not vote.
    encoding = _majority(
        (
            t.export.encoding.codec
            for t in delimited
            if t.export.encoding and not t.export.encoding.ascii
        ),
        prefer="utf-8",
    ) or ("utf-8" if delimited else None)
    decimals = {t.name: _decimal(t) for t in tables}
    decimal = _majority(decimals.values())
    dates = decide_date_formats({t.name: t.columns for t in tables})
    date_default = _majority(dates.values())
    comparators: set[str] = set()
    for table in tables:
        for column in table.columns.values():
            comparators |= column.comparators
    source = Block()
    if delimiter is not None:
        source.add("delimiter", str(delimiter))
    if encoding is not None:
        encoding_note = next(
            (
                t.export.encoding.note
                for t in delimited
                if t.export.encoding and t.export.encoding.codec == encoding
            ),
            None,
        )
        source.add("encoding", str(encoding), encoding_note)
    if decimal is not None:
        source.add(
            "decimal", str(decimal), "numbers use both '.' and ','" if decimal == TODO else None
        )
    if isinstance(date_default, DateDecision):
        value, note = _dates_value(date_default)
        source.add("date_formats", value, note)
    if comparators:
        listed: list[str | int | bool] = [c for c in COMPARATOR_ORDER if c in comparators]
        source.add("comparators", listed, "prefixes found before numbers in the cells")
    per_table: dict[str, tuple[dict[str, Value], list[str]]] = {}
    for table in tables:
        items: dict[str, Value] = {"file": table.export.file}
        notes: list[str] = []
        export = table.export
        if export.sheet is not None:
            items["sheet"] = export.sheet
        if not export.is_excel and export.delimiter != delimiter:
            items["delimiter"] = export.delimiter or ","
        if export.redcap is not None:
            items["redcap"] = Flow(
                {"dictionary": export.redcap.dictionary, "instrument": export.redcap.instrument}
            )
        own = export.encoding
        if own is not None and not own.ascii and own.codec != encoding:
            items["encoding"] = own.codec or TODO
            if own.note:
                notes.append(own.note)
        if decimals[table.name] not in (None, decimal):
            items["decimal"] = decimals[table.name] or TODO
        decision = dates.get(table.name)
        if decision is not None and decision != date_default:
            value, note = _dates_value(decision)
            items["date_formats"] = value
            if note:
                notes.append(note)
        per_table[table.name] = (items, notes)
    return ReadOptions(source, per_table)


def _include(catalogue: Catalogue, folder: Path) -> tuple[Value, list[str]]:
    """The include list, relative to the draft's folder; TODO with the reason when the
    catalogue cannot be reached from there (includes must sit in the folder or below)."""
    if not catalogue.files:
        return TODO, ["No code catalogue was found: write the file(s) holding codes: here."]
    folder = folder.resolve()
    relative: list[Scalar] = []
    for file in catalogue.files:
        resolved = file.resolve()
        if not resolved.is_relative_to(folder):
            return TODO, [
                f"The code catalogue {file} is outside this file's folder, and includes must",
                "sit beside the mapping or below it: copy it into a codes/ folder next to this",
                f"file and write [codes/{file.name}].",
            ]
        relative.append(resolved.relative_to(folder).as_posix())
    return list(relative), []


def _study(arm_codes: tuple[str, ...]) -> Block:
    study = Block()
    study.add(
        "key",
        TODO,
        "short lowercase slug used in every resource id (e.g. study-x); never change it "
        "once synced",
    )
    study.add("title", TODO)
    study.add(
        "identifier", Flow({"system": TODO, "value": TODO}), "the study's registry identifier"
    )
    study.add(
        "identifier_base",
        TODO,
        "URI under which record identifiers are minted, e.g. urn:example:study-x",
    )
    study.add("status", TODO, "R4 research-study-status: active, closed-to-accrual, completed, ...")
    study.add("phase", TODO, "n-a, phase-1, phase-1-phase-2, phase-2, ...", disabled=True)
    study.add("data_cutoff", TODO, "YYYY-MM-DD the export's data were frozen", disabled=True)
    if arm_codes:
        arms: list[Block] = []
        for code in arm_codes:
            arm = Block()
            arm.add("code", code)
            arm.add("name", TODO)
            arms.append(arm)
        study.add("arms", arms, "one per value of the arm column")
    else:
        study.add("arms", TODO, "the arms, [{code, name}], code as in the arm column")
    return study


def _count_todos(value: Value) -> int:
    if isinstance(value, Block):
        return sum(_count_todos(e.value) for e in value.entries if not e.disabled)
    if isinstance(value, Flow):
        return sum(_count_todos(v) for v in value.items.values())  # type: ignore[arg-type]
    if isinstance(value, list):
        return sum(_count_todos(v) for v in value)
    return 1 if value == TODO else 0


def draft_mapping(
    data_dir: Path, out: Path | None = None, *, catalogue_folder: Path | None = None
) -> Draft:
    """Draft a mapping for the export in ``data_dir``, to be written to ``out`` (None: the
    current folder, for include paths). The catalogue is ``codes/`` beside ``out`` when there
    is one, else ``catalogue_folder`` (default: the source tree's ``mappings/codes``)."""
    folder = (out.parent if out is not None else Path.cwd()).resolve()
    notes: list[str] = []
    exports, skipped = find_files(data_dir)
    notes.extend(skipped)
    tables = _read(data_dir, exports, notes)
    found = find_participants(tables)
    if found is None:
        raise SourceDataError(
            "no table has a column with one row per value and no blanks: which table holds "
            "the participants cannot be told; is the participant id column in the export?",
            file=str(data_dir),
        )
    beside = folder / "codes"
    catalogue = load_catalogues(beside if beside.is_dir() else catalogue_folder or catalogue_dir())
    ctx = sections.Context(
        catalogue.codes, {**fixed_targets(), **catalogue_targets(catalogue.codes)}
    )
    people = found.table
    root = Block()
    root.add("format", FORMAT_ID)
    root.add("mapping_version", "0.1", "your version of this file: raise it with every change")
    include, include_notes = _include(catalogue, folder)
    root.add("include", include, None, include_notes)
    participants = participants_section(people, ctx)
    arm_column = next((e.value for e in participants.entries if e.key == "arm"), None)
    arm_codes = (
        code_values(people.columns[arm_column])
        if isinstance(arm_column, str) and arm_column in people.columns
        else ()
    )
    root.add("study", _study(arm_codes))
    options = _read_options(tables)
    root.add("source", options.source, None, ["How the files are written (read from them)."])
    drafted: dict[str, Value] = {}
    used_tables = {people.name}
    diagnosis = sections.diagnosis(people, ctx)
    observations: list[Block] = []
    by_section: dict[str, Table] = {}
    for table in tables:
        if table is people:
            continue
        section = section_of(table)
        if section == "observations":
            built = sections.long_observations(table, ctx) or sections.wide_observations(table, ctx)
            if built is not None:
                observations.append(built)
                used_tables.add(table.name)
                continue
        elif section is not None and section not in by_section:
            by_section[section] = table
            used_tables.add(table.name)
            continue
        notes.append(f"table {table.name} ({table.export.file}): no section drafted for it")
    procedures, products = by_section.get("procedures"), by_section.get("products")
    procedure_block = sections.procedures(procedures, ctx, products) if procedures else None
    procedure_id = next(
        (e.value for e in (procedure_block.entries if procedure_block else []) if e.key == "id"),
        None,
    )
    if observations:
        drafted["observations"] = observations
    if procedure_block is not None:
        drafted["procedures"] = procedure_block
    if products is None and procedures is not None and procedure_block is not None:
        on_rows = sections.procedure_products(procedures, ctx, procedure_block)
        if on_rows is not None:
            drafted["products"] = on_rows
    if products is not None:
        drafted["products"] = sections.products(
            products,
            ctx,
            procedures,
            procedure_id if isinstance(procedure_id, str) and procedure_id != TODO else None,
        )
    if "medications" in by_section:
        drafted["medications"] = sections.medications(by_section["medications"], ctx)
    if "adverse_events" in by_section:
        drafted["adverse_events"] = sections.adverse_events(by_section["adverse_events"], ctx)
    table_block = Block()
    for table in tables:
        items, table_notes = options.per_table[table.name]
        if table.subject is None and table is not people:
            table_notes = [*table_notes, "no column holds the participant ids"]
        table_block.add(
            table.name,
            Flow(items),  # type: ignore[arg-type]
            "; ".join(table_notes) or None,
            disabled=table.name not in used_tables,
        )
    root.add("tables", table_block)
    root.add("participants", participants, None, [""])
    if diagnosis is not None:
        root.add("diagnosis", diagnosis, None, [""])
    for key in SECTION_ORDER:
        if key in drafted:
            root.add(key, drafted[key], None, [""])
    header = _header(data_dir, notes)
    todos = _count_todos(root)
    return Draft(render(root, header), todos, len(tables), tuple(notes))


def _header(data_dir: Path, notes: list[str]) -> list[str]:
    lines = [
        f"Draft mapping written by `fhir-adapter init` from the files in {data_dir}.",
        "Every TODO is a value only the study can decide; the comment beside it lists the",
        "choices. validate refuses this file while a TODO is left, and then checks the data:",
        f"  fhir-adapter validate --mapping THIS_FILE --data {data_dir}",
        "Values filled in are read from the headers and cells: check each one all the same.",
        "Only code-like values (few distinct, short) are copied from the cells, into code maps.",
        "Format reference: docs/mapping.md.",
    ]
    if notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in notes)
    lines.append("")
    return lines
