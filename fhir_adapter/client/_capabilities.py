"""A small typed summary of the server's CapabilityStatement (https://hl7.org/fhir/R4/capabilitystatement.html)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_adapter.errors import UnsupportedServerError

_R4_PREFIX = "4.0."


@dataclass(frozen=True)
class ServerCapabilities:
    """What the client needs to know about a server before it writes.

    ``update_create`` and ``conditional_update`` are the resource types whose
    ``rest.resource`` entry declares ``updateCreate`` / ``conditionalUpdate`` true;
    ``transaction`` and ``batch`` come from the system-level ``rest.interaction`` codes.
    """

    fhir_version: str
    software_name: str | None
    software_version: str | None
    transaction: bool
    batch: bool
    update_create: frozenset[str]
    conditional_update: frozenset[str]
    # Types whose entry says ``updateCreate: false``. Many servers (HAPI among them) leave the
    # flag out although they accept client ids, so only an explicit "false" rules them out.
    no_update_create: frozenset[str] = frozenset()

    def supports_update_create(self, resource_type: str) -> bool:
        """True when ``PUT Type/id`` creates an absent resource (client-assigned ids)."""
        return resource_type in self.update_create

    def refuses_update_create(self, resource_type: str) -> bool:
        """True only when the server declares it does not create on ``PUT Type/id``."""
        return resource_type in self.no_update_create

    def supports_conditional_update(self, resource_type: str) -> bool:
        return resource_type in self.conditional_update


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def parse_capabilities(body: Any) -> ServerCapabilities:
    """Summarise a CapabilityStatement; raise ``UnsupportedServerError`` unless FHIR 4.0.x."""
    if not isinstance(body, dict) or body.get("resourceType") != "CapabilityStatement":
        raise UnsupportedServerError(
            "the metadata endpoint did not return a CapabilityStatement; check the base URL "
            "points at a FHIR server's base (e.g. https://host/fhir)"
        )
    version = body.get("fhirVersion")
    if not isinstance(version, str) or not version.startswith(_R4_PREFIX):
        raise UnsupportedServerError(
            f"the server speaks FHIR {version or 'of unknown version'}, not R4 (4.0.x); "
            "point the base URL at an R4 endpoint"
        )
    software = body.get("software")
    if not isinstance(software, dict):
        software = {}
    transaction = batch = False
    update_create: set[str] = set()
    no_update_create: set[str] = set()
    conditional_update: set[str] = set()
    for rest in _dicts(body.get("rest")):
        if rest.get("mode") != "server":
            continue
        codes = {item.get("code") for item in _dicts(rest.get("interaction"))}
        transaction = transaction or "transaction" in codes
        batch = batch or "batch" in codes
        for resource in _dicts(rest.get("resource")):
            kind = resource.get("type")
            if not isinstance(kind, str):
                continue
            if resource.get("updateCreate") is True:
                update_create.add(kind)
            elif resource.get("updateCreate") is False:
                no_update_create.add(kind)
            if resource.get("conditionalUpdate") is True:
                conditional_update.add(kind)
    name, version_text = software.get("name"), software.get("version")
    return ServerCapabilities(
        fhir_version=version,
        software_name=name if isinstance(name, str) else None,
        software_version=version_text if isinstance(version_text, str) else None,
        transaction=transaction,
        batch=batch,
        update_create=frozenset(update_create),
        conditional_update=frozenset(conditional_update),
        no_update_create=frozenset(no_update_create),
    )
