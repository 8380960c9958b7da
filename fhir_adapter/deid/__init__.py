"""De-identification for registry push: FHIR resources in, pseudonymised resources out.

What it does: takes the resources the mapping built for one participant (and the study's
ResearchStudy) and returns copies a registry may receive under a ``DeidProfile``:

- resource ids, every reference to them and business identifier values become keyed
  pseudonyms (HMAC-SHA256 under a per-registry secret), deterministic so re-syncs stay
  idempotent; identifier systems are kept or replaced by a pseudonym system;
- dates are cut to the year or shifted by one keyed offset per participant (intervals kept);
  birthDate keeps its year only and is removed, with a flag, at age 90 or over;
- names, addresses, telecom, narrative, notes and other free text, and Provenance entities
  naming source files and rows are removed; codes, units and numbers stay;
- it works from an allow-list: an element the profile does not know is refused (or dropped
  and counted), never passed through. ``Deidentifier.report`` counts what was removed.

What it must not do: read files, the environment or the clock (the caller gives the
profile, the key as bytes and ``as_of``); log or put in an error message any value, the key
or an original identifier; modify its input; keep anything it cannot classify.

Use (see docs/deidentification.md)::

    profile = resolve_profile("safe-harbor")            # or a profile file path
    deid = Deidentifier(profile, key_from_secret(secret_bytes),
                        vocabulary=catalogue_vocabulary(mapping.spec), as_of=date.today())
    study = deid.study(mapping.study_resources())
    for mapped in mapping.participants():
        mapped = deidentify_participant(deid, mapped)   # or deid.participant(resources)
"""

from fhir_adapter.deid._deidentifier import GENERALISED_SOURCE, Deidentifier
from fhir_adapter.deid._elements import AGE_90_OR_OVER
from fhir_adapter.deid._errors import DeidentificationError, DeidKeyError, DeidProfileError
from fhir_adapter.deid._pipeline import deidentify_participant
from fhir_adapter.deid._profile import (
    BUILTIN_PROFILES,
    FORMAT,
    DateMode,
    DeidProfile,
    ElementKind,
    builtin_profile,
    load_profile,
    resolve_profile,
)
from fhir_adapter.deid._pseudonyms import KEY_ENV, MIN_KEY_BYTES, key_from_secret
from fhir_adapter.deid._report import DeidReport
from fhir_adapter.deid._study import DeidentifiedStudy
from fhir_adapter.deid._vocabulary import catalogue_vocabulary

__all__ = [
    "AGE_90_OR_OVER",
    "BUILTIN_PROFILES",
    "FORMAT",
    "GENERALISED_SOURCE",
    "KEY_ENV",
    "MIN_KEY_BYTES",
    "DateMode",
    "DeidKeyError",
    "DeidProfile",
    "DeidProfileError",
    "DeidReport",
    "DeidentifiedStudy",
    "DeidentificationError",
    "Deidentifier",
    "ElementKind",
    "builtin_profile",
    "catalogue_vocabulary",
    "deidentify_participant",
    "key_from_secret",
    "load_profile",
    "resolve_profile",
]
