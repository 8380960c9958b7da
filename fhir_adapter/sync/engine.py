"""``SyncEngine``: send each participant's plan as one transaction, then commit the ledger."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any, Protocol

from fhir_adapter.client import FhirClient
from fhir_adapter.errors import (
    AccessDeniedError,
    CertificateError,
    FhirAdapterError,
    FhirServerError,
    ServerCapabilityError,
    TransientServerError,
)
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.kinds import registry
from fhir_adapter.mapping.records import Origin
from fhir_adapter.pipeline import MappedParticipant, StudyRun
from fhir_adapter.pipeline.output import subject_of as _subject_of
from fhir_adapter.sync.audit import LedgerAudit, audit_ledger
from fhir_adapter.sync.ledger import Ledger, LedgerEntry
from fhir_adapter.sync.plan import (
    Action,
    ParticipantPlan,
    RemovalPolicy,
    Write,
    plan_participant,
)
from fhir_adapter.sync.report import PlannedParticipant, SyncFailure, SyncReport
from fhir_adapter.sync.response import EntryResult, parse_transaction_response
from fhir_adapter.sync.writemode import WriteMode, WriteStrategy, strategy_for

log = logging.getLogger(__name__)
_RUN_LEVEL = (AccessDeniedError, CertificateError)
STUDY = "study"  # ledger participant key of the study-level resources
_ENTRY = re.compile(r"entry\[(\d+)\]")


@dataclass(frozen=True)
class SyncOptions:
    write_mode: WriteMode = WriteMode.AUTO
    removal: RemovalPolicy = RemovalPolicy.KEEP
    concurrency: int = 4
    dry_run: bool = False
    strict: bool = False  # stop at the first participant the server refuses


class SyncInterruptedError(FhirAdapterError):
    """The run was interrupted; ``report`` holds what the server confirmed (all recorded in
    the ledger) and ``in_flight`` how many transactions were awaited before stopping."""

    def __init__(self, report: SyncReport, in_flight: int, cause: BaseException) -> None:
        self.report = report
        self.in_flight = in_flight
        code = cause.code if isinstance(cause, SystemExit) else None
        self.signum: int = getattr(cause, "signum", None) or (
            code - 128 if isinstance(code, int) and code > 128 else 2
        )
        super().__init__(
            f"interrupted: {report.participants_synced} participant(s) confirmed by the server "
            f"and recorded in the ledger ({in_flight} in flight were awaited); run the same "
            "command again to resume: it sends only what was not confirmed"
        )


class Refusal(Protocol):
    """Why a check before sending refused one resource (``profiles.ProfileFinding`` is one)."""

    @property
    def resource(self) -> str: ...  # Type/id
    @property
    def element(self) -> str: ...  # FHIRPath within the resource, or ""
    @property
    def profile(self) -> str: ...  # the canonical URL it does not conform to
    @property
    def message(self) -> str: ...  # redacted: no value


# A check of a participant's resources before anything is planned or sent (the registry
# profiles of ``sync --require-profile``): a participant it refuses is neither sent nor
# taken for removed from the source; the run goes on with the next one.
Gate = Callable[[list[dict[str, Any]]], Sequence[Refusal]]


@dataclass
class _Job:
    plan: ParticipantPlan
    origins: dict[ResourceKey, Origin]


class SyncEngine:
    """Plans against the ledger, sends with bounded concurrency, commits after confirmation.

    ``gate`` (optional) checks each participant's resources, and the study's, before they
    are planned; what it refuses is reported as a failure and not sent.
    ``after_server_commit`` is a test seam: called with the participant key once the server
    confirmed its transaction and before the ledger records it.
    """

    def __init__(
        self,
        client: FhirClient,
        ledger: Ledger,
        options: SyncOptions,
        *,
        gate: Gate | None = None,
        after_server_commit: Callable[[str], None] | None = None,
    ):
        self.client = client
        self.gate = gate
        self.ledger = ledger
        self.options = options
        self.after_server_commit = after_server_commit
        self.mode = options.write_mode
        self.audit = LedgerAudit()  # applied in memory only on a dry run

    def resolve_mode(self) -> WriteMode:
        """Pick the write mode from the CapabilityStatement unless the user chose one."""
        capabilities = self.client.capabilities()
        if not capabilities.transaction:
            raise ServerCapabilityError(
                "the server does not support transactions, which the sync needs to keep each "
                "participant whole; use a server that does (HAPI FHIR does)"
            )
        if self.options.write_mode is not WriteMode.AUTO:
            return self.options.write_mode
        if not any(capabilities.refuses_update_create(t) for t in registry.resource_types):
            return WriteMode.CLIENT_IDS
        if all(capabilities.supports_conditional_update(t) for t in registry.resource_types):
            return WriteMode.CONDITIONAL
        raise ServerCapabilityError(
            "the server supports neither client-assigned ids (update-as-create) nor conditional "
            "update for every resource type the sync writes"
        )

    def run(
        self, mapping: StudyRun, on_participant: Callable[[], None] | None = None
    ) -> SyncReport:
        self.mode = self.resolve_mode()
        self.writes: WriteStrategy = strategy_for(self.mode)
        if not self.options.dry_run:
            self.ledger.check_write_mode(self.mode.value)
        report = SyncReport(str(self.client.base), self.mode.value, self.options.dry_run)
        report.mapping = mapping.report
        self._audit_ledger(report)
        study = mapping.study_resources()
        study_origin = Origin(mapping.mapping.name, 0)
        if self._refused(report, "study (mapping file)", study, {}, participant=False):
            report.notes.append("the study resource was refused; participants were not sent")
            return report
        self._sync_all(
            report,
            [
                _Job(
                    self._plan(STUDY, "study (mapping file)", study),
                    {ResourceKey.of(r): study_origin for r in study},
                )
            ],
            None,
        )
        if report.failures:
            report.notes.append("the study resource was refused; participants were not sent")
            return report
        seen: set[str] = set()

        def jobs() -> Iterable[_Job]:
            for participant in mapping.participants():
                seen.add(participant.key)
                first = participant.origins[ResourceKey("Patient", participant.key)]
                label = f"{first.file} row {first.row}"
                if self._refused(report, label, participant.resources, participant.origins):
                    if on_participant:
                        on_participant()
                    continue
                yield self._job(participant)

        self._sync_all(report, jobs(), on_participant)
        self._remove_absent(report, mapping, seen)
        return report

    def _refused(
        self,
        report: SyncReport,
        label: str,
        resources: list[dict[str, Any]],
        origins: dict[ResourceKey, Origin],
        *,
        participant: bool = True,
    ) -> bool:
        """Run the gate; a refusal counts the participant failed, each of its resources
        failed, and names the source row of every resource refused."""
        refusals = self.gate(resources) if self.gate else ()
        if not refusals:
            return False
        report.participants_failed += participant
        for resource in resources:
            report.add(resource["resourceType"], "failed")
        for refusal in refusals:
            kind, _, rid = refusal.resource.partition("/")
            origin = origins.get(ResourceKey(kind, rid))
            element = f"{refusal.element}: " if refusal.element else ""
            report.failures.append(
                SyncFailure(
                    participant=label,
                    status=None,
                    hapi_code=None,
                    message=f"{element}{refusal.message}",
                    resource=refusal.resource,
                    file=origin.file if origin else None,
                    row=origin.row if origin else None,
                    column=getattr(origin, "column", None) if origin else None,
                    profile=refusal.profile,
                )
            )
        log.warning("participant at %s refused: a resource breaks a required profile", label)
        return True

    # --- planning ------------------------------------------------------------------------------

    def _audit_ledger(self, report: SyncReport) -> None:
        """Trust the ledger only as far as the server confirms it (see ``sync.audit``):
        what the server lost is forgotten, what it holds at another version is re-sent."""
        audit = audit_ledger(
            self.client, self.ledger.by_type(), concurrency=self.client.max_concurrency
        )
        report.audited = audit.checked
        if audit.clean:
            return
        found = [
            text
            for n, text in (
                (len(audit.missing), f"no longer holds {len(audit.missing):,}"),
                (len(audit.stale), f"holds another version of {len(audit.stale):,}"),
            )
            if n
        ]
        report.notes.append(
            f"the server {' and '.join(found)} of the {audit.checked:,} resources the ledger "
            "recorded (was it reset or edited?): they are sent again"
        )
        if self.options.dry_run:
            self.audit = audit
            return
        self.ledger.forget(audit.missing)
        self.ledger.mark_stale((kind, rid, version) for (kind, rid), version in audit.stale.items())

    def _known(self, key: str) -> dict[ResourceKey, LedgerEntry]:
        entries = self.ledger.participant_entries(key)
        if self.audit.clean:
            return entries
        return {
            k: e
            if k not in self.audit.stale
            else replace(e, content_hash="", version=self.audit.stale[k])
            for k, e in entries.items()
            if k not in self.audit.missing
        }

    def _plan(
        self, key: str, label: str, resources: list[dict[str, Any]], complete: bool = True
    ) -> ParticipantPlan:
        """What to send for one participant. Of a participant with rejected rows nothing is
        removed: what its bad rows held may still be right on the server."""
        removal = self.options.removal if complete else RemovalPolicy.KEEP
        return plan_participant(key, label, resources, self._known(key), removal)

    def _job(self, participant: MappedParticipant) -> _Job:
        first = participant.origins[ResourceKey("Patient", participant.key)]
        label = f"{first.file} row {first.row}"
        plan = self._plan(participant.key, label, participant.resources, participant.complete)
        if self.options.dry_run:
            plan.subject = _subject_of(participant.resources)
        return _Job(plan, participant.origins)

    def _remove_absent(self, report: SyncReport, mapping: StudyRun, seen: set[str]) -> None:
        rejected = set(mapping.report.rejected_keys)
        absent = sorted(self.ledger.participants() - seen - rejected - {STUDY})
        if not absent:
            return
        if not seen and self.options.removal is not RemovalPolicy.KEEP:
            report.notes.append(
                f"no participant was mapped: the {len(absent)} participant(s) "
                "on the server were left alone rather than removed"
            )
            return
        jobs = [
            _Job(self._plan(key, f"participant no longer in the source ({key})", []), {})
            for key in absent
        ]
        report.participants_removed += sum(1 for j in jobs if not j.plan.empty)
        self._sync_all(report, jobs, None)

    # --- sending -------------------------------------------------------------------------------

    def _sync_all(
        self, report: SyncReport, jobs: Iterable[_Job], on_participant: Callable[[], None] | None
    ) -> None:
        """Send the jobs with bounded concurrency. On an interrupt (Ctrl-C, or SIGTERM turned
        into ``KeyboardInterrupt``/``SystemExit`` by the caller) nothing new is sent, the
        transactions in flight are awaited and recorded, and ``SyncInterruptedError`` says
        how far the run got; a second interrupt abandons the in-flight ones (the next run
        sends them again, harmlessly)."""
        limit = max(1, self.options.concurrency)
        pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="sync")
        pending: dict[Future[dict[str, Any]], _Job] = {}
        abandoned = False
        try:
            try:
                for job in jobs:
                    self._submit(report, job, pool, pending, on_participant, limit)
                while pending:
                    self._drain(report, pending, on_participant, block=True)
            except (KeyboardInterrupt, SystemExit) as stop:
                in_flight = len(pending)
                abandoned = True
                while pending:  # a second interrupt leaves this loop at once
                    self._drain(report, pending, on_participant, block=True)
                abandoned = False
                raise SyncInterruptedError(report, in_flight, stop) from None
        finally:
            pool.shutdown(wait=not abandoned, cancel_futures=True)

    def _submit(
        self,
        report: SyncReport,
        job: _Job,
        pool: ThreadPoolExecutor,
        pending: dict[Future[dict[str, Any]], _Job],
        on_participant: Callable[[], None] | None,
        limit: int,
    ) -> None:
        for kind, n in job.plan.unchanged.items():
            report.add(kind, "unchanged", n)
        for kind, n in job.plan.kept.items():
            report.add(kind, "kept", n)
        if job.plan.empty or self.options.dry_run:
            if job.plan.empty:
                report.participants_unchanged += job.plan.participant != STUDY
            else:
                self._record_plan(report, job.plan)
            if on_participant:
                on_participant()
            return
        while len(pending) >= 2 * limit:
            self._drain(report, pending, on_participant, block=True)
        body = self.writes.bundle_for(job.plan, lambda: self._server_ids(job.plan))
        pending[pool.submit(self.client.transaction, body, idempotent=True)] = job

    def _server_ids(self, plan: ParticipantPlan) -> dict[ResourceKey, str]:
        """Our key → server id of what the ledger holds for the participant and the study
        (the resources a conditional bundle may reference outside itself)."""
        ids = {e.key: e.server_id for e in self._known(plan.participant).values()}
        ids.update({e.key: e.server_id for e in self._known(STUDY).values()})
        return ids

    def _drain(
        self,
        report: SyncReport,
        pending: dict[Future[dict[str, Any]], _Job],
        on_participant: Callable[[], None] | None,
        block: bool,
    ) -> None:
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in done:
            job = pending.pop(future)
            try:
                self._confirmed(report, job, future.result())
            except FhirServerError as error:
                self._failed(report, job, error)
                # Credentials the server refuses, or a certificate it cannot prove, would fail
                # every participant the same way: stop the run (exit 5) instead.
                if self.options.strict or isinstance(error, _RUN_LEVEL):
                    for other in pending:
                        other.cancel()
                    raise
            if on_participant:
                on_participant()

    def _confirmed(self, report: SyncReport, job: _Job, response: dict[str, Any]) -> None:
        """Record what the server confirmed. An answer that does not fit the transaction
        (e.g. a location on another origin) raises before anything is recorded."""
        plan = job.plan
        results = parse_transaction_response(
            response, [w.resource_type for w in plan.writes], self.client.base
        )
        if self.after_server_commit:
            self.after_server_commit(plan.participant)
        upserts, removals = [], []
        for write, result in zip(plan.writes, results, strict=True):
            if write.action is Action.DELETE:
                removals.append(write.key)
                report.add(write.resource_type, "deleted")
                continue
            assert write.text is not None and write.content_hash is not None
            server_id = result.server_id or write.resource_id
            upserts.append(
                LedgerEntry(
                    write.resource_type,
                    write.resource_id,
                    plan.participant,
                    write.content_hash,
                    write.text,
                    server_id,
                    result.version,
                )
            )
            report.add(write.resource_type, _outcome(write, result))
        self.ledger.commit(upserts, removals)
        if plan.participant != STUDY:
            report.participants_synced += 1

    def _failed(self, report: SyncReport, job: _Job, error: FhirServerError) -> None:
        report.participants_failed += 1
        for write in job.plan.writes:
            report.add(write.resource_type, "failed")
        resource, origin = self._blame(job, error)
        issue = next(
            (i for i in error.issues if i.is_error), error.issues[0] if error.issues else None
        )
        message = (issue.diagnostics or issue.code) if issue else str(error)
        report.failures.append(
            SyncFailure(
                participant=job.plan.label,
                status=error.status,
                hapi_code=error.hapi_code,
                message=(message or "")[:300],
                resource=resource,
                file=origin.file if origin else None,
                row=origin.row if origin else None,
                column=getattr(origin, "column", None) if origin else None,
            )
        )
        if isinstance(error, TransientServerError):
            log.warning("participant at %s not confirmed: %s", job.plan.label, error.detail)
        else:
            log.warning(
                "participant at %s refused by the server (%s)",
                job.plan.label,
                error.status or type(error).__name__,
            )

    @staticmethod
    def _blame(job: _Job, error: FhirServerError) -> tuple[str | None, Origin | None]:
        """Which entry the server complained about, and the source row it came from."""
        texts = [
            " ".join(filter(None, (i.diagnostics, *(i.expression or ()), *(i.location or ()))))
            for i in error.issues
        ]
        for text in texts:
            match = _ENTRY.search(text)
            if match and int(match.group(1)) < len(job.plan.writes):
                key = job.plan.writes[int(match.group(1))].key
                return str(key), job.origins.get(key)
            for write in job.plan.writes:
                if str(write.key) in text:
                    return str(write.key), job.origins.get(write.key)
        return None, None

    def _record_plan(self, report: SyncReport, plan: ParticipantPlan) -> None:
        actions: dict[str, int] = {}
        for write in plan.writes:
            actions[write.action.value] = actions.get(write.action.value, 0) + 1
            outcome = {
                Action.CREATE: "created",
                Action.UPDATE: "updated",
                Action.DELETE: "deleted",
                Action.MARK: "marked",
            }[write.action]
            report.add(write.resource_type, outcome)
        report.planned.append(
            PlannedParticipant(plan.participant, plan.label, actions, plan.subject)
        )


def _outcome(write: Write, result: EntryResult) -> str:
    """How to count a confirmed write: by what the server said, not by what was sent."""
    if write.action is Action.MARK:
        return "marked"
    if result.status == 201:
        return "created"
    if result.changed is not None:
        return "updated" if result.changed else "unchanged"
    if write.known is not None and write.known.version == result.version:
        return "unchanged"  # the server kept the version: nothing changed
    if write.known is None and result.version == "1":
        return "unchanged"  # an existing first version the update did not change
    return "updated"
