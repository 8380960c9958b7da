"""The only searches an EHR pull makes, each naming one enrolled participant.

1. ``POST Patient/_search`` with ``identifier=system|mrn`` (the MRN stays out of request
   lines and access logs; ``,``, ``|``, ``$`` and ``\\`` in it are escaped as R4 requires,
   https://hl7.org/fhir/R4/search.html#escaping, so it can never widen into an OR).
   Only Patients that really carry that identifier count; anything else the server returns
   is dropped and counted, and no later request names it.
2. ``POST Observation/_search`` with ``patient=Patient/<id>`` (the one Patient found),
   ``code=`` the analytes' LOINC codes and ``date=ge<from>&date=le<to>``, following the
   server's ``next`` links. Observations of any other subject are dropped and counted.

No search is ever made without a patient filter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fhir_adapter.client import FhirClient
from fhir_adapter.ehr._mrns import Enrolled
from fhir_adapter.ehr._targets import LOINC
from fhir_adapter.pull import reference_id

PATIENT_PAGE = 10  # one match is expected; a first page shows whether there are several


def escape_token(value: str) -> str:
    """A token search part with R4's escapes for ``\\``, ``|``, ``,`` and ``$``."""
    for char in ("\\", "|", ",", "$"):
        value = value.replace(char, "\\" + char)
    return value


@dataclass(frozen=True)
class PatientMatch:
    """What the identifier search found: the ids of Patients carrying the identifier, and
    how many other resources the server returned (dropped)."""

    ids: tuple[str, ...]
    foreign: int
    more_pages: bool


def _carries(patient: dict[str, Any], enrolled: Enrolled) -> bool:
    return any(
        isinstance(i, dict)
        and i.get("system") == enrolled.system
        and i.get("value") == enrolled.mrn
        for i in patient.get("identifier") or ()
    )


def find_patient(client: FhirClient, enrolled: Enrolled) -> PatientMatch:
    """The Patients the server holds under the participant's MRN (first page only)."""
    token = f"{escape_token(enrolled.system)}|{escape_token(enrolled.mrn)}"
    params = [("identifier", token), ("_count", str(PATIENT_PAGE))]
    # The first page only: the paging links of an over-wide answer are never followed.
    bundle = next(client.search_pages("Patient", params, no_cache=True, post=True))
    ids: list[str] = []
    foreign = 0
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if (
            not isinstance(resource, dict)
            or (entry.get("search") or {}).get("mode", "match") != "match"
        ):
            continue
        if (
            resource.get("resourceType") == "Patient"
            and isinstance(resource.get("id"), str)
            and _carries(resource, enrolled)
        ):
            if resource["id"] not in ids:
                ids.append(resource["id"])
        else:
            foreign += 1
    more = any(
        isinstance(link, dict) and link.get("relation") == "next"
        for link in bundle.get("link") or ()
    )
    return PatientMatch(tuple(ids), foreign, more)


def observations(
    client: FhirClient,
    patient_id: str,
    codes: list[str],
    start: dt.date,
    end: dt.date,
    page_size: int,
) -> Iterator[tuple[bool, dict[str, Any]]]:
    """(belongs to the patient, Observation) for every Observation the search returns."""
    params = [
        ("patient", f"Patient/{patient_id}"),
        ("code", ",".join(f"{LOINC}|{code}" for code in codes)),
        ("date", f"ge{start.isoformat()}"),
        ("date", f"le{end.isoformat()}"),
        ("_count", str(page_size)),
    ]
    base = str(client.base)
    for entry_resource in client.search("Observation", params, no_cache=True, post=True):
        if entry_resource.get("resourceType") != "Observation":
            yield False, entry_resource
            continue
        subject = (entry_resource.get("subject") or {}).get("reference")
        yield reference_id(subject, "Patient", base) == patient_id, entry_resource
