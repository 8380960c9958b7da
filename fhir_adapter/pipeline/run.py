"""``StudyRun``: a mapping file applied to a data directory, participant by participant.

"Mapping" names the file format only (``MappingSpec``, loaded as a ``MappingFile``); one
application of it to a study's data is a run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fhir_adapter.errors import MappingSpecError, SourceDataError
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.fhir.resources import ResourceFactory
from fhir_adapter.fhir.structure import empty_elements
from fhir_adapter.fhir.validate import model_problems
from fhir_adapter.kinds import registry
from fhir_adapter.mapping.columns import columns_by_table
from fhir_adapter.mapping.consistency import study_status_warnings
from fhir_adapter.mapping.dependents import BadRowPolicy, bad_rows
from fhir_adapter.mapping.engine import ParticipantMapper
from fhir_adapter.mapping.fields import Options
from fhir_adapter.mapping.loader import MappingFile, check_against_data
from fhir_adapter.mapping.records import LeftOut, Origin, ParticipantRecords, RowError
from fhir_adapter.mapping.schedule import HeldVisit, check_visits
from fhir_adapter.pipeline.rejects import RejectsWriter
from fhir_adapter.pipeline.report import MapReport
from fhir_adapter.pipeline.spill import Spill
from fhir_adapter.sources.row import SourceRow
from fhir_adapter.sources.tables import read_table

Resource = dict[str, Any]


@dataclass(frozen=True)
class MappedParticipant:
    """One participant's resources, complete. ``key`` is the Patient id: no PHI."""

    key: str
    resources: list[Resource]
    origins: dict[ResourceKey, Origin]  # the source row each resource came from
    # False when some of the participant's rows were rejected or left out: what is missing
    # may still be on the server, so a sync must not take it for removed from the source.
    complete: bool = True


def structure_errors(built: list[tuple[Resource, Origin]]) -> list[RowError]:
    """Row errors for built resources holding a null or empty element (``fhir.structure``).

    Each names the source row the resource came from and the element path; the participant
    is then left out whole, like any row error. Never pruned: an element that comes out
    empty is a bug to see, not to hide.
    """
    errors = []
    for resource, origin in built:
        for problem in empty_elements(resource):
            errors.append(
                RowError(
                    origin.file,
                    origin.row,
                    origin.column,
                    "structure",
                    f"{problem}, which FHIR does not allow; the resource was not written. "
                    "This is a fault in the mapping or in fhir-adapter: report it with the "
                    "mapping file",
                    Origin(built[0][1].file, built[0][1].row),
                )
            )
    return errors


