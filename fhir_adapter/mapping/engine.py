"""The pure mapping engine: one participant's source rows in, checked records or errors out.

No I/O happens here. A bad row never yields a record: it is left out with the rows that
depend on it (``mapping.dependents``), or with the whole participant when the policy says so
or when it is the participant's own row; the caller decides whether to go on or stop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fhir_adapter.mapping import fields as F
from fhir_adapter.mapping.dependents import (
    BadRowPolicy,
    RejectedRecords,
    bad_rows,
    drop_bad_rows,
    link_dose_changes,
    settle_references,
)
from fhir_adapter.mapping.frequency import Schedule
from fhir_adapter.mapping.keys import OwnKeyValue, key_reader
from fhir_adapter.mapping.records import (
    AdverseEventRecord,
    Converted,
    Diagnosis,
    LeftOut,
    Measurement,
    MedicationRecord,
    Origin,
    Participant,
    ParticipantRecords,
    ProcedureRecord,
    ProductRecord,
    RowError,
)
from fhir_adapter.mapping.selection import SectionRows
from fhir_adapter.mapping.spec import (
    Column,
    LongObservations,
    MappingSpec,
    WideObservations,
    field_reads,
)
from fhir_adapter.mapping.units import Converter, UnitError, check_ucum, resolve
from fhir_adapter.mapping.values import before
from fhir_adapter.sources.row import SourceRow


@dataclass
class ParticipantResult:
    subject: str
    records: ParticipantRecords | None
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0
    left_out: list[LeftOut] = field(default_factory=list)  # rows dropped with the bad ones


class _Rows:
    """Collects problems while reading one row's fields; ``birth`` dates the participant."""

    __slots__ = ("row", "errors", "failed", "birth")

    def __init__(self, row: SourceRow, errors: list[RowError], birth: str | None = None):
        self.row, self.errors, self.failed, self.birth = row, errors, False, birth

    def get(self, reader: Callable[[dict[str, object]], Any] | None) -> Any:
        if reader is None:
            return None
        try:
            return reader(self.row.values)
        except F.FieldProblem as problem:
            self.fail(problem.column, problem.rule, problem.message)
            return None

    def fail(self, column: str | None, rule: str, message: str) -> None:
        self.failed = True
        self.errors.append(RowError(self.row.file, self.row.number, column, rule, message))

    def after_birth(self, date: str | None, column: Column | None) -> None:
        """An event dated before the participant was born is a row error (``before-birth``)."""
        if date is not None and self.birth is not None and before(date, self.birth):
            self.fail(
                column.column if column else None,
                "before-birth",
                "the date is before the participant's birth date",
            )

    def in_order(self, start: str | None, end: str | None, columns: tuple[Column, Column]) -> None:
        """An end before its start is a row error (``end-before-start``) on the end's column."""
        if start is not None and end is not None and before(end, start):
            start_column, end_column = columns
            where = f" in column '{start_column.column}'" if start_column.column else ""
            self.fail(
                end_column.column,
                "end-before-start",
                f"the end date is before the start date{where}",
            )

    @property
    def origin(self) -> Origin:
        return Origin(self.row.file, self.row.number)


