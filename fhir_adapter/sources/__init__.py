"""Read site export tables (CSV/TSV, Excel) into ``SourceRow``s, streaming. No FHIR here.

Problems that make a whole file unreadable (missing file, wrong encoding, missing columns)
raise ``SourceDataError`` naming the file; problems in single cells are the mapping's job.
A file must resolve inside the data folder (symlinks followed), and ``SourceLimits`` bounds
file size, cell size and rows per participant: a file breaking either is refused whole.
"""

from fhir_adapter.sources.limits import DEFAULT_LIMITS, SourceLimits
from fhir_adapter.sources.row import SourceRow
from fhir_adapter.sources.tables import read_table

__all__ = ["DEFAULT_LIMITS", "SourceLimits", "SourceRow", "read_table"]
