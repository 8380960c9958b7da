"""The mapping-file format as typed models: what a data manager may write, and nothing else.

Unknown keys are errors (``extra="forbid"``) so a misspelt key never silently does nothing.
The published JSON Schema (``mappings/mapping.schema.json``) is generated from these models.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fhir_adapter.sources.redcap import RedcapSelection

FORMAT_ID = "fhir-adapter/mapping/v1"
_SLUG = re.compile(r"^[a-z][a-z0-9-]{0,23}$")


class _Strict(BaseModel):
    # Numbers written where text is expected (an unquoted code such as 6809) are taken as text.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


# --- code catalogue ------------------------------------------------------------------------


class Coding(_Strict):
    system: str
    code: str
    display: str | None = None


class AnalyteForm(_Strict):
    """One unit property of an analyte (e.g. HbA1c in % or in mmol/mol), with its LOINC code."""

    loinc: str
    display: str
    decimals: int | None = Field(
        None,
        ge=0,
        le=6,
        description="Decimals laboratories report in this unit; a value converted into it is "
        "rounded half-up to them (values measured in the unit keep their own precision).",
    )
    method: str | None = Field(
        None,
        description="The method or protocol the LOINC code asserts (e.g. 'IFCC protocol'). A "
        "value converted into such a form did not come from that method, so the measured "
        "value keeps its own form and the converted one is attached without this code.",
    )
    min: float | None = Field(None, description="Lowest plausible value; below is a row error.")
    max: float | None = Field(None, description="Highest plausible value; above is a row error.")


class Analyte(_Strict):
    category: Literal["laboratory", "vital-signs"]
    forms: dict[str, AnalyteForm] = Field(description="UCUM unit code → form.")
    molar_mass_g_per_mol: float | None = Field(
        None, description="Enables mass ↔ molar conversion (e.g. 180.156 for glucose)."
    )
    conversions: dict[str, str] = Field(
        default_factory=dict,
        description="Analyte-specific conversions, 'from->to': name of a built-in equation.",
    )


class ProcedureKind(_Strict):
    coding: Coding | None = Field(
        None, description="SNOMED CT procedure; leave out when no concept fits (text only)."
    )
    text: str
    route: str | None = Field(None, description="Default route key when the row gives none.")
    body_site: str | None = Field(None, description="Default body-site key.")


class TextConcept(_Strict):
    coding: Coding | None = None
    text: str


class Drug(_Strict):
    """A drug at ingredient level: an RxNorm ingredient (TTY IN) and its WHO ATC substance.

    A fixed combination (a premixed insulin) has no confirmed RxNorm multi-ingredient code in
    the catalogue: it carries its ATC combination code and ``text`` naming the ingredients,
    never a clinical drug or pen the source does not name.
    """

    rxnorm: str | None = None
    rxnorm_display: str | None = None
    text: str | None = Field(None, description="Name of the drug (default: rxnorm_display).")
    atc: str
    atc_display: str
    route: str
    insulin: bool

    @model_validator(mode="after")
    def _named(self) -> Drug:
        if (self.rxnorm is None) != (self.rxnorm_display is None):
            raise ValueError("give 'rxnorm' and 'rxnorm_display' together")
        if self.rxnorm is None and self.text is None:
            raise ValueError("a drug without an RxNorm code needs 'text'")
        return self

    @property
    def name(self) -> str:
        return self.text or self.rxnorm_display or self.atc_display


class Condition(_Strict):
    """A coded condition; ICD-10 codings are kept only in the edition the study chose."""

    codings: list[Coding] = Field(min_length=1)


class CodeCatalogue(_Strict):
    analytes: dict[str, Analyte] = Field(default_factory=dict)
    conditions: dict[str, Condition] = Field(default_factory=dict)
    procedures: dict[str, ProcedureKind] = Field(default_factory=dict)
    routes: dict[str, Coding] = Field(default_factory=dict)
    body_sites: dict[str, TextConcept] = Field(default_factory=dict)
    cell_types: dict[str, TextConcept] = Field(default_factory=dict)
    drugs: dict[str, Drug] = Field(default_factory=dict)
    end_reasons: dict[str, Coding] = Field(
        default_factory=dict,
        description="Why a participant's participation ended (off-study reason extension).",
    )


# --- sources ---------------------------------------------------------------------------------


class ReadOptions(_Strict):
    """How a delimited file is read. Table-level options override the mapping's defaults."""

    delimiter: str | None = Field(None, min_length=1, max_length=1)
    encoding: str | None = Field(
        None, description="Python codec of a delimited file: utf-8, utf-8-sig, cp1252, latin-1."
    )
    decimal: Literal[".", ","] | None = None
    date_formats: list[str] | None = Field(
        None,
        min_length=1,
        description="strptime formats tried in order, e.g. ['%d/%m/%Y']; each must hold a "
        "day, a month and a year.",
    )
    missing: list[str] | None = Field(None, description="Cell texts that mean 'not recorded'.")
    comparators: list[Literal["<", ">", "<=", ">="]] | None = Field(
        None, description="Prefixes accepted on results ('<0.10'); they become Quantity.comparator."
    )


