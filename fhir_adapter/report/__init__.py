"""Report: a study's findings as one HTML file with figures, from its FHIR resources.

What it does: runs the shipped SQL-on-FHIR views over an NDJSON folder (``_tables``), reads
the rows into typed records (``_cohort``), computes every number of the report (``analysis``:
pure, tables in → numbers out, so tests check the numbers), draws the figures with
matplotlib (``_figures``) and writes one self-contained HTML file with the figures beside it
(``_html``, ``_write``).

What it must not do: talk to a FHIR server or read a site export (the CLI pulls or maps
first, into NDJSON); put an identifier, a name or a date of a participant in the report
(only counts, means and intervals by arm, visit and subgroup); mix analysis and rendering.
"""

from fhir_adapter.report._tables import StudyTables, load_tables
from fhir_adapter.report.analysis import AnalysisOptions, StudyAnalysis, analyse

__all__ = ["AnalysisOptions", "StudyAnalysis", "StudyTables", "analyse", "load_tables"]
