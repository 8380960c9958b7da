"""``DeidProfile``: what de-identification does to each kind of element, as a typed model.

A profile is declarative: it is loaded from a small YAML or JSON file
(``format: fhir-adapter/deidentify/v1``) or chosen by name among the built-in ones
(``safe-harbor``, ``registry-dates-shifted``; see docs/deidentification.md). What an element
*is* (a code, a date, free text, an identifier ...) is fixed by the allow-list in
``_elements.py``; the profile only decides what happens to each kind, and may classify
elements the allow-list does not know (``elements:``). Names, addresses, telecom, narrative
and free text are always removed: no profile can keep them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent

from fhir_adapter.deid._errors import DeidProfileError

FORMAT = "fhir-adapter/deidentify/v1"
MAX_PROFILE_BYTES = 64 * 1024  # a profile is a few hundred bytes


class DateMode(StrEnum):
    """``year``: every participant date keeps its year only (HIPAA Safe Harbor).
    ``shift``: every date of a participant moves by the same keyed offset (intervals kept)."""

    YEAR = "year"
    SHIFT = "shift"


class ElementKind(StrEnum):
    """Kinds a profile may give to an element the built-in allow-list does not know."""

    CODE = "code"  # kept: a code, URI, unit or enumerated value
    NUMBER = "number"  # kept: a JSON number
    BOOLEAN = "boolean"  # kept
    DATE = "date"  # a participant date: shifted or cut to the year
    CATALOGUE_TEXT = "catalogue-text"  # kept only if it is a text of the code catalogue
    DROP = "drop"  # removed (counted)


class Dates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: DateMode
    shift_window_days: int = Field(
        182,
        ge=1,
        le=3650,
        description="shift: the offset is in [-window, -1] or [1, window] days, never 0.",
    )


class Identifiers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    systems: Literal["keep", "replace"] = Field(
        "replace",
        description="keep the business identifier systems, or replace them by "
        "pseudonym_system (values are always keyed pseudonyms).",
    )
    pseudonym_system: str = Field(
        "urn:fhir-adapter:deid:{kind}",
        description="With systems: replace; {kind} is subject, enrolment, observation, ...",
    )

    @field_validator("pseudonym_system")
    @classmethod
    def _has_kind(cls, value: str) -> str:
        if value.count("{kind}") != 1 or "{" in value.replace("{kind}", ""):
            raise ValueError("must contain '{kind}' once and no other '{...}'")
        if not value.replace("{kind}", "x").isascii() or " " in value:
            raise ValueError("must be a URI without spaces")
        return value


class DeidProfile(BaseModel):
    """A de-identification profile (see docs/deidentification.md for every key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["fhir-adapter/deidentify/v1"]
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    dates: Dates
    birth_date: Literal["year", "drop"] = Field(
        "year", description="year: birthDate keeps its year (after shifting); drop: removed."
    )
    age_90_or_over: Literal["drop-birth-date"] = Field(
        "drop-birth-date",
        description="A participant aged 90 or over loses birthDate and is flagged with the "
        "age-90-or-over extension (HIPAA: ages over 89 aggregated).",
    )
    study_dates: Literal["keep", "year", "drop"] = Field(
        "year",
        description="Dates shared by the whole study (ResearchStudy.period, "
        "MedicationStatement.dateAsserted = the data cut-off): never shifted.",
    )
    identifiers: Identifiers = Identifiers()
    study_identifier: Literal["keep", "pseudonymise"] = Field(
        "keep", description="The ResearchStudy's own business identifier (not a person's)."
    )
    catalogue_text: Literal["keep", "drop"] = Field(
        "keep",
        description="keep: CodeableConcept.text and assignedArm are kept when they are texts "
        "of the mapping's code catalogue or arm names (given to the Deidentifier); any other "
        "text is removed.",
    )
    study_text: Literal["keep", "drop"] = Field(
        "keep", description="ResearchStudy title, description, arm names: from the mapping file."
    )
    source_provenance: Literal["drop", "generalise"] = Field(
        "drop",
        description="Provenance.entity naming source files and rows: removed, or one entity "
        "'site export' without file or row.",
    )
    unknown_elements: Literal["error", "drop"] = Field(
        "error",
        description="An element neither the allow-list nor 'elements' knows: refuse the "
        "participant (error) or remove it (drop, counted).",
    )
    elements: dict[str, ElementKind] = Field(
        default_factory=dict,
        description="Extra rules: element path (Type.element.child, no indices) -> kind.",
    )

    @field_validator("elements")
    @classmethod
    def _paths(cls, value: dict[str, ElementKind]) -> dict[str, ElementKind]:
        for path in value:
            parts = path.split(".")
            if (
                len(parts) < 2
                or not parts[0][:1].isupper()
                or not all(p.isidentifier() for p in parts)
            ):
                raise ValueError(f"'{path}' is not an element path such as Observation.note")
        return value


_SAFE_HARBOR: dict[str, Any] = {
    "format": FORMAT,
    "name": "safe-harbor",
    "description": "HIPAA Safe Harbor baseline (45 CFR 164.514(b)(2)): keyed pseudonyms, "
    "dates cut to the year, no free text, no source rows.",
    "dates": {"mode": "year"},
    "birth_date": "year",
    "study_dates": "year",
    "identifiers": {"systems": "replace", "pseudonym_system": "urn:fhir-adapter:deid:{kind}"},
    "study_identifier": "keep",
    "catalogue_text": "keep",
    "study_text": "keep",
    "source_provenance": "drop",
    "unknown_elements": "error",
}

_REGISTRY_DATES_SHIFTED: dict[str, Any] = {
    **_SAFE_HARBOR,
    "name": "registry-dates-shifted",
    "description": "Keyed pseudonyms and every date of a participant shifted by one keyed "
    "offset within +-182 days (intervals kept). Not Safe Harbor: shifted dates are "
    "pseudonymised data for a registry under agreement.",
    "dates": {"mode": "shift", "shift_window_days": 182},
    "study_dates": "keep",
}

BUILTIN_PROFILES: dict[str, dict[str, Any]] = {
    "safe-harbor": _SAFE_HARBOR,
    "registry-dates-shifted": _REGISTRY_DATES_SHIFTED,
}


def builtin_profile(name: str) -> DeidProfile:
    """A built-in profile by name; ``DeidProfileError`` lists the names for another one."""
    if name not in BUILTIN_PROFILES:
        known = ", ".join(sorted(BUILTIN_PROFILES))
        raise DeidProfileError(
            f"no built-in de-identification profile '{name}'; choose one of {known} or give "
            "the path of a profile file",
            file="<built-in>",
        )
    return DeidProfile.model_validate(BUILTIN_PROFILES[name])


def resolve_profile(name_or_path: str) -> DeidProfile:
    """What ``--deidentify PROFILE`` names: a built-in name, else a profile file path."""
    if name_or_path in BUILTIN_PROFILES:
        return builtin_profile(name_or_path)
    return load_profile(Path(name_or_path))


def load_profile(path: Path) -> DeidProfile:
    """Load and check a profile file (YAML or JSON; JSON is YAML). Refuses aliases, files
    over ``MAX_PROFILE_BYTES`` and unknown keys, naming the file and key."""
    file = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise DeidProfileError(
            f"cannot read the profile ({exc.__class__.__name__})", file=file
        ) from None
    if len(raw) > MAX_PROFILE_BYTES:
        raise DeidProfileError(f"larger than {MAX_PROFILE_BYTES // 1024} KiB", file=file)
    try:
        text = raw.decode("utf-8")
        for event in YAML(typ="safe").parse(text):
            if isinstance(event, AliasEvent):
                raise DeidProfileError("YAML aliases are not allowed in profiles", file=file)
        document = YAML(typ="safe").load(text)
    except UnicodeDecodeError:
        raise DeidProfileError("not UTF-8", file=file) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise DeidProfileError(
            f"not valid YAML: {exc.problem}",
            file=file,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    if not isinstance(document, dict):
        raise DeidProfileError(
            "a profile is a mapping of keys (format, name, dates, ...)", file=file
        )
    try:
        return DeidProfile.model_validate(document)
    except ValidationError as exc:
        problems = [
            DeidProfileError(e["msg"], file=file, key=".".join(str(p) for p in e["loc"]))
            for e in exc.errors()
        ]
        first = problems[0]
        raise DeidProfileError(
            first.detail, file=file, key=first.key, others=problems[1:]
        ) from None
