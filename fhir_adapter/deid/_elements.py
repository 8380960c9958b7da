"""The allow-list: every element the adapter emits, and what kind of element it is.

De-identification keeps an element only when this table (or the profile's ``elements:``)
says what it is; anything else is refused or dropped (``unknown_elements``). The kinds say
what an element *is*; the profile says what happens to each kind. Complex datatypes are
named by a string and expanded from ``DATATYPES``; extensions are known by URL.

Kinds that can hold what identifies a person (names, addresses, telecom, photos, contacts,
narrative, annotations, free text, Reference.display) are listed so that they are removed
on purpose and counted, never passed through.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias

from fhir_adapter.fhir import extensions as ext
from fhir_adapter.kinds import encounter


class Rule(StrEnum):
    CODE = "code"  # kept: codes, URIs, units, enumerations, code displays
    NUMBER = "number"  # kept: a JSON number
    BOOLEAN = "boolean"  # kept
    ID = "id"  # the resource id: keyed pseudonym
    REFERENCE = "reference"  # Type/id: the target's keyed pseudonym
    DATE = "date"  # a participant date or dateTime: shifted or cut to the year
    INSTANT = "instant"  # as DATE, but always written as a full instant
    BIRTH_DATE = "birth-date"  # year only; removed at 90 or over
    STUDY_DATE = "study-date"  # shared by the whole study: profile.study_dates
    CATALOGUE_TEXT = "catalogue-text"  # kept only if a text of the code catalogue
    STUDY_TEXT = "study-text"  # ResearchStudy texts from the mapping file: profile.study_text
    FREE_TEXT = "free-text"  # removed
    PHI = "identifying"  # names, addresses, telecom, photos, contacts, narrative: removed
    SOFTWARE = "software"  # Provenance agent display: kept only as 'fhir-adapter <version>'
    IDENTIFIER = "identifier"  # business identifier: keyed pseudonym (system kept/replaced)
    META = "meta"  # only the resource-key tag, rewritten to the new id
    EXTENSION = "extension"  # by URL, from EXTENSIONS
    SOURCE_ENTITY = "source-entity"  # Provenance.entity: profile.source_provenance
    DROP = "drop"  # removed (a profile's own rule)


Schema: TypeAlias = Rule | str | dict[str, "Schema"]

AGE_90_OR_OVER = "urn:fhir-adapter:extension:age-90-or-over"

_CC = "CodeableConcept"
_REF = "Reference"

DATATYPES: dict[str, dict[str, Schema]] = {
    "CodeableConcept": {"coding": "Coding", "text": Rule.CATALOGUE_TEXT},
    "Coding": {
        "system": Rule.CODE,
        "version": Rule.CODE,
        "code": Rule.CODE,
        "display": Rule.CODE,
        "userSelected": Rule.BOOLEAN,
    },
    "Quantity": {
        "value": Rule.NUMBER,
        "comparator": Rule.CODE,
        "unit": Rule.CODE,
        "system": Rule.CODE,
        "code": Rule.CODE,
    },
    "Reference": {"reference": Rule.REFERENCE, "type": Rule.CODE, "display": Rule.FREE_TEXT},
    "Period": {"start": Rule.DATE, "end": Rule.DATE},
    "Dosage": {
        "extension": Rule.EXTENSION,
        "sequence": Rule.NUMBER,
        "text": Rule.FREE_TEXT,  # generated from the dose; the structured dose is kept
        "patientInstruction": Rule.FREE_TEXT,
        "timing": {
            "repeat": {
                "frequency": Rule.NUMBER,
                "frequencyMax": Rule.NUMBER,
                "period": Rule.NUMBER,
                "periodMax": Rule.NUMBER,
                "periodUnit": Rule.CODE,
            },
            "code": _CC,
        },
        "asNeededBoolean": Rule.BOOLEAN,
        "route": _CC,
        "method": _CC,
        "doseAndRate": {"type": _CC, "doseQuantity": "Quantity"},
    },
}

# Every resource may carry these; a participant's PHI-bearing ones are removed.
_COMMON: dict[str, Schema] = {
    "resourceType": Rule.CODE,
    "id": Rule.ID,
    "meta": Rule.META,
    "text": Rule.PHI,  # narrative: free XHTML
    "extension": Rule.EXTENSION,
    "identifier": Rule.IDENTIFIER,
}

RESOURCES: dict[str, dict[str, Schema]] = {
    "Patient": {
        "active": Rule.BOOLEAN,
        "gender": Rule.CODE,
        "birthDate": Rule.BIRTH_DATE,
        "deceasedBoolean": Rule.BOOLEAN,
        "deceasedDateTime": Rule.DATE,
        "name": Rule.PHI,
        "telecom": Rule.PHI,
        "address": Rule.PHI,
        "photo": Rule.PHI,
        "contact": Rule.PHI,
        "communication": Rule.PHI,
        "generalPractitioner": Rule.PHI,
        "managingOrganization": Rule.PHI,
        "link": Rule.PHI,
        "maritalStatus": Rule.PHI,
    },
    "ResearchSubject": {
        "status": Rule.CODE,
        "period": "Period",
        "study": _REF,
        "individual": _REF,
        "assignedArm": Rule.CATALOGUE_TEXT,
        "actualArm": Rule.CATALOGUE_TEXT,
    },
    "Condition": {
        "clinicalStatus": _CC,
        "verificationStatus": _CC,
        "category": _CC,
        "severity": _CC,
        "code": _CC,
        "bodySite": _CC,
        "subject": _REF,
        "onsetDateTime": Rule.DATE,
        "abatementDateTime": Rule.DATE,
        "recordedDate": Rule.DATE,
        "note": Rule.FREE_TEXT,
    },
    "Encounter": {
        "status": Rule.CODE,
        "class": "Coding",
        "type": _CC,  # type.text is the export's visit name: kept only if catalogued
        "subject": _REF,
        "period": "Period",
        "participant": Rule.PHI,
        "location": Rule.PHI,
        "serviceProvider": Rule.PHI,
    },
    "Observation": {
        "status": Rule.CODE,
        "category": _CC,
        "code": _CC,
        "subject": _REF,
        "encounter": _REF,
        "effectiveDateTime": Rule.DATE,
        "issued": Rule.INSTANT,
        "valueQuantity": "Quantity",
        "interpretation": _CC,
        "method": _CC,
        "note": Rule.FREE_TEXT,
        "comment": Rule.FREE_TEXT,
    },
    "Procedure": {
        "status": Rule.CODE,
        "code": _CC,
        "subject": _REF,
        "performedDateTime": Rule.DATE,
        "performedPeriod": "Period",
        "bodySite": _CC,
        "note": Rule.FREE_TEXT,
        "performer": Rule.PHI,
        "location": Rule.PHI,
    },
    "BiologicallyDerivedProduct": {
        "productCategory": Rule.CODE,
        "productCode": _CC,
        "status": Rule.CODE,
        "quantity": Rule.NUMBER,
        "collection": {"source": _REF, "collectedDateTime": Rule.DATE, "collector": Rule.PHI},
    },
    "MedicationStatement": {
        "status": Rule.CODE,
        "statusReason": _CC,
        "medicationCodeableConcept": _CC,
        "subject": _REF,
        "effectiveDateTime": Rule.DATE,
        "effectivePeriod": "Period",
        "dateAsserted": Rule.STUDY_DATE,  # the study's data cut-off, the same for everyone
        "dosage": "Dosage",
        "note": Rule.FREE_TEXT,
        "informationSource": Rule.PHI,
    },
    "AdverseEvent": {
        "actuality": Rule.CODE,
        "category": _CC,
        "event": _CC,  # event.text is the export's free-text term: kept only if catalogued
        "subject": _REF,
        "date": Rule.DATE,
        "detected": Rule.DATE,
        "recordedDate": Rule.DATE,
        "seriousness": _CC,
        "severity": _CC,
        "outcome": _CC,
        "study": _REF,
        "recorder": Rule.PHI,
        "location": Rule.PHI,
    },
    "Provenance": {
        "target": _REF,
        "recorded": Rule.INSTANT,
        "policy": Rule.CODE,  # urn naming the mapping file and its version
        "agent": {"type": _CC, "who": {"display": Rule.SOFTWARE, "reference": Rule.PHI}},
        "entity": Rule.SOURCE_ENTITY,
        "location": Rule.PHI,
    },
    "ResearchStudy": {
        "title": Rule.STUDY_TEXT,
        "status": Rule.CODE,
        "primaryPurposeType": _CC,
        "phase": _CC,
        "condition": _CC,
        "description": Rule.STUDY_TEXT,
        "period": {"start": Rule.STUDY_DATE, "end": Rule.STUDY_DATE},
        "arm": {"name": Rule.STUDY_TEXT, "type": _CC, "description": Rule.STUDY_TEXT},
    },
}

# Extension URL -> the schema of the rest of the extension (its value[x]).
EXTENSIONS: dict[str, dict[str, Schema]] = {
    ext.PROCEDURE_USED: {"valueReference": _REF},
    ext.PRODUCT_COLLECTION_PROCEDURE: {"valueReference": _REF},
    ext.PROCEDURE_ROUTE: {"valueCodeableConcept": _CC},
    ext.PRODUCT_CELL_DOSE: {"valueQuantity": "Quantity"},
    ext.PRODUCT_VIABILITY: {"valueQuantity": "Quantity"},
    ext.OBSERVATION_CONVERTED_VALUE: {"valueQuantity": "Quantity"},
    ext.RESEARCH_SUBJECT_OFF_STUDY_REASON: {"valueCodeableConcept": _CC},
    # the study's label for the group: kept only when the mapping vouches for it (its map)
    ext.RESEARCH_SUBJECT_STRATUM: {"valueString": Rule.CATALOGUE_TEXT},
    ext.DOSAGE_DAILY_TOTAL: {"valueBoolean": Rule.BOOLEAN},
    encounter.RESEARCH_STUDY: {"valueReference": _REF},
    AGE_90_OR_OVER: {"valueBoolean": Rule.BOOLEAN},
}

STUDY_TYPES = frozenset({"ResearchStudy"})


def resource_schema(resource_type: str) -> dict[str, Schema] | None:
    own = RESOURCES.get(resource_type)
    return None if own is None else {**_COMMON, **own}
