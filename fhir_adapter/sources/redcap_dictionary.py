"""A REDCap data dictionary (the project's field list, a CSV) read into typed fields.

The dictionary is what makes a raw export readable: which instrument a field is on, its
choices (raw code → label) and how a text field is validated (dates). Columns used, by the
headers REDCap writes when the dictionary is downloaded: "Variable / Field Name", "Form
Name", "Field Type", "Choices, Calculations, OR Slider Labels" ("1, Male | 2, Female") and
"Text Validation Type OR Show Slider Number" (date_ymd, date_dmy, number, integer, ...).
Sources: the column list of the REDCap data dictionary as documented by the LinkML REDCap
data-dictionary schema (https://linkml.io/linkml-redcap/reference/data_dictionary/) and the
redcapdd R package (https://rdrr.io/github/Sage-Bionetworks/redcapdd/man/get_dd_cols.html);
checkbox export names ``<field>___<code>`` with 0/1 as described for REDCap's "Export List
of Export Field Names" by redcapAPI
(https://search.r-project.org/CRAN/refmans/redcapAPI/html/exportFieldNames.html).

The API's metadata export names the same columns in snake case (field_name, form_name,
field_type, select_choices_or_calculations, text_validation_type_or_show_slider_number);
both spellings are read. A dictionary that cannot be read exactly raises
``SourceDataError`` naming the dictionary file and row: it holds no participant data, so
field names and codes may be shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fhir_adapter.errors import SourceDataError
from fhir_adapter.sources.limits import DEFAULT_LIMITS, SourceLimits
from fhir_adapter.sources.row import SourceRow
from fhir_adapter.sources.tables import read_table

# Canonical key → the header spellings REDCap uses (downloaded CSV, API metadata export).
_HEADERS = {
    "name": ("Variable / Field Name", "field_name"),
    "form": ("Form Name", "form_name"),
    "type": ("Field Type", "field_type"),
    "choices": ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations"),
    "validation": (
        "Text Validation Type OR Show Slider Number",
        "text_validation_type_or_show_slider_number",
    ),
}
# Field types whose raw value is one code of a choice list.
CHOICE_TYPES = frozenset({"dropdown", "radio"})
# REDCap's fixed choices for its two built-in two-way types.
FIXED_CHOICES = {
    "yesno": {"1": "Yes", "0": "No"},
    "truefalse": {"1": "True", "0": "False"},
}
# Types with no value in a data export (display text only).
NO_DATA_TYPES = frozenset({"descriptive"})
# strptime orders of the date validations; REDCap's own raw form is always accepted too.
DATE_VALIDATIONS = {"date_ymd": "%Y-%m-%d", "date_mdy": "%m-%d-%Y", "date_dmy": "%d-%m-%Y"}
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Field:
    """One dictionary row: a field of an instrument."""

    name: str
    form: str
    type: str
    choices: dict[str, str] = field(default_factory=dict)  # raw code → label, in order
    validation: str = ""

    @property
    def is_checkbox(self) -> bool:
        return self.type == "checkbox"

    @property
    def is_coded(self) -> bool:
        """A single code per cell, resolved to its label (dropdown, radio, yesno, truefalse)."""
        return self.type in CHOICE_TYPES or self.type in FIXED_CHOICES

    def labels(self) -> dict[str, str]:
        return FIXED_CHOICES.get(self.type, self.choices)

    def checkbox_columns(self) -> dict[str, str]:
        """Export column → choice code: REDCap writes one column per choice."""
        return {f"{self.name}___{export_suffix(code)}": code for code in self.choices}


def export_suffix(code: str) -> str:
    """The column suffix REDCap writes for a checkbox code: lower case, and a character
    other than a letter or digit (the '-' of '-1') written as '_'."""
    return re.sub(r"[^a-z0-9]", "_", code.lower())


@dataclass(frozen=True)
class DataDictionary:
    """The project's fields in dictionary order; the first one is the record id."""

    file: str
    fields: dict[str, Field]

    @property
    def record_id(self) -> str:
        return next(iter(self.fields))

    @property
    def instruments(self) -> list[str]:
        return list(dict.fromkeys(f.form for f in self.fields.values()))

    def instrument_fields(self, instrument: str) -> list[Field]:
        """The fields of ``instrument`` that carry data (not the record id, no display text)."""
        return [
            f
            for f in self.fields.values()
            if f.form == instrument and f.name != self.record_id and f.type not in NO_DATA_TYPES
        ]


def read_dictionary(
    data_dir: Path, file: str, limits: SourceLimits = DEFAULT_LIMITS
) -> DataDictionary:
    """Read and check a REDCap data dictionary CSV (``file`` relative to ``data_dir``)."""
    rows = read_table(data_dir, file, delimiter=",", encoding="utf-8-sig", limits=limits)
    fields: dict[str, Field] = {}
    keys: dict[str, str] | None = None
    for row in rows:
        if keys is None:
            keys = _header_keys(list(row.values), file)
        entry = _field(row, keys, file)
        if entry.name in fields:
            raise _problem(f"field '{entry.name}' is listed twice", file, row.number)
        fields[entry.name] = entry
    if not fields:
        raise SourceDataError("the data dictionary lists no field", file=file, rule="shape")
    return DataDictionary(file, fields)


def _header_keys(header: list[str], file: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for key, spellings in _HEADERS.items():
        found = [name for name in spellings if name in header]
        if not found:
            raise SourceDataError(
                f"not a REDCap data dictionary: no column '{spellings[0]}'",
                file=file,
                row=1,
                rule="missing-column",
            )
        keys[key] = found[0]
    return keys


def _field(row: SourceRow, keys: dict[str, str], file: str) -> Field:
    def cell(key: str) -> str:
        return str(row.values.get(keys[key], "")).strip()

    name, form, kind = cell("name"), cell("form"), cell("type")
    if not _FIELD_NAME.match(name):
        raise _problem("a field name must be lower-case letters, digits and '_'", file, row.number)
    if not form or not kind:
        raise _problem(f"field '{name}' needs a form name and a field type", file, row.number)
    choices: dict[str, str] = {}
    if kind in CHOICE_TYPES or kind == "checkbox":
        choices = dict(_choices(cell("choices"), name, file, row.number))
        if not choices:
            raise _problem(f"{kind} field '{name}' lists no choices", file, row.number)
        if kind == "checkbox":
            suffixes = [export_suffix(code) for code in choices]
            if len(set(suffixes)) != len(suffixes):
                raise _problem(
                    f"checkbox field '{name}' has two codes with the same export column",
                    file,
                    row.number,
                )
    return Field(name, form, kind, choices, cell("validation"))


def _choices(text: str, name: str, file: str, number: int) -> Iterator[tuple[str, str]]:
    """'1, Male | 2, Female' → ('1', 'Male'), ('2', 'Female'); a code given twice is refused."""
    seen: set[str] = set()
    labels: set[str] = set()
    for part in text.split("|"):
        if not part.strip():
            continue
        code, comma, label = part.partition(",")
        code, label = code.strip(), label.strip()
        if not comma or not code or not label:
            raise _problem(
                f"choices of field '{name}' must read 'code, label | code, label'", file, number
            )
        if code in seen:
            raise _problem(f"choice code '{code}' of field '{name}' is given twice", file, number)
        if label in labels:  # a mapping reads labels: two codes must not look alike
            raise _problem(f"two choices of field '{name}' share the label '{label}'", file, number)
        seen.add(code)
        labels.add(label)
        yield code, label


def _problem(message: str, file: str, number: int) -> SourceDataError:
    return SourceDataError(message, file=file, row=number, rule="dictionary")
