"""A study run whose resources come out de-identified: what `map` writes and `sync` sends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fhir_adapter.deid._deidentifier import Deidentifier
from fhir_adapter.deid._pipeline import deidentify_participant
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.mapping.loader import MappingFile
from fhir_adapter.pipeline import MappedParticipant, StudyRun


class DeidentifiedStudy(StudyRun):
    """``StudyRun`` with every resource passed through ``deidentifier`` before anyone
    (output writer, sync planner, ledger, server) sees it. Source rows (``origins``) stay on
    this machine for error reports; the participants left out for row errors are named by
    their pseudonymised Patient ids, which is all the ledger knows."""

    def __init__(
        self, mapping: MappingFile, data_dir: Path, deidentifier: Deidentifier, **options: Any
    ) -> None:
        # Schedule findings name source files and rows: they stay out of a de-identified
        # run's reports (what it prints and its summary.json), like the rejects folder.
        super().__init__(mapping, data_dir, **{**options, "check_schedule": False})
        self.deidentifier = deidentifier

    def study_resources(self) -> list[dict[str, Any]]:
        return self.deidentifier.study(super().study_resources())

    def participants(
        self, on_rows: Callable[[int], None] | None = None
    ) -> Iterator[MappedParticipant]:
        for mapped in super().participants(on_rows):
            yield deidentify_participant(self.deidentifier, mapped)
        self.report.rejected_keys[:] = [
            self.deidentifier.resource_key(ResourceKey("Patient", key)).id
            for key in self.report.rejected_keys
        ]
