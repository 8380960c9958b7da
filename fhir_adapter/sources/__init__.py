"""Read site export tables (CSV/TSV, Excel) into ``SourceRow``s, streaming. No FHIR here.

Problems that make a whole file unreadable (missing file, wrong encoding, missing columns)
raise ``SourceDataError`` naming the file; problems in single cells are the mapping's job.
"""

from fhir_adapter.sources.row import SourceRow
from fhir_adapter.sources.tables import read_table

__all__ = ["SourceRow", "read_table"]
