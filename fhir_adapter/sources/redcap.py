"""One instrument of a REDCap raw export, read through the project's data dictionary.

A raw ("Raw data", not labels) CSV export holds one row per record, per event (longitudinal
projects: ``redcap_event_name``), per repeat instance (repeating instruments:
``redcap_repeat_instrument`` and ``redcap_repeat_instance``); a record's non-repeating
fields sit on the row whose repeat instrument is blank, and every row carries the fields of
every instrument, blank where they do not apply. The first field of the dictionary is the
record id. See REDCap's own help on repeating instruments and events
(https://help.redcap.ualberta.ca/help-and-faq/repeating-instruments-events) and the row
keys REDCapTidieR documents for classic and longitudinal projects
(https://cran.r-project.org/package=REDCapTidieR).

A mapping table selects one instrument (optionally one event) and sees, per row of it:

- the record id, ``redcap_event_name``, ``redcap_repeat_instance`` and
  ``redcap_data_access_group`` as exported;
- each field of the instrument by its name. Choice fields (dropdown, radio, yesno,
  truefalse) hold their **label** from the dictionary, not the raw code, so a mapping's
  ``map:`` reads ``{Male: male}`` rather than ``{"1": male}``; a code the dictionary does
  not list is a row error (``code``) for the field that reads it, never passed through.
  Date fields (validation ``date_ymd``/``date_mdy``/``date_dmy``) hold dates: a cell is
  read as ``YYYY-MM-DD`` (REDCap's raw form) or in the order its validation names, with
  ``-`` or ``/``; anything else is a row error (``date``);
- a checkbox field as its export columns ``<field>___<code>`` holding 0 or 1, or, when the
  table names it under ``checkbox``, as one row per ticked choice whose column ``<field>``
  holds that choice's label (a record with nothing ticked gives no row).

Rows of other instruments, and rows where every field of the instrument is blank (the form
was not filled for that event), are not rows of the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from fhir_adapter.errors import SourceDataError
from fhir_adapter.sources.limits import DEFAULT_LIMITS, SourceLimits
from fhir_adapter.sources.redcap_dictionary import (
    DATE_VALIDATIONS,
    DataDictionary,
    Field,
    read_dictionary,
)
from fhir_adapter.sources.row import BadCell, SourceRow
from fhir_adapter.sources.tables import bounded_per_subject, read_table

EVENT = "redcap_event_name"
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
# Columns REDCap adds to an export that a mapping may read as they are.
PASSED_THROUGH = (EVENT, "redcap_repeat_instance", "redcap_data_access_group")


@dataclass(frozen=True)
class RedcapSelection:
    """What a mapping table takes from a raw export: files relative to the data folder."""

    dictionary: str
    instrument: str
    event: str | None = None
    checkbox: str | None = None  # a checkbox field read as one row per ticked choice


class RedcapTable:
    """The selected instrument of a raw export, described by its dictionary."""

    def __init__(self, dictionary: DataDictionary, selection: RedcapSelection):
        self.dictionary = dictionary
        self.selection = selection
        self.fields = dictionary.instrument_fields(selection.instrument)

    @classmethod
    def open(
        cls, data_dir: Path, selection: RedcapSelection, limits: SourceLimits = DEFAULT_LIMITS
    ) -> RedcapTable:
        return cls(read_dictionary(data_dir, selection.dictionary, limits), selection)

    @property
    def record_id(self) -> str:
        return self.dictionary.record_id

    def selection_problems(self) -> Iterator[tuple[str, str]]:
        """(message, key of the selection) for an unknown instrument or checkbox field."""
        instruments = self.dictionary.instruments
        if self.selection.instrument not in instruments:
            yield (
                f"instrument '{self.selection.instrument}' is not in the data dictionary "
                f"{self.dictionary.file} (instruments: {', '.join(instruments)})",
                "instrument",
            )
            return
        name = self.selection.checkbox
        if name is not None and not any(f.name == name and f.is_checkbox for f in self.fields):
            checkboxes = [f.name for f in self.fields if f.is_checkbox] or ["none"]
            yield (
                f"'{name}' is not a checkbox field of instrument '{self.selection.instrument}' "
                f"(checkbox fields: {', '.join(checkboxes)})",
                "checkbox",
            )

    def columns(self) -> list[str]:
        """The columns a mapping may read from this table."""
        names = [self.record_id, *PASSED_THROUGH]
        for f in self.fields:
            if f.is_checkbox and f.name != self.selection.checkbox:
                names.extend(f.checkbox_columns())
            else:
                names.append(f.name)
        return names

    def column_problem(self, column: str) -> str | None:
        """Why a mapping cannot read ``column`` from this table, or None when it can."""
        if column in self.columns():
            return None
        instrument = self.selection.instrument
        field = self.dictionary.fields.get(column)
        if field is not None and field.form != instrument:
            return (
                f"'{column}' is a field of instrument '{field.form}', not of '{instrument}'; "
                "declare a table for that instrument"
            )
        if field is not None and field.is_checkbox:
            return (
                f"'{column}' is a checkbox field: add 'checkbox: {column}' to the table's "
                f"redcap selection (one row per ticked choice), or read one choice's column "
                f"({', '.join(field.checkbox_columns())})"
            )
        shown = [c for c in self.columns() if c not in PASSED_THROUGH]
        return (
            f"'{column}' is not a column of instrument '{instrument}' in the REDCap export "
            f"(columns: {', '.join(shown[:20])}{' ...' if len(shown) > 20 else ''})"
        )

    def rows(
        self,
        data_dir: Path,
        file: str,
        *,
        delimiter: str,
        encoding: str,
        required_columns: Sequence[str] = (),
        table: str | None = None,
        subject_column: str | None = None,
        limits: SourceLimits = DEFAULT_LIMITS,
    ) -> Iterator[SourceRow]:
        """The rows of the selected instrument, values read through the dictionary."""
        raw = read_table(
            data_dir,
            file,
            delimiter=delimiter,
            encoding=encoding,
            required_columns=self._raw_columns(required_columns),
            table=table,
            limits=limits,
        )
        rows = self._selected(raw, file)
        if subject_column is not None:
            rows = bounded_per_subject(rows, file, subject_column, limits)
        yield from rows

    def _raw_columns(self, columns: Sequence[str]) -> list[str]:
        """The export columns holding what the mapping reads."""
        needed = [self.record_id]
        if self.selection.event is not None:
            needed.append(EVENT)
        for column in columns:
            field = self.dictionary.fields.get(column)
            if field is not None and field.is_checkbox:
                needed.extend(field.checkbox_columns())
            elif column not in needed:
                needed.append(column)
        return needed

    def _selected(self, rows: Iterator[SourceRow], file: str) -> Iterator[SourceRow]:
        instrument, event = self.selection.instrument, self.selection.event
        events: set[str] = set()
        matched = False
        for row in rows:
            values = row.values
            if str(values.get(REPEAT_INSTRUMENT, "")).strip() not in ("", instrument):
                continue  # a row of another repeating instrument
            if event is not None:
                name = str(values.get(EVENT, "")).strip()
                if name != event:
                    events.add(name)
                    continue
                matched = True
            if not self._has_data(values):
                continue
            yield from self._converted(row)
        if event is not None and not matched and events:
            raise SourceDataError(
                f"no row of event '{event}' (events in the export: "
                f"{', '.join(sorted(events)[:12])}); check the table's redcap 'event'",
                file=file,
                column=EVENT,
                rule="shape",
            )

    def _has_data(self, values: dict[str, object]) -> bool:
        """True when a field of the instrument is filled in (an unticked checkbox is not)."""
        for f in self.fields:
            if f.is_checkbox:
                if any(str(values.get(c, "")).strip() not in ("", "0") for c in _cb(f)):
                    return True
            elif str(values.get(f.name, "")).strip():
                return True
        return False

    def _converted(self, row: SourceRow) -> Iterator[SourceRow]:
        values: dict[str, object] = {self.record_id: row.values.get(self.record_id, "")}
        for name in PASSED_THROUGH:
            if name in row.values:
                values[name] = row.values[name]
        unpivot: Field | None = None
        for f in self.fields:
            if f.is_checkbox:
                if f.name == self.selection.checkbox:
                    unpivot = f
                else:
                    for column in _cb(f):
                        if column in row.values:
                            values[column] = _checkbox_cell(row.values[column])
            elif f.name in row.values:
                values[f.name] = _cell(f, row.values[f.name])
        if unpivot is None:
            yield SourceRow(row.file, row.number, values)
            return
        cells = [_checkbox_cell(row.values.get(c, "")) for c in _cb(unpivot)]
        bad = next((c for c in cells if isinstance(c, BadCell)), None)
        if bad is not None:
            yield SourceRow(row.file, row.number, {**values, unpivot.name: bad})
            return
        for cell, label in zip(cells, unpivot.choices.values(), strict=True):
            if cell == "1":
                yield SourceRow(row.file, row.number, {**values, unpivot.name: label})


def _cb(field: Field) -> list[str]:
    return list(field.checkbox_columns())


def _checkbox_cell(cell: object) -> object:
    text = str(cell).strip()
    if text in ("", "0", "1"):
        return text
    return BadCell("code", "a checkbox column holds 0 (not ticked) or 1 (ticked)")


def _cell(field: Field, cell: object) -> object:
    """A raw export cell as the mapping reads it: a label, a date, or the text."""
    text = str(cell).strip()
    if not text:
        return ""
    if field.is_coded:
        label = field.labels().get(text)
        if label is None:
            return BadCell(
                "code", f"the code is not a choice of field '{field.name}' in the data dictionary"
            )
        return label
    order = DATE_VALIDATIONS.get(field.validation)
    if order is not None:
        return _date(text, order, field)
    return cell


def _date(text: str, order: str, field: Field) -> object:
    for fmt in dict.fromkeys(("%Y-%m-%d", order, order.replace("-", "/"))):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    shown = order.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
    return BadCell(
        "date",
        f"expected a date YYYY-MM-DD or {shown} (field '{field.name}' is {field.validation})",
    )
