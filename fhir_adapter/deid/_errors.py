"""Errors of the de-identification stage.

    FhirAdapterError
    ├── ConfigError
    │   └── DeidKeyError            the pseudonym key is missing or too short
    ├── MappingSpecError
    │   └── DeidProfileError        a profile file or name is invalid (file, line, key)
    └── DeidentificationError       a resource holds something the profile cannot make safe

Messages name the resource type and the element path, never a value: the value is what
could be PHI.
"""

from __future__ import annotations

from fhir_adapter.errors import ConfigError, FhirAdapterError, MappingSpecError


class DeidKeyError(ConfigError):
    """The pseudonym key is unusable (missing, or shorter than ``MIN_KEY_BYTES``)."""


class DeidProfileError(MappingSpecError):
    """A de-identification profile is invalid, or no built-in profile has that name."""


class DeidentificationError(FhirAdapterError):
    """A resource cannot be de-identified safely: an element the profile has no rule for,
    a value of the wrong type where the rule expects a code, number or date, or a reference
    that would link outside the participant.

    Carries ``resource_type``, ``element`` (a path such as ``Observation.note.text``) and
    ``rule``; nothing is sent for the participant. Usually the profile lags behind a new
    element the mapping produces: add a rule for it to the profile (``elements:``).
    """

    def __init__(self, message: str, *, resource_type: str, element: str, rule: str):
        self.resource_type = resource_type
        self.element = element
        self.rule = rule
        self.detail = message
        super().__init__(f"{element}: {rule}: {message}")
