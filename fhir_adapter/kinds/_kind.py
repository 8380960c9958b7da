"""What a kind declares: the resource types it writes, the mapping-file section it reads,
how its rows become records (``SectionMapper``) and its records resources (``ResourceBuilder``).

A kind is the unit of extension (docs/mapping.md, "Adding a kind"): a module that declares a
``Kind`` and is listed once in ``fhir_adapter.kinds.KINDS``. Everything that used to spell the
list of kinds out (ids, sync, verify, the checks, the engine, the resource factory) asks the
registry instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from fhir_adapter.mapping.dependents import Reference
from fhir_adapter.mapping.records import LeftOut, Origin, Participant, ParticipantRecords, RowError
from fhir_adapter.mapping.rowreader import Rows, SectionTools

if TYPE_CHECKING:
    from fhir_adapter.fhir.build import BuildContext

Resource = dict[str, Any]
Marker = Callable[[Resource], None]


@dataclass(frozen=True, slots=True)
class MapContext:
    """What a section mapper may know beyond its rows: the participant (``birth`` and the
    study's ``cutoff`` bound every event's date), where row errors go, and, for a derived
    kind, the records mapped so far."""

    participant: Participant
    errors: list[RowError]
    records: ParticipantRecords
    cutoff: str | None = None  # study.data_cutoff: no event is dated after it

    @property
    def birth(self) -> str | None:
        return self.participant.birth_date


class Mapped(NamedTuple):
    """A section mapper's result: the records of good rows, and those of rows with an error
    (kept only so that what depends on them can be found, ``mapping.dependents``)."""

    records: list[Any]
    rejected: list[Any]


class SectionMapper:
    """A kind's compiled row mapper: built once per mapping (``Kind.compile``), then asked
    once per participant. Subclasses are named dataclasses holding their field readers.

    ``derived`` mappers read no rows of their own: they run after every row mapper and read
    ``context.records`` (an Encounter per visit of the observations). ``key`` and
    ``references`` say what depends on what (``mapping.dependents.settle_references``);
    ``settle`` applies the kind's own rules across its records once the bad rows are gone.
    """

    kind: ClassVar[str]  # the kind's name: where its records go in ``ParticipantRecords``
    derived: ClassVar[bool] = False

    def map_rows(self, rows: Rows, context: MapContext) -> Mapped:
        raise NotImplementedError

    def key(self, record: Any) -> str | None:
        """The record's own id, as other kinds' references name it (None: never named)."""
        return None

    def references(self, record: Any) -> Iterable[Reference]:
        """The records of other kinds this record needs (none by default)."""
        return ()

    def settle(
        self, records: list[Any], rejected: list[Any]
    ) -> tuple[list[Any], list[RowError], list[LeftOut]]:
        """The kind's records after its cross-record rules (the records it returns are the
        ones kept), with the errors and left-out rows those rules found (default: as is)."""
        return records, [], []


@dataclass(frozen=True, slots=True)
class Built:
    """A resource with the row it came from and the record it was built from."""

    resource: Resource
    origin: Origin
    record: Any


class ResourceBuilder:
    """A kind's FHIR builder: one resource per record (``build``), in the order mapped.

    ``dates`` are the record's dates that the participant's Provenance.recorded may take;
    ``link`` lets a kind point other kinds' resources at its own once every kind is built
    (an Observation's ``encounter``), so the kinds it links need no knowledge of it.
    """

    def build(self, record: Any, ctx: BuildContext) -> Resource:
        raise NotImplementedError

    def dates(self, record: Any) -> Iterable[str]:
        return ()

    def link(self, built: Sequence[Built], ctx: BuildContext) -> list[Built]:
        return list(built)


@dataclass(frozen=True)
class ResourceRule:
    """How the adapter names, finds and retracts one resource type.

    ``prefix``: the type's part of our deterministic ids (``fhir.ids``); never change it, ids
    on servers depend on it. ``identifier``: the suffix of its business-identifier system
    under the study's ``identifier_base``. ``tag_matched``: R4 gives the type no
    ``identifier`` search parameter, so a server finds it by our resource-key tag instead.
    ``entered_in_error``: marks a copy of a body as entered in error (in place), or None
    where R4 has no such marker for the type (the resource is then kept as it is).
    """

    type: str
    prefix: str
    identifier: str
    tag_matched: bool = False
    entered_in_error: Marker | None = None

    def mark_entered_in_error(self, resource: Resource) -> Resource | None:
        if self.entered_in_error is None:
            return None
        out = copy.deepcopy(resource)
        self.entered_in_error(out)
        return out


def status_entered_in_error(resource: Resource) -> None:
    """The marker of types whose ``status`` binding includes ``entered-in-error``."""
    resource["status"] = "entered-in-error"


@dataclass(frozen=True)
class Kind:
    """One kind of record: its section in the mapping file and the resources it becomes.

    ``section``: the key of its section in a mapping file (None for kinds the study or the
    participant as a whole produce: the study, provenance). ``many``: the section is a list
    (several sections of the kind in one file, e.g. observations in several layouts).
    ``compile``: its row mapper for a mapping (None when the mapping has nothing of the kind).
    ``builder``: its FHIR builder. The study, the participant's own Patient/ResearchSubject
    and the closing Provenance have neither: the engine and the factory build those.
    """

    name: str
    resources: tuple[ResourceRule, ...]
    section: str | None = None
    many: bool = False
    compile: Callable[[SectionTools], SectionMapper | None] | None = None
    builder: ResourceBuilder | None = None
