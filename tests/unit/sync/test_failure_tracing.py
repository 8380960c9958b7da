"""A participant the server refuses is reported against the source row of the named entry."""

from __future__ import annotations

from fhir_adapter.errors import OutcomeIssue, TerminalServerError
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.mapping.records import Origin
from fhir_adapter.sync.engine import SyncEngine, _Job
from fhir_adapter.sync.plan import RemovalPolicy, plan_participant
from fhir_adapter.sync.report import SyncReport

RESOURCES = [
    {"resourceType": "Patient", "id": "s-pat-1"},
    {"resourceType": "Observation", "id": "s-obs-1", "status": "final"},
    {"resourceType": "Observation", "id": "s-obs-2", "status": "final"},
]
ORIGINS = {
    ResourceKey("Patient", "s-pat-1"): Origin("subjects.csv", 2),
    ResourceKey("Observation", "s-obs-1"): Origin("visits.csv", 2),
    ResourceKey("Observation", "s-obs-2"): Origin("visits.csv", 3, "hba1c_pct"),
}


def _job() -> _Job:
    return _Job(
        plan_participant("s-pat-1", "subjects.csv row 2", RESOURCES, {}, RemovalPolicy.KEEP),
        ORIGINS,
    )


def _error(**issue) -> TerminalServerError:
    return TerminalServerError(
        "refused",
        status=400,
        method="POST",
        path="/fhir",
        issues=(OutcomeIssue(severity="error", code="processing", **issue),),
        hapi_code="HAPI-1094",
    )


def _failure(error):
    engine = SyncEngine.__new__(SyncEngine)
    report = SyncReport("http://x/fhir", "client-ids", False)
    engine._failed(report, _job(), error)
    return report


def test_entry_index_in_the_outcome_names_the_row():
    report = _failure(_error(expression=("Bundle.entry[2].resource.valueQuantity",)))
    (failure,) = report.failures
    assert (failure.file, failure.row, failure.column, failure.resource) == (
        "visits.csv",
        3,
        "hba1c_pct",
        "Observation/s-obs-2",
    )
    assert failure.status == 400 and failure.hapi_code == "HAPI-1094"
    assert report.participants_failed == 1 and report.counts["Observation"]["failed"] == 2


def test_resource_named_in_diagnostics_names_the_row():
    report = _failure(_error(diagnostics="Resource Observation/s-obs-1 is invalid"))
    assert (report.failures[0].file, report.failures[0].row) == ("visits.csv", 2)


def test_unplaceable_error_still_names_the_participant_row():
    report = _failure(_error(diagnostics="something else went wrong"))
    failure = report.failures[0]
    assert failure.file is None and failure.participant == "subjects.csv row 2"
    assert "subjects.csv row 2" in str(failure)