class ParticipantMapper:
    """Compiled once per mapping; ``map`` is called once per participant."""

    def __init__(self, spec: MappingSpec, policy: BadRowPolicy = BadRowPolicy.ROW):
        self.spec = spec
        self.policy = policy
        self.options = {
            name: F.Options.resolve(table, spec.source) for name, table in spec.tables.items()
        }
        self._converters: dict[tuple[str, str, str, int], Converter] = {}
        self._bounds = {
            (key, unit): (
                None if form.min is None else Decimal(str(form.min)),
                None if form.max is None else Decimal(str(form.max)),
            )
            for key, analyte in spec.codes.analytes.items()
            for unit, form in analyte.forms.items()
        }
        self._arm_names = {arm.code: arm.name for arm in spec.study.arms}
        self._compile()

    # --- compilation -------------------------------------------------------------------------

    def _compile(self) -> None:
        """One reader per field, chosen by the field's declaration (``spec.reads``)."""
        s, o = self.spec, self.options

        def read(section: Any, name: str) -> F.Reader | None:
            column = getattr(section, name)
            declared = field_reads(type(section), name)
            assert declared is not None, name
            if column is None:
                return None
            table = column.lookup.table if column.lookup else section.table
            return F.reader(column, declared, o[table], name, o[section.table])

        def fields(section: Any, *names: str) -> tuple[F.Reader | None, ...]:
            return tuple(read(section, name) for name in names)

        def own_id(section: Any, key: OwnKeyValue) -> F.Reader:
            return key_reader(key, o[section.table])

        self._selectors = {
            id(section): SectionRows(section, o[section.table], ".".join(map(str, loc)))
            for loc, section in s.sections()
        }
        p = s.participants
        self._participant = fields(
            p, "sex", "birth_date", "arm", "enrolled", "status", "end", "end_reason", "stratum"
        )
        if s.diagnosis:
            self._onset = read(s.diagnosis, "onset")
        self._observations: list[tuple[Any, ...]] = []
        for section in s.observations:
            if isinstance(section, WideObservations):
                so = o[section.table]
                values = [(v, F.result(v.column, so)) for v in section.values]
                self._observations.append(
                    ("wide", section, *fields(section, "date", "visit"), values)
                )
            else:
                self._observations.append(
                    (
                        "long",
                        section,
                        *fields(section, "date", "visit", "analyte"),
                        F.result(section.value, o[section.table]),
                        read(section, "unit"),
                    )
                )
        if s.procedures:
            pr = s.procedures
            self._procedure = (
                own_id(pr, pr.id),
                *fields(pr, "kind", "date", "route", "body_site", "product"),
            )
        if s.products:
            pd = s.products
            self._product = (
                own_id(pd, pd.id),
                *fields(pd, "harvest", "collected", "cell_type", "dose", "viability", "dose_unit"),
            )
        if s.medications:
            md = s.medications
            self._medication = (
                own_id(md, md.line),
                *fields(
                    md, "drug", "dose", "dose_unit", "frequency", "times_per_day", "start", "end"
                ),
            )
        if s.adverse_events:
            ae = s.adverse_events
            self._adverse = (
                own_id(ae, ae.id),
                *fields(ae, "onset", "term", "severity", "serious", "outcome"),
            )

    def _rows(
        self, section: Any, rows: Mapping[str, Sequence[SourceRow]], errors: list[RowError]
    ) -> Sequence[SourceRow]:
        """The participant's rows of ``section``: its table's rows its ``where`` keeps."""
        return self._selectors[id(section)].select(rows, errors)

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
        own = self._rows(self.spec.participants, rows, errors)
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
        self._map_sections(rows, records, rejected, errors)
        bad = bad_rows(errors)
        if errors and self.policy is not BadRowPolicy.ROW:
            return _left_out_whole(
                result, own[0], rows, "the participant has rejected rows (--on-bad-row participant)"
            )
        if (own[0].file, own[0].number) in bad:
            return _left_out_whole(result, own[0], rows, "the participant's own row was rejected")
        drop_bad_rows(records, bad)
        s = self.spec
        link_errors, left = settle_references(
            records,
            rejected,
            s.procedures.product.column if s.procedures and s.procedures.product else None,
            s.products.harvest.column if s.products and s.products.harvest else None,
        )
        if link_errors and self.policy is not BadRowPolicy.ROW:
            errors.extend(link_errors)
            return _left_out_whole(
                result, own[0], rows, "the participant has rejected rows (--on-bad-row participant)"
            )
        errors.extend(link_errors)
        records.medications, stopped = link_dose_changes(records.medications, rejected.medications)
        result.left_out = left + stopped
        result.records = records
        if errors:
            _name_subject_row(result, own[0])
        return result

    def _map_sections(
        self,
        rows: Mapping[str, Sequence[SourceRow]],
        records: ParticipantRecords,
        rejected: RejectedRecords,
        errors: list[RowError],
    ) -> None:
        """Every section's records from its rows; what failed goes to ``rejected``."""
        s = self.spec
        participant = records.participant
        birth = participant.birth_date
        if s.diagnosis:
            records.diagnosis = self._map_diagnosis(
                self._rows(s.diagnosis, rows, errors), participant, errors
            )
        for compiled in self._observations:
            table_rows = self._rows(compiled[1], rows, errors)
            if compiled[0] == "wide":
                self._map_wide(compiled, table_rows, records.measurements, errors, birth)
            else:
                self._map_long(compiled, table_rows, records.measurements, errors, birth)
        _no_duplicates(
            records.measurements, lambda m: (m.visit, m.analyte), "visit and analyte", errors
        )
        if s.procedures:
            self._map_rows(
                self._rows(s.procedures, rows, errors),
                self._make_procedure,
                records.procedures,
                errors,
                birth,
                rejected.procedures,
            )
            _no_duplicates(records.procedures, lambda r: r.id, "procedure id", errors)
        if s.products:
            self._map_rows(
                self._rows(s.products, rows, errors),
                self._make_product,
                records.products,
                errors,
                birth,
                rejected.products,
            )
            _no_duplicates(records.products, lambda r: r.id, "product id", errors)
        if s.medications:
            self._map_rows(
                self._rows(s.medications, rows, errors),
                self._make_medication,
                records.medications,
                errors,
                birth,
                rejected.medications,
            )
            _no_duplicates(records.medications, lambda r: r.line, "medication line", errors)
        if s.adverse_events:
            self._map_rows(
                self._rows(s.adverse_events, rows, errors),
                self._make_adverse,
                records.adverse_events,
                errors,
                birth,
            )
            _no_duplicates(records.adverse_events, lambda r: r.id, "adverse event id", errors)

    def _map_participant(self, row: SourceRow, errors: list[RowError]) -> Participant | None:
        r = _Rows(row, errors)
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

    def _map_diagnosis(
        self, rows: Sequence[SourceRow], participant: Participant, errors: list[RowError]
    ) -> Diagnosis | None:
        assert self.spec.diagnosis is not None
        for extra in rows[1:]:  # one condition per participant: a second row is not dropped
            errors.append(
                RowError(
                    extra.file,
                    extra.number,
                    self.spec.diagnosis.subject,
                    "duplicate",
                    "a second diagnosis row for this participant (one is mapped per person)",
                )
            )
        for row in rows[:1]:
            r = _Rows(row, errors, participant.birth_date)
            onset = r.get(self._onset)
            r.after_birth(onset, self.spec.diagnosis.onset)
            if not r.failed:
                return Diagnosis(
                    self.spec.diagnosis.condition, onset, participant.enrolled, r.origin
                )
        return None

    def _map_wide(
        self,
        compiled: tuple[Any, ...],
        rows: Sequence[SourceRow],
        out: list[Measurement],
        errors: list[RowError],
        birth: str | None,
    ) -> None:
        _, section, date_reader, visit_reader, values = compiled
        for row in rows:
            r = _Rows(row, errors, birth)
            date, visit = r.get(date_reader), r.get(visit_reader)
            r.after_birth(date, section.date)
            for value_spec, reader in values:
                parsed = r.get(reader)
                if parsed is None or r.failed:
                    continue
                comparator, number = parsed
                measured = self._measure(
                    r,
                    value_spec.column,
                    value_spec.analyte,
                    value_spec.unit,
                    value_spec.convert_to,
                    value_spec.decimals,
                    number,
                )
                if measured is not None and date is not None and visit is not None:
                    out.append(
                        Measurement(
                            visit,
                            date,
                            value_spec.analyte,
                            measured[0],
                            comparator,
                            measured[1],
                            Origin(row.file, row.number, value_spec.column),
                            measured[2],
                        )
                    )

    def _map_long(
        self,
        compiled: tuple[Any, ...],
        rows: Sequence[SourceRow],
        out: list[Measurement],
        errors: list[RowError],
        birth: str | None,
    ) -> None:
        _, section, date_reader, visit_reader, analyte_reader, value_reader, unit_reader = compiled
        assert isinstance(section, LongObservations)
        for row in rows:
            r = _Rows(row, errors, birth)
            date, visit = r.get(date_reader), r.get(visit_reader)
            r.after_birth(date, section.date)
            analyte, parsed, unit = r.get(analyte_reader), r.get(value_reader), r.get(unit_reader)
            if r.failed or parsed is None:
                continue
            conversion = section.convert.get(analyte)
            measured = self._measure(
                r,
                section.value,
                analyte,
                unit,
                conversion.to if conversion else None,
                conversion.decimals if conversion else None,
                parsed[1],
                unit_column=section.unit.column,
            )
            if measured is not None:
                out.append(
                    Measurement(
                        visit,
                        date,
                        analyte,
                        measured[0],
                        parsed[0],
                        measured[1],
                        Origin(row.file, row.number, section.value),
                        measured[2],
                    )
                )

    def _measure(
        self,
        r: _Rows,
        column: str,
        analyte_key: str,
        unit: str,
        convert_to: str | None,
        decimals: int | None,
        value: Decimal,
        unit_column: str | None = None,
    ) -> tuple[str, Decimal, Converted | None] | None:
        """Convert if asked, then check each value against its form's plausible range.

        A conversion into a form whose code asserts a method (HbA1c by IFCC protocol) keeps
        the measured value in its own form and returns the converted one beside it.
        """
        analyte = self.spec.codes.analytes[analyte_key]
        target = convert_to or unit
        if target not in analyte.forms or (
            target != unit and analyte.forms[target].method and unit not in analyte.forms
        ):
            r.fail(
                unit_column or column,
                "unit",
                f"unit is not one the mapping declares for analyte '{analyte_key}'",
            )
            return None
        if target == unit:
            if not self._in_range(r, column, analyte_key, unit, value):
                return None
            return unit, value, None
        converter = self._converter(r, column, analyte_key, unit, target, decimals, unit_column)
        if converter is None:
            return None
        converted = converter(value)
        if not self._in_range(r, column, analyte_key, target, converted):
            return None
        if analyte.forms[target].method:
            if not self._in_range(r, column, analyte_key, unit, value):
                return None
            return unit, value, Converted(target, converted)
        return target, converted, None

    def _converter(
        self,
        r: _Rows,
        column: str,
        analyte_key: str,
        unit: str,
        target: str,
        decimals: int | None,
        unit_column: str | None,
    ) -> Converter | None:
        analyte = self.spec.codes.analytes[analyte_key]
        places = analyte.forms[target].decimals if decimals is None else decimals
        if places is None:  # refused at load; a unit read from a cell can still get here
            r.fail(unit_column or column, "unit", f"no precision declared for '{target}'")
            return None
        key = (analyte_key, unit, target, places)
        converter = self._converters.get(key)
        if converter is None:
            try:
                converter = resolve(
                    unit,
                    target,
                    molar_mass=analyte.molar_mass_g_per_mol,
                    equations=analyte.conversions,
                    decimals=places,
                )
            except UnitError as exc:
                r.fail(unit_column or column, "unit", str(exc))
                return None
            self._converters[key] = converter
        return converter

    def _in_range(self, r: _Rows, column: str, analyte_key: str, unit: str, value: Decimal) -> bool:
        """Whether ``value`` is plausible for the analyte's form in ``unit`` (else a row error)."""
        low, high = self._bounds[(analyte_key, unit)]
        if (low is not None and value < low) or (high is not None and value > high):
            r.fail(column, "range", f"outside the plausible range {low}–{high} {unit}")
            return False
        return True

    def _map_rows(
        self,
        rows: Sequence[SourceRow],
        make: Callable[[_Rows], Any],
        out: list[Any],
        errors: list[RowError],
        birth: str | None,
        rejected: list[Any] | None = None,
    ) -> None:
        for row in rows:
            r = _Rows(row, errors, birth)
            record = make(r)
            if not r.failed and record is not None:
                out.append(record)
            elif rejected is not None and record is not None:
                rejected.append(record)

    def _make_procedure(self, r: _Rows) -> ProcedureRecord:
        pid, kind, date, route, site, product = (r.get(x) for x in self._procedure)
        assert self.spec.procedures is not None
        r.after_birth(date, self.spec.procedures.date)
        return ProcedureRecord(pid, kind, date, route, site, product, r.origin)

    def _make_product(self, r: _Rows) -> ProductRecord | None:
        pid, harvest, collected, cell_type, dose, viability, unit = (
            r.get(x) for x in self._product
        )
        assert self.spec.products is not None
        unit_spec = self.spec.products.dose_unit
        if dose is not None and unit is None and not r.failed:
            r.fail(unit_spec.column, "required", "a dose needs its unit")
        if unit is not None and unit_spec.map is None and not _is_ucum(unit):
            r.fail(
                unit_spec.column,
                "unit",
                "not a UCUM unit code; map the export's unit text to UCUM with 'map:' "
                "(e.g. 10^6/kg: '10*6/kg')",
            )
        r.after_birth(collected, self.spec.products.collected)
        if dose is not None and dose <= 0:
            r.fail(self.spec.products.dose.column, "range", "dose must be positive")
        if viability is not None and not 0 <= viability <= 100:
            r.fail(
                self.spec.products.viability.column if self.spec.products.viability else None,
                "range",
                "viability must be between 0 and 100 %",
            )
        return ProductRecord(
            pid,
            harvest,
            collected,
            cell_type,
            dose,
            unit,
            viability,
            r.origin,
        )

    def _make_medication(self, r: _Rows) -> MedicationRecord:
        line, drug, dose, unit, schedule, per_day, start, end = (r.get(x) for x in self._medication)
        md = self.spec.medications
        assert md is not None
        if dose is not None and dose < 0:
            r.fail(md.dose.column, "range", "dose must not be negative")
        if dose is not None and unit is None and not r.failed:
            r.fail(md.dose_unit.column, "required", "a dose needs its unit")
        if unit is not None and md.dose_unit.map is None and not _is_ucum(unit):
            r.fail(
                md.dose_unit.column,
                "unit",
                "not a UCUM unit code; map the export's unit text to UCUM with 'map:' "
                "(e.g. IU: '[IU]')",
            )
        r.after_birth(start, md.start)
        if md.end is not None:
            r.in_order(start, end, (md.start, md.end))
        if per_day is not None:  # the loader allows frequency or times_per_day, not both
            schedule = Schedule.times_a_day(per_day)
        return MedicationRecord(
            line, drug, dose, unit, schedule, bool(md.daily_total), start, end, r.origin
        )

    def _make_adverse(self, r: _Rows) -> AdverseEventRecord:
        aid, onset, term, severity, serious, outcome = (r.get(x) for x in self._adverse)
        assert self.spec.adverse_events is not None
        r.after_birth(onset, self.spec.adverse_events.onset)
        return AdverseEventRecord(aid, onset, term, severity, serious, outcome, r.origin)


@functools.lru_cache(maxsize=256)
def _is_ucum(code: str) -> bool:
    try:
        check_ucum(code)
    except UnitError:
        return False
    return True


def _table_of(mapper: ParticipantMapper, row: SourceRow) -> str:
    for name, table in mapper.spec.tables.items():
        if table.file == row.file:
            return name
    return mapper.spec.participants.table


def _no_duplicates(
    records: Sequence[Any], key: Callable[[Any], Any], what: str, errors: list[RowError]
) -> None:
    """Every row of a group sharing one key is an error: which of them is right cannot be
    told, so none is kept in place of the others."""
    groups: dict[Any, list[Any]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    reported: set[tuple[str, int]] = set()  # a wide row has several values: one error
    for group in groups.values():
        if len(group) < 2:
            continue
        rows = ", ".join(str(r.origin.row) for r in group)
        for record in group:
            if (record.origin.file, record.origin.row) in reported:
                continue
            reported.add((record.origin.file, record.origin.row))
            errors.append(
                RowError(
                    record.origin.file,
                    record.origin.row,
                    None,
                    "duplicate",
                    f"rows {rows} have the same {what}; which one is right cannot be told",
                )
            )


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
