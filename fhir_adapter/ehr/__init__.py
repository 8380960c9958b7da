"""EHR pull: follow-up lab values of enrolled participants from a hospital's FHIR server.

What it does: reads the enrolment file (study subject → MRN), finds each participant's
Patient by identifier, searches their Observations for the mapping's laboratory analytes
(every LOINC form: HbA1c in % and mmol/mol, C-peptide, fasting glucose) in a date range,
normalises units to the ones the mapping declares (``mapping/units.py``), assigns protocol
visits when asked, and writes a long lab table with the mapping section that reads it.

What it must not do: make a search that could return a participant not in the enrolment
file (every request names one enrolled MRN or the one Patient found for it); write to the
server; guess a unit or a visit; put an MRN in any file, message or log, or values and
subject ids in the summary; write anything readable by others.

Modules: ``_mrns`` (enrolment file) → ``_targets`` (analytes, units, codes) → ``_search``
(the two searches) → ``_normalise`` (one Observation → one value) → ``_settle`` (one per
day, visits from ``_visits``) → ``_pull`` (the run, ``EhrPullResult``) → ``_output``.
"""

from fhir_adapter.ehr._mrns import Enrolled, read_mrns
from fhir_adapter.ehr._output import (
    COLUMNS,
    FILES,
    LABS,
    PROBLEMS,
    SNIPPET,
    SUMMARY,
    TABLE,
    EhrFolderError,
    prepare_folder,
    snippet_text,
    write_outputs,
)
from fhir_adapter.ehr._problems import Problem
from fhir_adapter.ehr._pull import (
    EhrProgress,
    EhrPullOptions,
    EhrPullResult,
    NoEhrProgress,
    pull_labs,
)
from fhir_adapter.ehr._search import escape_token
from fhir_adapter.ehr._targets import LabTarget, LabTargetError, LabTargets, lab_targets
from fhir_adapter.ehr._visits import Visit, parse_visits

__all__ = [
    "COLUMNS",
    "FILES",
    "LABS",
    "PROBLEMS",
    "SNIPPET",
    "SUMMARY",
    "TABLE",
    "EhrFolderError",
    "EhrProgress",
    "EhrPullOptions",
    "EhrPullResult",
    "Enrolled",
    "LabTarget",
    "LabTargetError",
    "LabTargets",
    "NoEhrProgress",
    "Problem",
    "Visit",
    "escape_token",
    "lab_targets",
    "parse_visits",
    "prepare_folder",
    "pull_labs",
    "read_mrns",
    "snippet_text",
    "write_outputs",
]