class StudyRun:
    """Streams a study's participants; fills ``report`` as it goes.

    ``on_bad_row`` says what a row error costs (``BadRowPolicy``): by default the row and
    the rows that depend on it; ``participant`` leaves the participant out whole; ``stop``
    (or ``strict``) raises ``SourceDataError`` at the first row error. ``rejects_dir``
    receives every row not mapped (``pipeline.rejects``). ``check_models`` also validates
    every resource with the R4B models.
    """

    def __init__(
        self,
        mapping: MappingFile,
        data_dir: Path,
        *,
        strict: bool = False,
        on_bad_row: BadRowPolicy | None = None,
        rejects_dir: Path | None = None,
        check_models: bool = False,
        spill_dir: Path | None = None,
        check_schedule: bool = True,
    ):
        self.mapping = mapping
        self.spec = mapping.spec
        self.data_dir = Path(data_dir)
        self.on_bad_row = BadRowPolicy.STOP if strict else (on_bad_row or BadRowPolicy.ROW)
        self.strict = self.on_bad_row is BadRowPolicy.STOP
        self.rejects_dir = rejects_dir
        self.check_models = check_models
        self.spill_dir = spill_dir
        self.check_schedule = check_schedule
        check_against_data(mapping, self.data_dir)
        self.mapper = ParticipantMapper(self.spec, self.on_bad_row)
        self.factory = ResourceFactory(self.spec, mapping.name)
        self.report = MapReport(mapping.name, self.spec.mapping_version)
        self._rejects: RejectsWriter | None = None

    def study_resources(self) -> list[Resource]:
        """The ResearchStudy; built from the mapping file alone, so a structural problem in
        it is the mapping's and raises ``MappingSpecError``."""
        study = self.factory.research_study()
        for problem in empty_elements(study):
            raise MappingSpecError(
                f"{problem}, which FHIR does not allow; give that value under 'study'",
                file=str(self.mapping.path),
                key="study",
            )
        self._count_and_check([study])
        return [study]

    def participants(
        self, on_rows: Callable[[int], None] | None = None
    ) -> Iterator[MappedParticipant]:
        """Map every participant in subject order. ``on_rows(n)`` reports progress in rows.

        When all are mapped, ``report.warnings`` says where the study's status contradicts
        the mapped participants' statuses.
        """
        subject_columns = self.mapper.subject_columns()
        statuses: Counter[str] = Counter()
        columns = columns_by_table(self.spec)
        with Spill(self.spill_dir) as spill, self._rejects_writer(columns):
            for table, table_columns in columns.items():
                spec = self.spec.tables[table]
                options = Options.resolve(spec, self.spec.source)
                rows = read_table(
                    self.data_dir,
                    spec.file,
                    delimiter=options.delimiter,
                    encoding=options.encoding,
                    sheet=spec.sheet,
                    required_columns=table_columns,
                    table=table,
                    subject_column=subject_columns[table],
                    redcap=spec.redcap.selection() if spec.redcap is not None else None,
                )
                spill.add_table(
                    table,
                    table_columns,
                    self._keyed(table, rows, subject_columns[table], options, on_rows),
                )
            for subject, rows_by_table in spill.participants():
                result = self.mapper.map(subject, rows_by_table)
                self._account(result.errors, result.left_out, rows_by_table)
                if result.records is None:
                    if result.errors and self.spec.participants.table in rows_by_table:
                        self.report.rejected_keys.append(
                            registry.resource_id(self.spec.study.key, "Patient", subject)
                        )
                        self.report.participants_rejected += 1
                    continue  # rejected, or left out by the participants' 'where'
                built = self.factory.participant(result.records)
                broken = structure_errors(built)
                if broken:
                    self.report.rejected_keys.append(built[0][0]["id"])
                    self.report.participants_rejected += 1
                    self._account(broken, [], rows_by_table)
                    continue
                resources = [r for r, _ in built]
                self._count_and_check(resources)
                self.report.participants_mapped += 1
                complete = not result.errors and not result.left_out
                if not complete:
                    self.report.participants_partial += 1
                statuses[result.records.participant.status] += 1
                self._check_schedule(result.records)
                yield MappedParticipant(
                    key=resources[0]["id"],
                    resources=resources,
                    origins={ResourceKey.of(r): o for r, o in built},
                    complete=complete,
                )
        self.report.warnings.extend(study_status_warnings(self.spec.study.status, statuses))

    def _check_schedule(self, records: ParticipantRecords) -> None:
        """Planned against actual visits (``mapping.schedule``): deviations, not errors."""
        schedule = self.spec.study.schedule
        if schedule is None or not self.check_schedule:
            return
        visits = [HeldVisit(v.visit, v.date, v.origin) for v in records.of("encounter")]
        self.report.schedule.extend(
            check_visits(schedule, records.participant, visits, self.spec.study.data_cutoff)
        )

    @contextmanager
    def _rejects_writer(self, columns: dict[str, list[str]]) -> Iterator[None]:
        if self.rejects_dir is None:
            yield
            return
        with RejectsWriter(self.rejects_dir, columns) as writer:
            self._rejects = writer
            try:
                yield
            finally:
                self._rejects = None
                self.report.rejects_written = writer.rows_written

    def all_resources(self) -> Iterator[tuple[Resource, Origin | None]]:
        """Every resource of the study with its source row (None for study-level ones)."""
        for resource in self.study_resources():
            yield resource, None
        for participant in self.participants():
            for resource in participant.resources:
                yield resource, participant.origins[ResourceKey.of(resource)]

    def _keyed(
        self,
        table: str,
        rows: Iterator[SourceRow],
        subject_column: str,
        options: Options,
        on_rows: Callable[[int], None] | None,
    ) -> Iterator[tuple[str, SourceRow]]:
        missing = options.missing
        pending = 0
        for row in rows:
            self.report.rows_read += 1
            pending += 1
            if on_rows is not None and pending == 1000:
                on_rows(pending)
                pending = 0
            subject = str(row.values.get(subject_column, "")).strip()
            if not subject or subject in missing:
                error = RowError(
                    row.file,
                    row.number,
                    subject_column,
                    "required",
                    "a participant identifier is required",
                )
                self._account([error], [], {table: [row]})
                continue
            yield subject, row
        if on_rows is not None and pending:
            on_rows(pending)

    def _account(
        self,
        errors: list[RowError],
        left_out: list[LeftOut],
        rows_by_table: Mapping[str, Sequence[SourceRow]],
    ) -> None:
        """Count and list what was not mapped, and write it to the rejects folder; under
        ``stop`` the first error ends the run instead."""
        if not errors and not left_out:
            return
        if errors and self.strict:
            first = errors[0]
            raise SourceDataError(
                first.message, file=first.file, row=first.row, column=first.column, rule=first.rule
            )
        self.report.errors.extend(errors)
        bad = bad_rows(errors)
        self.report.rows_rejected += len(bad)
        self.report.rows_left_out += len(left_out)
        if self._rejects is None:
            return
        where = {
            (row.file, row.number): (table, row)
            for table, table_rows in rows_by_table.items()
            for row in table_rows
        }
        by_row: dict[tuple[str, int], list[RowError]] = {}
        for error in errors:
            if error.row is not None:
                by_row.setdefault((error.file, error.row), []).append(error)
        for key, problems in sorted(by_row.items()):
            if key in where:
                self._rejects.rejected(*where[key], problems)
        for left in left_out:
            if (left.file, left.row) in where:
                self._rejects.left_out(*where[(left.file, left.row)], left)

    def _count_and_check(self, resources: list[Resource]) -> None:
        for resource in resources:
            self.report.resources[resource["resourceType"]] += 1
            if self.check_models:
                for problem in model_problems(resource):
                    self.report.model_problems.append(f"{ResourceKey.of(resource)}: {problem}")


# The name before "mapping" got one meaning (issue 13): kept for code written against it.
StudyMapping = StudyRun
