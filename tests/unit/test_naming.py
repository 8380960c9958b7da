"""'Mapping' names the file format only: a loaded file is a ``MappingFile``, one application
of it to a study's data a ``StudyRun``. The old names stay importable for existing code."""

from __future__ import annotations

from fhir_adapter.mapping.loader import LoadedMapping, MappingFile
from fhir_adapter.pipeline import StudyMapping, StudyRun
from fhir_adapter.pipeline.run import StudyMapping as RunStudyMapping


def test_old_names_are_the_new_classes():
    assert LoadedMapping is MappingFile
    assert StudyMapping is StudyRun and RunStudyMapping is StudyRun
    assert StudyRun.__name__ == "StudyRun" and MappingFile.__name__ == "MappingFile"
