"""Resources → tables: the project's SQL-on-FHIR views run over an NDJSON folder.

The report reads a study only through these tables (the shipped views of ``mappings/views``,
the same ones ``pull`` writes), so what it analyses is what any other ViewDefinition runner
would see. Each view is written as Parquet into an owner-only working folder (the rows hold
patient data) and read back as a typed ``pyarrow.Table``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fhir_adapter._private import private_dir
from fhir_adapter.errors import ConfigError
from fhir_adapter.views import load_view, run_view_to_file


@dataclass(frozen=True)
class StudyTables:
    """One table per view the report uses, named as the view files."""

    studies: pa.Table
    participants: pa.Table
    patients: pa.Table
    observations: pa.Table
    procedures: pa.Table
    medications: pa.Table
    adverse_events: pa.Table
    conditions: pa.Table

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def load_tables(ndjson_dir: Path, views_dir: Path, work_dir: Path) -> StudyTables:
    """Run the views the report needs over ``ndjson_dir``; Parquet files go to ``work_dir``."""
    private_dir(work_dir)
    tables: dict[str, pa.Table] = {}
    for name in StudyTables.names():
        view_file = views_dir / f"{name}.json"
        if not view_file.is_file():
            raise ConfigError(
                f"{view_file}: the report needs this view; pass --views with the folder of "
                "the shipped ViewDefinitions (mappings/views in the source tree)"
            )
        result = run_view_to_file(load_view(view_file), ndjson_dir, work_dir / f"{name}.parquet")
        tables[name] = pq.read_table(result.output)
    return StudyTables(**tables)
