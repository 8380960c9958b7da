"""What a kind declares: the resource types it writes and the mapping-file section it reads.

A kind is the unit of extension (docs/mapping.md, "Adding a kind"): a module that declares a
``Kind`` and is listed once in ``fhir_adapter.kinds.KINDS``. Everything that used to spell the
list of resource types or sections out (ids, sync, verify, the checks, the engine's section
walk) asks the registry instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Resource = dict[str, Any]
Marker = Callable[[Resource], None]


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
    """

    name: str
    resources: tuple[ResourceRule, ...]
    section: str | None = None
    many: bool = False
