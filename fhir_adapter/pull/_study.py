"""Which study to pull: ``--study`` as a server id or as ``system|value``, found on the server.

The identifier form is searched (``ResearchStudy?identifier=system|value``, search cache
bypassed); the id form is read (``ResearchStudy/id``). Messages never repeat the identifier
value (a study number can be sensitive); they say which form was given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fhir_adapter.client import FhirClient
from fhir_adapter.errors import NotFoundError, ResourceGoneError
from fhir_adapter.pull._errors import AmbiguousStudyError, StudyNotFoundError

# https://hl7.org/fhir/R4/datatypes.html#id
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# Characters that the search syntax gives a meaning (https://hl7.org/fhir/R4/search.html#escaping).
_SEARCH_SPECIAL = re.compile(r"([\\,$|])")


def escape_search_value(text: str) -> str:
    """``text`` as one literal token value: ``\\``, ``,``, ``$`` and ``|`` escaped."""
    return _SEARCH_SPECIAL.sub(r"\\\1", text)


@dataclass(frozen=True)
class StudyRef:
    """The study as given on the command line: an id, or an identifier system and value."""

    id: str | None = None
    system: str | None = None
    value: str | None = None

    @classmethod
    def parse(cls, text: str) -> StudyRef:
        """``id`` or ``system|value`` (split at the first ``|``); ValueError otherwise."""
        text = text.strip()
        if "|" in text:
            system, value = text.split("|", 1)
            if not system or not value:
                raise ValueError("give the study identifier as system|value, both non-empty")
            return cls(system=system, value=value)
        if not _ID.match(text):
            raise ValueError(
                "not a FHIR id (1-64 of A-Z a-z 0-9 - .) nor an identifier system|value"
            )
        return cls(id=text)

    def describe(self) -> str:
        """How the study was named, without the identifier value."""
        return f"id {self.id}" if self.id else f"identifier in system {self.system}"


def find_study(client: FhirClient, ref: StudyRef) -> dict[str, Any]:
    """The ResearchStudy ``ref`` names; ``StudyNotFoundError`` or ``AmbiguousStudyError``."""
    if ref.id is not None:
        try:
            return client.read("ResearchStudy", ref.id)
        except (NotFoundError, ResourceGoneError):
            raise StudyNotFoundError(
                f"no ResearchStudy with {ref.describe()} on this server; check --study and "
                "--server",
                method="GET",
                path="ResearchStudy",
            ) from None
    assert ref.system is not None and ref.value is not None
    token = f"{escape_search_value(ref.system)}|{escape_search_value(ref.value)}"
    found = list(
        client.search(
            "ResearchStudy", {"identifier": token, "_count": "2"}, no_cache=True, post=True
        )
    )
    if not found:
        raise StudyNotFoundError(
            f"no ResearchStudy with this {ref.describe()} on this server; check --study "
            "(system|value) and --server",
            method="POST",
            path="ResearchStudy/_search",
        )
    if len(found) > 1:
        raise AmbiguousStudyError(
            f"several ResearchStudies carry this {ref.describe()}; pull one by its id",
            method="POST",
            path="ResearchStudy/_search",
        )
    return found[0]


def reference_id(reference: Any, resource_type: str, base: str) -> str | None:
    """The id in a literal reference to ``resource_type`` on this server, else None.

    Accepts ``Type/id``, ``Type/id/_history/n`` and the same under the absolute base URL; a
    reference to another server, or of another type, gives None.
    """
    if not isinstance(reference, str):
        return None
    text = reference
    if "://" in text:
        prefix = base.rstrip("/") + "/"
        if not text.startswith(prefix):
            return None
        text = text[len(prefix) :]
    parts = text.split("/")
    if (
        len(parts) in (2, 4)
        and parts[0] == resource_type
        and _ID.match(parts[1])
        and (len(parts) == 2 or parts[2] == "_history")
    ):
        return parts[1]
    return None
