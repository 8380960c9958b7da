"""Pull: read one study back from a FHIR R4 server into NDJSON files and tables.

What it does: finds the ResearchStudy (by id or ``system|value`` identifier), its
ResearchSubjects and Patients, then their Observations, Encounters, Procedures, Conditions,
MedicationStatements, AdverseEvents and Provenance (by search per batch of patients, or by a
Bulk Data ``Patient/$export`` job when asked or when the study is large), and the cell
products (BiologicallyDerivedProduct) they reference. Writes ``OUT/ndjson/<Type>.ndjson``,
runs the shipped SQL-on-FHIR views into ``OUT/tables/`` (Parquet or CSV) and
``OUT/summary.json``. Resumable: finished steps are recorded in ``OUT/.pull/state.json``
after their part file is complete, and a re-run goes on from there.

What it must not do: write to the server (searches, reads, an export job's kick-off, polls
and downloads only; nothing is created, changed or deleted through the REST API); build
paging links (only the server's ``next`` links are followed); leave a partial file under a
final name; write anything readable by others (folders 0700, files 0600); put resource
content or identifier values in errors, logs or the summary.

Modules: ``_study`` (which study) → ``_search`` / ``_export`` (steps into ``_parts``,
recorded in ``_state``) → ``_pull`` (merge, ``_tables``, summary). ``_types`` is the registry
of types and how each is found.
"""

from fhir_adapter.pull._errors import (
    AmbiguousStudyError,
    ExportFailedError,
    PullFolderError,
    StudyNotFoundError,
)
from fhir_adapter.pull._export import ExportTiming, offers_patient_export
from fhir_adapter.pull._progress import NoProgress, PullProgress
from fhir_adapter.pull._pull import METHODS, PullOptions, PullResult, pull_study
from fhir_adapter.pull._study import StudyRef, find_study, reference_id
from fhir_adapter.pull._tables import TABLE_FORMATS, TableResult, shipped_views_dir
from fhir_adapter.pull._types import ALL_TYPES, PATIENT_LINKED

__all__ = [
    "ALL_TYPES",
    "METHODS",
    "PATIENT_LINKED",
    "TABLE_FORMATS",
    "AmbiguousStudyError",
    "ExportFailedError",
    "ExportTiming",
    "NoProgress",
    "PullFolderError",
    "PullOptions",
    "PullProgress",
    "PullResult",
    "StudyNotFoundError",
    "StudyRef",
    "TableResult",
    "find_study",
    "offers_patient_export",
    "pull_study",
    "reference_id",
    "shipped_views_dir",
]
