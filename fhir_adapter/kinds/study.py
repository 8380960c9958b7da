"""The study itself: one ResearchStudy per mapping file (no section of its own)."""

from fhir_adapter.kinds._kind import Kind, ResourceRule

# R4 ResearchStudy.status has no entered-in-error; the study is never retracted by a row.
KIND = Kind("study", (ResourceRule("ResearchStudy", "study", "study"),))