class RedcapInstrument(_Strict):
    """The part of a REDCap raw export a table takes (``sources.redcap``)."""

    dictionary: str = Field(
        description="The project's data dictionary CSV, relative to the data directory."
    )
    instrument: str = Field(
        min_length=1, description="Instrument (form) name whose rows and fields make the table."
    )
    event: str | None = Field(
        None,
        min_length=1,
        description="Unique event name (redcap_event_name) to keep; default: every event.",
    )
    checkbox: str | None = Field(
        None,
        min_length=1,
        description="A checkbox field read as one row per ticked choice, holding its label.",
    )

    def selection(self) -> RedcapSelection:
        return RedcapSelection(self.dictionary, self.instrument, self.event, self.checkbox)


class TableSpec(ReadOptions):
    file: str = Field(
        description="Path relative to the data directory (.csv, .tsv, .txt or .xlsx)."
    )
    sheet: str | None = Field(None, description="Worksheet name for .xlsx files (default: first).")
    redcap: RedcapInstrument | None = Field(
        None,
        description="The file is a REDCap raw export: read one instrument through the data "
        "dictionary (choice codes become labels, dates are read by their validation).",
    )


# --- column references -----------------------------------------------------------------------


class MatchExpression(_Strict):
    expression: str = Field(min_length=1, description="FHIRPath over this row.")


class Lookup(_Strict):
    """A value from another row of the same participant: the one row of ``table`` whose
    ``on`` column equals this row's ``match``; its ``column`` is read like a cell there."""

    table: str = Field(description="A table under 'tables' that a section reads.")
    match: str | MatchExpression = Field(
        description="What to look for, from this row: a column, or {expression: FHIRPath}."
    )
    on: str = Field(description="The column of the other table compared with 'match'.")
    column: str = Field(description="The column of the matching row to read.")


