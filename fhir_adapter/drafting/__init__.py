"""Draft a mapping file from an export's files alone (``fhir-adapter init``).

Reads the files (through ``sources``, as ``validate`` will), decides how they are written,
what each column holds and which table feeds which section, and renders commented YAML with
TODO where only the study can decide. It writes nothing itself and never copies a cell value
into the draft other than the few short values of a code column (into code maps).

Modules, one job each: ``sniff`` (files, encodings, delimiters, sheets), ``columns`` (kinds of
values, decimal style, date order), ``codes`` (catalogue and certain code-map targets),
``analytes`` (analytes and units from headers), ``roles`` (participants, subject columns,
sections), ``fields`` (column per field), ``sections`` (one builder per section),
``participants``, ``medications`` (frequency text, line keys), ``procedure_rows``
(products and a mixed site/route column on procedure rows), ``units`` (unit spellings,
conversions), ``redcap`` (one table per REDCap instrument),
``yamltext`` (rendering), ``draft`` (putting it together).
"""

from fhir_adapter.drafting.draft import Draft, draft_mapping
from fhir_adapter.drafting.yamltext import TODO

__all__ = ["TODO", "Draft", "draft_mapping"]
