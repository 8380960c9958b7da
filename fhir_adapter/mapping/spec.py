"""The mapping-file format as typed models: what a data manager may write, and nothing else.

Unknown keys are errors (``extra="forbid"``) so a misspelt key never silently does nothing.
The published JSON Schema (``mappings/mapping.schema.json``) is generated from these models.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    coding: Coding
    text: str
    route: str | None = Field(None, description="Default route key when the row gives none.")
    body_site: str | None = Field(None, description="Default body-site key.")


class TextConcept(_Strict):
    coding: Coding | None = None
    text: str


class Drug(_Strict):
    rxnorm: str
    rxnorm_display: str
    atc: str
    atc_display: str
    route: str
    insulin: bool


class CodeCatalogue(_Strict):
    analytes: dict[str, Analyte] = Field(default_factory=dict)
    conditions: dict[str, dict[str, list[Coding]]] = Field(default_factory=dict)
    procedures: dict[str, ProcedureKind] = Field(default_factory=dict)
    routes: dict[str, Coding] = Field(default_factory=dict)
    body_sites: dict[str, TextConcept] = Field(default_factory=dict)
    cell_types: dict[str, TextConcept] = Field(default_factory=dict)
    drugs: dict[str, Drug] = Field(default_factory=dict)


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


class TableSpec(ReadOptions):
    file: str = Field(
        description="Path relative to the data directory (.csv, .tsv, .txt or .xlsx)."
    )
    sheet: str | None = Field(None, description="Worksheet name for .xlsx files (default: first).")


# --- column references -----------------------------------------------------------------------


class Column(_Strict):
    """Where a field comes from: a column (optionally through a code map) or a constant."""

    column: str | None = None
    value: str | None = Field(None, description="Constant used for every row instead of a column.")
    map: dict[str, str] | None = Field(
        None, description="Local code → standard key; a value not in the map is a row error."
    )
    required: bool = True
    format: Literal["date", "year"] | None = Field(
        None, description="'year' reads a four-digit year instead of a full date."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> Column:
        if (self.column is None) == (self.value is None):
            raise ValueError("give exactly one of 'column' or 'value'")
        return self


ColumnRef = Annotated[Column, Field(description="A column name, or {column|value, map, required}.")]


# --- study -----------------------------------------------------------------------------------


class Arm(_Strict):
    code: str = Field(description="The value of the arm column in the source data.")
    name: str = Field(description="ResearchStudy.arm.name and ResearchSubject.assignedArm.")
    description: str | None = None


class StudyIdentifier(_Strict):
    system: str
    value: str


class Study(_Strict):
    key: str = Field(description="Short slug used in resource ids, e.g. 'study-a'.")
    title: str
    identifier: StudyIdentifier
    identifier_base: str = Field(
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
    primary_purpose: str | None = Field(None, description="research-study-prim-purp-type code.")
    description: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    arms: list[Arm] = Field(min_length=1)

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


class Participants(_Section):
    sex: ColumnRef
    birth_date: ColumnRef
    arm: ColumnRef
    enrolled: ColumnRef
    status: ColumnRef
    end: ColumnRef | None = None


class Diagnosis(_Section):
    condition: str = Field(description="Key in codes.conditions, e.g. 't2dm'.")
    onset: ColumnRef


class ObservedValue(_Strict):
    column: str
    analyte: str = Field(description="Key in codes.analytes.")
    unit: str = Field(description="UCUM code of the unit the source reports.")
    convert_to: str | None = Field(None, description="UCUM unit to convert to (optional).")
    decimals: int | None = Field(None, ge=0, le=6, description="Rounding after conversion.")


class WideObservations(_Section):
    layout: Literal["wide"]
    date: ColumnRef
    visit: ColumnRef
    values: list[ObservedValue] = Field(min_length=1)


class Conversion(_Strict):
    to: str
    decimals: int | None = Field(None, ge=0, le=6)


class LongObservations(_Section):
    layout: Literal["long"]
    date: ColumnRef
    visit: ColumnRef
    analyte: ColumnRef = Field(description="Test-code column mapped to analyte keys.")
    value: str = Field(description="Result column.")
    unit: ColumnRef = Field(description="Unit column (map local unit text to UCUM if needed).")
    convert: dict[str, Conversion] = Field(
        default_factory=dict, description="Per analyte key: convert to another unit."
    )


Observations = Annotated[WideObservations | LongObservations, Field(discriminator="layout")]


class Procedures(_Section):
    id: str = Field(description="Column with the procedure's own identifier.")
    kind: ColumnRef = Field(description="Mapped to keys in codes.procedures.")
    date: ColumnRef
    route: ColumnRef | None = Field(None, description="Mapped to keys in codes.routes.")
    body_site: ColumnRef | None = Field(None, description="Mapped to keys in codes.body_sites.")
    product: ColumnRef | None = Field(None, description="Cell product infused (products.id).")


class Products(_Section):
    id: str
    harvest: ColumnRef | None = Field(None, description="Harvest procedure id (procedures.id).")
    collected: ColumnRef
    cell_type: ColumnRef = Field(description="Mapped to keys in codes.cell_types.")
    dose: ColumnRef
    dose_unit: str = Field("10*6/kg", description="UCUM unit of the dose column.")
    viability: ColumnRef | None = None


class Medications(_Section):
    line: str = Field(description="Column numbering the participant's medication lines.")
    drug: ColumnRef = Field(description="Mapped to keys in codes.drugs.")
    dose: ColumnRef
    dose_unit: ColumnRef = Field(description="Mapped to UCUM ('IU' → '[IU]').")
    times_per_day: ColumnRef | None = Field(
        None, description="Without it, the dose is read as a daily total."
    )
    start: ColumnRef
    end: ColumnRef | None = None


class AdverseEvents(_Section):
    id: str
    onset: ColumnRef
    term: ColumnRef
    severity: ColumnRef = Field(description="Mapped to mild | moderate | severe.")
    serious: ColumnRef = Field(description="Mapped to serious | non-serious.")
    outcome: ColumnRef | None = Field(
        None,
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
