"""Run a mapping over a data directory: read → group by participant → map → resources.

This is where I/O meets the pure engine. Rows are spilled to a temporary SQLite file grouped
by participant, so memory stays flat however large the export; participants come out in a
stable order, each complete (all its resources) or rejected whole with its row errors.
"""

from fhir_adapter.pipeline.report import MapReport
from fhir_adapter.pipeline.run import MappedParticipant, StudyMapping, StudyRun

__all__ = ["MapReport", "MappedParticipant", "StudyMapping", "StudyRun"]
