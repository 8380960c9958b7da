"""Recognise a REDCap raw export beside its data dictionary, and draft it one instrument a table.

A REDCap export is one wide file (every instrument's fields side by side, one row per record,
event and repeat instance) that only its data dictionary makes readable. So a data folder
holding a dictionary (a CSV with REDCap's dictionary columns) and a CSV whose header has the
dictionary's record id and ``redcap_event_name`` or ``redcap_repeat_instrument`` is drafted
as one table per instrument, read through ``sources.redcap`` exactly as the mapping will
read it: choice fields hold the dictionary's labels and date fields are dates by their
validation. A choice field's code map lists every label of the dictionary, not only those
found, since the dictionary says what a cell may hold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from fhir_adapter.drafting.columns import ColumnProfile
from fhir_adapter.drafting.sniff import ExportFile, read_rows, table_name
from fhir_adapter.errors import SourceDataError
from fhir_adapter.sources.redcap import EVENT, REPEAT_INSTRUMENT, RedcapSelection
from fhir_adapter.sources.redcap_dictionary import DataDictionary, read_dictionary


@dataclass(frozen=True)
class RedcapExport:
    """The folder's exports with REDCap files replaced by one table per instrument, and the
    dictionaries read (by dictionary file) for the labels of choice fields."""

    exports: list[ExportFile]
    dictionaries: dict[str, DataDictionary]
    notes: list[str]


def _dictionary(data_dir: Path, export: ExportFile) -> DataDictionary | None:
    if export.is_excel or export.delimiter != ",":
        return None
    try:
        return read_dictionary(data_dir, export.file)
    except SourceDataError:
        return None  # not a dictionary (or not one that reads): an ordinary table


def _is_export_of(data_dir: Path, export: ExportFile, dictionary: DataDictionary) -> bool:
    if export.is_excel:
        return False
    try:
        header, _ = read_rows(data_dir, export, 1)
    except SourceDataError:
        return False
    return dictionary.record_id in header and bool({EVENT, REPEAT_INSTRUMENT} & set(header))


def split_instruments(data_dir: Path, exports: list[ExportFile]) -> RedcapExport:
    """Replace each REDCap raw export (and its dictionary) by a table per instrument."""
    dictionaries = {e.file: d for e in exports if (d := _dictionary(data_dir, e)) is not None}
    kept: list[ExportFile] = []
    notes: list[str] = []
    used: set[str] = set()
    for export in exports:
        if export.file in dictionaries:
            continue
        found = next(
            (f for f, d in dictionaries.items() if _is_export_of(data_dir, export, d)), None
        )
        if found is None:
            kept.append(export)
            continue
        used.add(found)
        notes.append(
            f"{export.file}: a REDCap raw export, drafted one table per instrument of {found}"
        )
        for instrument in dictionaries[found].instruments:
            selection = RedcapSelection(found, instrument)
            kept.append(replace(export, table=table_name(instrument), redcap=selection))
    # A dictionary no export uses is read as the table it is (it may be one after all).
    kept.extend(e for e in exports if e.file in dictionaries and e.file not in used)
    return RedcapExport(kept, {f: d for f, d in dictionaries.items() if f in used}, notes)


def with_labels(
    export: ExportFile,
    columns: dict[str, ColumnProfile],
    dictionaries: dict[str, DataDictionary],
) -> dict[str, ColumnProfile]:
    """The profiles of an instrument's table, its choice fields as code columns listing
    every label of the dictionary (in its order)."""
    if export.redcap is None or export.redcap.dictionary not in dictionaries:
        return columns
    fields = dictionaries[export.redcap.dictionary].fields
    labelled = dict(columns)
    for name, column in columns.items():
        field = fields.get(name)
        if field is not None and field.is_coded:
            codes = tuple(field.labels().values())
            labelled[name] = replace(column, kind="code", codes=codes, labels=True)
    return labelled
