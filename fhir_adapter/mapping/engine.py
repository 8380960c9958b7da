"""The pure mapping engine: one participant's source rows in, checked records or errors out.

No I/O happens here. A bad row never yields a record: it is left out with the rows that
depend on it (``mapping.dependents``), or with the whole participant when the policy says so
or when it is the participant's own row; the caller decides whether to go on or stop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fhir_adapter.kinds import MapContext, Registry, SectionMapper
from fhir_adapter.kinds import registry as kinds_registry
from fhir_adapter.mapping.dependents import (
    BadRowPolicy,
    RejectedRecords,
    bad_rows,
    drop_bad_rows,
    settle_references,
)
from fhir_adapter.mapping.records import (
    LeftOut,
    Origin,
    Participant,
    ParticipantRecords,
    RowError,
)
from fhir_adapter.mapping.rowreader import RowReader, SectionTools
from fhir_adapter.mapping.spec import MappingSpec
from fhir_adapter.sources.row import SourceRow


@dataclass
class ParticipantResult:
    subject: str
    records: ParticipantRecords | None
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0
    left_out: list[LeftOut] = field(default_factory=list)  # rows dropped with the bad ones


class ParticipantMapper:
    """Compiled once per mapping; ``map`` is called once per participant."""

    def __init__(
        self,
        spec: MappingSpec,
        policy: BadRowPolicy = BadRowPolicy.ROW,
        registry: Registry | None = None,
    ):
        registry = registry or kinds_registry
        self.spec = spec
        self.policy = policy
        tools = SectionTools(spec)
        self.options = tools.options
        self._arm_names = {arm.code: arm.name for arm in spec.study.arms}
        p = spec.participants
        self._own_rows = tools.rows(p)
        self._participant = tools.fields(
            p, "sex", "birth_date", "arm", "enrolled", "status", "end", "end_reason", "stratum"
        )
        compiled = [k.compile(tools) for k in registry.kinds if k.compile is not None]
        # In registry order; derived kinds read the others' records, so they come after.
        mappers = [m for m in compiled if m is not None]
        self._mappers: list[SectionMapper] = [m for m in mappers if not m.derived] + [
            m for m in mappers if m.derived
        ]
        self._dependents = mappers  # registry order, for what depends on what

    def subject_columns(self) -> dict[str, str]:
        """Table name → the column that names the participant (one per table)."""
        columns: dict[str, str] = {}
        for _, section in self.spec.sections():
            columns.setdefault(section.table, section.subject)
        return columns

    # --- mapping -------------------------------------------------------------------------------

    def map(self, subject: str, rows: Mapping[str, Sequence[SourceRow]]) -> ParticipantResult:
        """Map one participant. ``rows`` holds the participant's rows per table name.

        Under ``BadRowPolicy.ROW`` a bad row is left out with the rows that depend on it
        (``mapping.dependents``) and the rest is mapped; a bad participant row, or any bad
        row under the other policies, leaves the participant out whole.
        """
        errors: list[RowError] = []
        result = ParticipantResult(subject, None, errors, sum(len(r) for r in rows.values()))
        own = self._own_rows.select(rows, errors)
        if not own and (errors or rows.get(self.spec.participants.table)):
            return result  # the participants' 'where' left this person out (or failed)
        if not own:
            for table_rows in rows.values():
                for row in table_rows:
                    errors.append(
                        RowError(
                            row.file,
                            row.number,
                            self.subject_columns()[_table_of(self, row)],
                            "unknown-subject",
                            "no such participant in the participants table",
                        )
                    )
            return result
        for extra in own[1:]:
            errors.append(
                RowError(
                    extra.file,
                    extra.number,
                    self.spec.participants.subject,
                    "duplicate",
                    "participant listed more than once",
                )
            )
        participant = self._map_participant(own[0], errors)
        if participant is None or errors:
            return _left_out_whole(result, own[0], rows, "the participant's own row was rejected")
        records = ParticipantRecords(participant)
        rejected = RejectedRecords()
        context = MapContext(participant, errors, records, self.spec.study.data_cutoff)
        for mapper in self._mappers:
            mapped = mapper.map_rows(rows, context)
            records.by_kind[mapper.kind], rejected.by_kind[mapper.kind] = mapped
        bad = bad_rows(errors)
        if errors and self.policy is not BadRowPolicy.ROW:
            return _left_out_whole(
                result, own[0], rows, "the participant has rejected rows (--on-bad-row participant)"
            )
        if (own[0].file, own[0].number) in bad:
            return _left_out_whole(result, own[0], rows, "the participant's own row was rejected")
        drop_bad_rows(records, bad)
        link_errors, left = settle_references(records, rejected, self._dependents)
        for mapper in self._dependents:
            if mapper.kind in records.by_kind:
                kept, settle_errors, stopped = mapper.settle(
                    records.by_kind[mapper.kind], rejected.of(mapper.kind)
                )
                records.by_kind[mapper.kind] = kept
                link_errors += settle_errors
                left += stopped
        if link_errors and self.policy is not BadRowPolicy.ROW:
            errors.extend(link_errors)
            return _left_out_whole(
                result, own[0], rows, "the participant has rejected rows (--on-bad-row participant)"
            )
        errors.extend(link_errors)
        result.left_out = left
        result.records = records
        if errors:
            _name_subject_row(result, own[0])
        return result

    def _map_participant(self, row: SourceRow, errors: list[RowError]) -> Participant | None:
        r = RowReader(row, errors, cutoff=self.spec.study.data_cutoff)
        p = self.spec.participants
        sex, birth, arm, enrolled, status, end, reason, stratum = (
            r.get(reader) for reader in self._participant
        )
        if not r.failed and arm not in self._arm_names:
            r.fail(p.arm.column, "code", "value is not one of the study's arm codes (study.arms)")
        r.birth = birth
        r.after_birth(enrolled, p.enrolled)
        if p.end is not None:
            r.in_order(enrolled, end, (p.enrolled, p.end))
        if r.failed:
            return None
        subject = str(row.values.get(self.spec.participants.subject, "")).strip()
        return Participant(
            subject,
            sex,
            birth,
            arm,
            self._arm_names[arm],
            enrolled,
            status,
            end,
            r.origin,
            reason,
            stratum,
        )


def _table_of(mapper: ParticipantMapper, row: SourceRow) -> str:
    for name, table in mapper.spec.tables.items():
        if table.file == row.file:
            return name
    return mapper.spec.participants.table


def _name_subject_row(result: ParticipantResult, row: SourceRow) -> None:
    """Each error names the participant's own row, so the person can be found (no PHI)."""
    origin = Origin(row.file, row.number)
    result.errors[:] = [
        RowError(e.file, e.row, e.column, e.rule, e.message, origin) for e in result.errors
    ]


def _left_out_whole(
    result: ParticipantResult,
    row: SourceRow,
    rows: Mapping[str, Sequence[SourceRow]],
    reason: str,
) -> ParticipantResult:
    """The participant is not mapped: its rows without an error are left out with the bad."""
    _name_subject_row(result, row)
    bad = bad_rows(result.errors)
    own = (row.file, row.number)
    cause = own if own in bad else next(iter(sorted(bad)), None)
    because = Origin(*cause) if cause else None
    result.left_out = [
        LeftOut(r.file, r.number, reason, because)
        for table_rows in rows.values()
        for r in table_rows
        if (r.file, r.number) not in bad
    ]
    return result