class Column(_Strict):
    """Where a field comes from: a column, a constant, a FHIRPath expression over the row or
    a lookup in another row (each optionally through a code map).

    Every key is applied on every field that accepts a Column, or refused when the mapping
    is loaded (``mapping/constructs.py``): nothing here is ever silently ignored.
    """

    column: str | None = Field(None, min_length=1)
    value: str | None = Field(
        None,
        min_length=1,
        description="Constant used for every row instead of a column, read like a cell of "
        "the section's table.",
    )
    expression: str | None = Field(
        None,
        min_length=1,
        description="FHIRPath over the row, whose properties are its columns (`Name With "
        "Spaces` in backticks); checked when the file is loaded. No value is blank, one value "
        "is read like a cell, several are a row error.",
    )
    lookup: Lookup | None = Field(
        None,
        description="Read the cell from the participant's one row of another table (or this "
        "one) that matches; none or several matching is a row error.",
    )
    map: dict[str, Annotated[str, Field(min_length=1)]] | None = Field(
        None,
        description="Local code → value; a cell not in the map is a row error. Targets are "
        "written as in this file: numbers with '.', dates as YYYY-MM-DD (or YYYY with "
        "format: year).",
    )
    required: bool = Field(
        True,
        description="false: a blank cell leaves the element out. Refused on fields every "
        "resource needs (see x-blank), and with 'value'.",
    )
    format: Literal["date", "year"] | None = Field(
        None, description="Date fields only: 'year' reads a four-digit year instead of a full date."
    )
    default: str | None = Field(
        None,
        min_length=1,
        description="Used when the cell is blank, read like a cell (through the map when there "
        "is one): the site does not record this, the study says it is this. Refused with "
        "'required' and with 'value'.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> Column:
        sources = (self.column, self.value, self.expression, self.lookup)
        if sum(x is not None for x in sources) != 1:
            raise ValueError("give exactly one of 'column', 'value', 'expression' or 'lookup'")
        return self


ColumnRef = Annotated[
    Column,
    Field(description="A column name, or {column|value|expression|lookup, map, required, format}."),
]

ReadKind = Literal["text", "date", "number", "count", "frequency"]


@dataclass(frozen=True)
class FieldReads:
    """How the engine reads one Column field, declared once beside the field.

    ``kind``: text (through the map when given), date, decimal number, count (a whole
    number of at least 1), or frequency (text such as '2x/day', read by
    ``mapping/frequency.py``). ``blank``: whether ``required: false`` is possible, a blank cell
    then leaving the element out of the resource; where the resource cannot do without the
    element, ``required: false`` is refused at load instead.
    """

    kind: ReadKind
    blank: bool


def reads(
    kind: ReadKind, *, blank: bool = False, optional: bool = False, description: str | None = None
) -> Any:
    """A Column field's declaration, published in the JSON Schema as ``x-reads``/``x-blank``."""
    extra: dict[str, Any] = {"x-reads": kind, "x-blank": "omit" if blank else "row-error"}
    default: Any = None if optional else ...
    return Field(default, description=description, json_schema_extra=extra)


def field_reads(model: type[BaseModel], name: str) -> FieldReads | None:
    """The declared reading of field ``name`` of a section model, None for non-Column fields."""
    extra = model.model_fields[name].json_schema_extra
    if not isinstance(extra, dict) or "x-reads" not in extra:
        return None
    return FieldReads(extra["x-reads"], extra["x-blank"] == "omit")  # type: ignore[arg-type]


def column_fields(section: BaseModel) -> Iterator[tuple[str, Column | None, FieldReads]]:
    """Every Column field of a section: its name, its value (None when absent), its reading."""
    for name in type(section).model_fields:
        declared = field_reads(type(section), name)
        if declared is not None:
            yield name, getattr(section, name), declared


class RowNumber(_Strict):
    """A record's own key taken from its row's place: fragile, see ``OwnKey``."""

    row_number: Literal[True] = Field(
        description="The row's position (1, 2, ...) among the participant's rows of the "
        "section's table that its 'where' keeps, in file order."
    )


OwnKey = Annotated[
    str | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | RowNumber,
    Field(
        description="What tells a participant's records of this section apart, in ids and "
        "identifiers: a column; a list of columns (a composite key, joined with '/'; a blank "
        "part is a row error); or {row_number: true}, the row's position among the "
        "participant's rows of this section (after 'where'), which changes when the export "
        "is re-sorted."
    ),
]


# --- study -----------------------------------------------------------------------------------


# Study-level text goes into the ResearchStudy as written; FHIR has no empty values.
_Text = Annotated[str, Field(min_length=1)]
# A FHIR date of year, month or day precision (Period.start/end take dateTime; a date is one).
_FhirDate = Annotated[str, Field(pattern=r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")]


class Arm(_Strict):
    code: _Text = Field(description="The value of the arm column in the source data.")
    name: _Text = Field(description="ResearchStudy.arm.name and ResearchSubject.assignedArm.")
    description: _Text | None = None


class StudyIdentifier(_Strict):
    system: _Text
    value: _Text


class PlannedVisit(_Strict):
    """A protocol visit: its code in the export, its target day and its window in days."""

    code: _Text = Field(description="The visit as the observations' visit column writes it.")
    day: int = Field(ge=0, description="Target day, counted from the anchor visit (day 0).")
    early: int = Field(0, ge=0, description="Days before 'day' still inside the window.")
    late: int = Field(0, ge=0, description="Days after 'day' still inside the window.")


class VisitSchedule(_Strict):
    """The protocol's schedule of visits: ``validate`` and ``map`` report visits outside
    their window, visits the schedule does not know and planned visits that are missing."""

    anchor: _Text = Field(description="The visit code day 0 is counted from, e.g. 'BL'.")
    visits: list[PlannedVisit] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_anchor(self) -> VisitSchedule:
        codes = [v.code for v in self.visits]
        if len(set(codes)) != len(codes):
            raise ValueError("each visit code may appear once in the schedule")
        if self.anchor not in codes:
            raise ValueError(f"the anchor '{self.anchor}' must be one of the schedule's visits")
        return self


class Study(_Strict):
    key: str = Field(description="Short slug used in resource ids, e.g. 'study-a'.")
    title: _Text
    identifier: StudyIdentifier
    identifier_base: _Text = Field(
        description="URI under which business-identifier systems are minted, one per record type."
    )
    status: Literal[
        "active",
        "administratively-completed",
        "approved",
        "closed-to-accrual",
        "closed-to-accrual-and-intervention",
        "completed",
        "disapproved",
        "in-review",
        "temporarily-closed-to-accrual",
        "temporarily-closed-to-accrual-and-intervention",
        "withdrawn",
    ]
    phase: (
        Literal[
            "n-a",
            "early-phase-1",
            "phase-1",
            "phase-1-phase-2",
            "phase-2",
            "phase-2-phase-3",
            "phase-3",
            "phase-4",
        ]
        | None
    ) = None
    primary_purpose: _Text | None = Field(None, description="research-study-prim-purp-type code.")
    description: _Text | None = None
    period_start: _FhirDate | None = Field(None, description="YYYY, YYYY-MM or YYYY-MM-DD.")
    period_end: _FhirDate | None = Field(None, description="YYYY, YYYY-MM or YYYY-MM-DD.")
    data_cutoff: _FhirDate | None = Field(
        None,
        description="The date the export's data were frozen: MedicationStatement.dateAsserted, "
        "and the moment participant statuses describe.",
    )
    icd10: Literal["who", "cm"] = Field(
        "who",
        description="ICD-10 edition of diagnosis codings: 'who' (http://hl7.org/fhir/sid/icd-10, "
        "the default) or 'cm' (ICD-10-CM, United States).",
    )
    arms: list[Arm] = Field(min_length=1)
    schedule: VisitSchedule | None = Field(
        None, description="The protocol's visits with their windows (optional)."
    )

    @field_validator("key")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(
                "must be a lowercase slug: a letter, then letters, digits or '-' "
                "(at most 24 characters)"
            )
        return value


# --- record sections -------------------------------------------------------------------------


class _Section(_Strict):
    table: str = Field(description="Name of a table declared under 'tables'.")
    subject: str = Field(description="Column holding the participant's study identifier.")
    where: str | None = Field(
        None,
        min_length=1,
        description="FHIRPath over the row (like a field's expression): only rows where it is "
        "true are this section's; the others are not read by it (no error).",
    )


class Participants(_Section):
    sex: ColumnRef = reads("text", blank=True, description="Patient.gender.")
    birth_date: ColumnRef = reads("date", blank=True, description="Patient.birthDate.")
    arm: ColumnRef = reads("text", description="A study.arms code.")
    enrolled: ColumnRef = reads("date", description="ResearchSubject.period.start.")
    status: ColumnRef = reads("text", description="R4 research-subject-status code.")
    end: ColumnRef | None = reads("date", blank=True, optional=True)
    end_reason: ColumnRef | None = reads(
        "text",
        blank=True,
        optional=True,
        description="Why participation ended, mapped to keys in codes.end_reasons "
        "(off-study reason extension).",
    )
    stratum: ColumnRef | None = reads(
        "text",
        blank=True,
        optional=True,
        description="The participant's treatment group or randomisation stratum, as the "
        "study names it (research-subject-stratum extension, valueString).",
    )


class Diagnosis(_Section):
    condition: str = Field(description="Key in codes.conditions, e.g. 't2dm'.")
    onset: ColumnRef = reads("date")


class ObservedValue(_Strict):
    column: str
    analyte: str = Field(description="Key in codes.analytes.")
    unit: str = Field(description="UCUM code of the unit the source reports.")
    convert_to: str | None = Field(None, description="UCUM unit to convert to (optional).")
    decimals: int | None = Field(
        None, ge=0, le=6, description="Rounding after conversion (only with convert_to)."
    )


class WideObservations(_Section):
    layout: Literal["wide"]
    date: ColumnRef = reads("date")
    visit: ColumnRef = reads("text")
    values: list[ObservedValue] = Field(min_length=1)


class Conversion(_Strict):
    to: str
    decimals: int | None = Field(None, ge=0, le=6)


class LongObservations(_Section):
    layout: Literal["long"]
    date: ColumnRef = reads("date")
    visit: ColumnRef = reads("text")
    analyte: ColumnRef = reads("text", description="Test-code column mapped to analyte keys.")
    value: str = Field(description="Result column.")
    unit: ColumnRef = reads(
        "text", description="Unit column (map local unit text to UCUM if needed)."
    )
    convert: dict[str, Conversion] = Field(
        default_factory=dict, description="Per analyte key: convert to another unit."
    )


Observations = Annotated[WideObservations | LongObservations, Field(discriminator="layout")]


class Procedures(_Section):
    id: OwnKey
    kind: ColumnRef = reads("text", description="Mapped to keys in codes.procedures.")
    date: ColumnRef = reads("date")
    route: ColumnRef | None = reads(
        "text", blank=True, optional=True, description="Mapped to keys in codes.routes."
    )
    body_site: ColumnRef | None = reads(
        "text", blank=True, optional=True, description="Mapped to keys in codes.body_sites."
    )
    product: ColumnRef | None = reads(
        "text", blank=True, optional=True, description="Cell product infused (products.id)."
    )


class Products(_Section):
    id: OwnKey
    harvest: ColumnRef | None = reads(
        "text", blank=True, optional=True, description="Harvest procedure id (procedures.id)."
    )
    collected: ColumnRef = reads("date")
    cell_type: ColumnRef = reads("text", description="Mapped to keys in codes.cell_types.")
    dose: ColumnRef = reads("number", blank=True, description="Cell dose (cell-dose extension).")
    dose_unit: ColumnRef = Field(
        Column(value="10*6/kg"),
        description="Unit of the dose: a UCUM code written as text is the constant unit "
        "(default 10*6/kg); or {column: ..., map: {export text: UCUM}} reads it per row (a "
        "cell neither mapped nor UCUM is a row error); needed with a dose.",
        json_schema_extra={"x-reads": "text", "x-blank": "omit"},
    )
    viability: ColumnRef | None = reads("number", blank=True, optional=True)

    @field_validator("dose_unit", mode="before")
    @classmethod
    def _constant_unit(cls, value: Any) -> Any:
        # Here a plain string is the unit itself (as it always was), not a column name.
        return {"value": value} if isinstance(value, str) else value


class Medications(_Section):
    line: OwnKey
    drug: ColumnRef = reads("text", description="Mapped to keys in codes.drugs.")
    dose: ColumnRef = reads(
        "number",
        blank=True,
        description="Per administration with frequency or times_per_day; the total per day "
        "with daily_total: true.",
    )
    dose_unit: ColumnRef = reads(
        "text", blank=True, description="Mapped to UCUM ('IU' → '[IU]'); needed with a dose."
    )
    frequency: ColumnRef | None = reads(
        "frequency",
        blank=True,
        optional=True,
        description="How often the dose is taken, as text: 1x/day, 2x/week, BID, TID, QID, "
        "QD, q8h, every 8 hours, once daily, every other day, weekly, 1-0-1 … (docs/mapping.md "
        "lists every form; case and spaces do not matter). Map a site's other forms onto "
        "these ('morning and night': 2x/day); text that reads no other way is a row error "
        "(rule frequency).",
    )
    times_per_day: ColumnRef | None = reads(
        "count",
        blank=True,
        optional=True,
        description="Administrations per day, a whole number; text that is not a number is "
        "a row error. For frequency text ('2x/day', 'BID', 'q8h') use 'frequency' instead.",
    )
    daily_total: bool | None = Field(
        None,
        description="true: the dose column is the total per day (no schedule). Required "
        "when neither frequency nor times_per_day is given, so a per-administration dose is "
        "never taken for a daily total.",
    )
    start: ColumnRef = reads("date")
    end: ColumnRef | None = reads("date", blank=True, optional=True)


class AdverseEvents(_Section):
    id: OwnKey
    onset: ColumnRef = reads("date")
    term: ColumnRef = reads("text", description="AdverseEvent.event.text (free text).")
    severity: ColumnRef = reads("text", description="Mapped to mild | moderate | severe.")
    serious: ColumnRef = reads("text", description="Mapped to serious | non-serious.")
    outcome: ColumnRef | None = reads(
        "text",
        blank=True,
        optional=True,
        description="Mapped to resolved | recovering | ongoing | resolvedWithSequelae | "
        "fatal | unknown.",
    )


class MappingSpec(_Strict):
    """A whole mapping file (after includes are merged)."""

    format: Literal["fhir-adapter/mapping/v1"]
    mapping_version: str
    include: list[str] = Field(default_factory=list, description="Code catalogues to merge in.")
    study: Study
    source: ReadOptions = Field(default_factory=ReadOptions)
    tables: dict[str, TableSpec] = Field(min_length=1)
    codes: CodeCatalogue = Field(default_factory=CodeCatalogue)
    participants: Participants
    diagnosis: Diagnosis | None = None
    observations: list[Observations] = Field(default_factory=list)
    procedures: Procedures | None = None
    products: Products | None = None
    medications: Medications | None = None
    adverse_events: AdverseEvents | None = None

    def sections(self) -> Iterator[tuple[list[Any], _Section]]:
        """Every record section with its key path in the file, participants first, in the
        order of the kinds that read them (``kinds.registry.sections``)."""
        from fhir_adapter.kinds import registry  # the kinds build on this module

        return registry.sections(self)
