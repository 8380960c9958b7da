"""``Deidentifier``: one participant's (or the study's) resources in, de-identified copies out.

Pure and deterministic: no I/O, no clock (ages are computed at the participant's latest date,
or at ``as_of`` when given), inputs never modified. The same profile, key, vocabulary and
``as_of`` give byte-identical output for the same input.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from fhir_adapter.deid import _dates as dates
from fhir_adapter.deid._elements import (
    AGE_90_OR_OVER,
    DATATYPES,
    EXTENSIONS,
    STUDY_TYPES,
    Rule,
    Schema,
    resource_schema,
)
from fhir_adapter.deid._errors import DeidentificationError
from fhir_adapter.deid._profile import DateMode, DeidProfile, ElementKind
from fhir_adapter.deid._pseudonyms import IDENTIFIER_KIND, Pseudonyms
from fhir_adapter.deid._report import DeidReport
from fhir_adapter.fhir.ids import RESOURCE_KEY_TAG_SYSTEM
from fhir_adapter.fhir.keys import ResourceKey
from fhir_adapter.fhir.structure import empty_elements

Resource = dict[str, Any]

_DROP = object()  # "leave this element out"
_KIND_RULE = {
    ElementKind.CODE: Rule.CODE,
    ElementKind.NUMBER: Rule.NUMBER,
    ElementKind.BOOLEAN: Rule.BOOLEAN,
    ElementKind.DATE: Rule.DATE,
    ElementKind.CATALOGUE_TEXT: Rule.CATALOGUE_TEXT,
    ElementKind.DROP: Rule.DROP,
}
# Rules that take an element whole (a list included) instead of value by value.
_WHOLE = {
    Rule.FREE_TEXT: "free-text",
    Rule.PHI: "identifying",
    Rule.DROP: "profile-rule",
}
_SOFTWARE = re.compile(r"^fhir-adapter(?: [0-9A-Za-z.+-]{1,40})?$")
GENERALISED_SOURCE = "site export"


@dataclass
class _Run:
    """One call: what references may point at, the participant's offset and what was seen."""

    participant: str | None  # the Patient's original id; None for the study
    offset: int
    own: frozenset[ResourceKey]
    event_dates: list[str] = field(default_factory=list)
    birth: str | None = None
    originals: set[str] = field(default_factory=set)  # ids and identifier values seen
    removed: Counter[tuple[str, str]] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Scope:
    resource_type: str
    new_id: str


class Deidentifier:
    """De-identifies resources under ``profile`` with pseudonyms keyed by ``key``.

    ``key``: the per-registry secret, at least 32 bytes (``key_from_secret`` turns a key
    file's contents into it). ``vocabulary``: texts vouched for by the mapping (its code
    catalogue and arm names, ``catalogue_vocabulary(spec)``): CodeableConcept.text and
    assignedArm are kept only when they are one of them. ``as_of``: also compute ages at
    this date (the CLI passes today's date; without it, ages are taken at each
    participant's latest date).

    ``participant`` and ``study`` raise ``DeidentificationError`` when a resource holds an
    element the profile cannot make safe; ``report`` counts what was removed and changed.
    """

    def __init__(
        self,
        profile: DeidProfile,
        key: bytes,
        *,
        vocabulary: Iterable[str] = (),
        as_of: date | None = None,
    ):
        self.profile = profile
        self._pseudonyms = Pseudonyms(key)
        self.vocabulary = frozenset(vocabulary)
        self.as_of = as_of
        self.report = DeidReport(profile.name, self._pseudonyms.fingerprint())

    def __repr__(self) -> str:
        return f"Deidentifier(profile={self.profile.name!r}, key=<hidden>)"

    @property
    def key_fingerprint(self) -> str:
        """16 hex naming the key, safe to log and to put in a ledger name."""
        return self.report.key_fingerprint

    def resource_key(self, key: ResourceKey) -> ResourceKey:
        """The de-identified key of a resource (for ledgers, origins and rejected lists)."""
        return ResourceKey(key.type, self._pseudonyms.resource_id(key.type, key.id))

    # --- public entry points -------------------------------------------------------------

    def participant(self, resources: list[Resource]) -> list[Resource]:
        """One participant's resources (exactly one Patient), de-identified, in order.

        References may point only at these resources and at the ResearchStudy; dates move
        by this participant's offset (or keep their year); the Patient's birthDate becomes
        a year, or is removed at 90 or over.
        """
        patients = [r for r in resources if r.get("resourceType") == "Patient"]
        if len(patients) != 1:
            raise DeidentificationError(
                f"a participant has exactly one Patient, these resources have {len(patients)}",
                resource_type="Patient",
                element="Patient",
                rule="one-patient",
            )
        original = str(patients[0].get("id"))
        window = self.profile.dates.shift_window_days
        run = _Run(original, self._pseudonyms.date_offset(original, window), self._keys(resources))
        out = [self._resource(r, run) for r in resources]
        self._birth_date(out, run)
        return self._finish(out, run, participant=True)

    def study(self, resources: list[Resource]) -> list[Resource]:
        """The study-level resources (the ResearchStudy), de-identified."""
        for resource in resources:
            kind = resource.get("resourceType")
            if kind not in STUDY_TYPES:
                raise DeidentificationError(
                    "study-level resources are ResearchStudy only; give participants' "
                    "resources to participant()",
                    resource_type=str(kind),
                    element=str(kind),
                    rule="study-resource",
                )
        run = _Run(None, 0, self._keys(resources))
        out = [self._resource(r, run) for r in resources]
        return self._finish(out, run, participant=False)

    # --- one resource --------------------------------------------------------------------

    def _keys(self, resources: list[Resource]) -> frozenset[ResourceKey]:
        keys = []
        for resource in resources:
            kind, rid = resource.get("resourceType"), resource.get("id")
            if not isinstance(kind, str) or not isinstance(rid, str):
                raise DeidentificationError(
                    "every resource needs a resourceType and an id",
                    resource_type=str(kind),
                    element=str(kind),
                    rule="resource",
                )
            keys.append(ResourceKey(kind, rid))
        if len(set(keys)) != len(keys):
            raise DeidentificationError(
                "two resources have the same type and id",
                resource_type=keys[0].type,
                element=keys[0].type,
                rule="duplicate-id",
            )
        return frozenset(keys)

    def _resource(self, resource: Resource, run: _Run) -> Resource:
        kind = resource["resourceType"]
        schema = resource_schema(kind)
        if schema is None:
            raise DeidentificationError(
                "no de-identification rules for this resource type; add them to "
                "fhir_adapter/deid/_elements.py",
                resource_type=kind,
                element=kind,
                rule="unknown-resource-type",
            )
        run.originals.add(resource["id"])
        scope = _Scope(kind, self._pseudonyms.resource_id(kind, resource["id"]))
        out = self._walk(resource, schema, kind, run, scope)
        assert isinstance(out, dict)
        return out

    def _walk(self, value: Any, schema: Schema, path: str, run: _Run, scope: _Scope) -> Any:
        override = self.profile.elements.get(path)
        if override is not None:
            schema = _KIND_RULE[override]
        if isinstance(schema, Rule):
            return self._rule(value, schema, path, run, scope)
        if isinstance(schema, str):
            schema = DATATYPES[schema]
        if isinstance(value, list):
            return self._each(value, lambda item: self._walk(item, schema, path, run, scope))
        if not isinstance(value, dict):
            raise self._type_error(scope, path, "an element with children")
        out: dict[str, Any] = {}
        for name, child in value.items():
            child_path = f"{path}.{name}"
            sub = schema.get(name)
            if sub is None and child_path not in self.profile.elements:
                self._unknown(child_path, run, scope)
                continue
            result = self._walk(
                child, sub if sub is not None else Rule.DROP, child_path, run, scope
            )
            if result is not _DROP:
                out[name] = result
        if not out:
            run.removed[(path, "left-empty")] += 1
            return _DROP
        return out

    @staticmethod
    def _each(values: list[Any], step: Callable[[Any], Any]) -> Any:
        out = [r for r in (step(v) for v in values) if r is not _DROP]
        return out if out else _DROP

    def _unknown(self, path: str, run: _Run, scope: _Scope) -> None:
        if self.profile.unknown_elements == "error":
            raise DeidentificationError(
                "the profile has no rule for this element, so it cannot be de-identified "
                "safely; classify it under 'elements:' in the profile (or drop unknown "
                "elements with 'unknown_elements: drop')",
                resource_type=scope.resource_type,
                element=path,
                rule="unknown-element",
            )
        run.removed[(path, "unknown-element")] += 1

    @staticmethod
    def _type_error(scope: _Scope, path: str, expected: str) -> DeidentificationError:
        return DeidentificationError(
            f"expected {expected} here, found something else; it was not sent",
            resource_type=scope.resource_type,
            element=path,
            rule="unexpected-type",
        )

    # --- leaf rules ----------------------------------------------------------------------

    def _rule(self, value: Any, rule: Rule, path: str, run: _Run, scope: _Scope) -> Any:
        if rule in _WHOLE:
            run.removed[(path, _WHOLE[rule])] += len(value) if isinstance(value, list) else 1
            return _DROP
        if rule is Rule.SOURCE_ENTITY:
            run.removed[(path, "source-provenance")] += len(value) if isinstance(value, list) else 1
            if self.profile.source_provenance == "generalise":
                run.changed["source provenance generalised"] += 1
                return [{"role": "source", "what": {"display": GENERALISED_SOURCE}}]
            return _DROP
        if rule is Rule.IDENTIFIER:
            return self._identifiers(value, path, run, scope)
        if rule is Rule.META:
            return self._meta(value, path, run, scope)
        if rule is Rule.EXTENSION:
            return self._extensions(value, path, run, scope)
        if isinstance(value, list):
            return self._each(value, lambda item: self._rule(item, rule, path, run, scope))
        if rule is Rule.NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                raise self._type_error(scope, path, "a number")
            return value
        if rule is Rule.BOOLEAN:
            if not isinstance(value, bool):
                raise self._type_error(scope, path, "true or false")
            return value
        if not isinstance(value, str):
            raise self._type_error(scope, path, "a text value")
        return self._text(value, rule, path, run, scope)

    def _text(self, value: str, rule: Rule, path: str, run: _Run, scope: _Scope) -> Any:
        if rule is Rule.CODE:
            return value
        if rule is Rule.ID:
            run.changed["resource ids"] += 1
            return scope.new_id
        if rule is Rule.REFERENCE:
            return self._reference(value, path, run, scope)
        if rule in (Rule.DATE, Rule.INSTANT, Rule.BIRTH_DATE, Rule.STUDY_DATE):
            if not dates.is_date(value):
                raise self._type_error(scope, path, "a FHIR date")
            return self._date(value, rule, path, run)
        if rule is Rule.CATALOGUE_TEXT:
            if self.profile.catalogue_text == "keep" and value in self.vocabulary:
                return value
            run.removed[(path, "not-in-catalogue")] += 1
            return _DROP
        if rule is Rule.STUDY_TEXT:
            if self.profile.study_text == "keep":
                return value
            run.removed[(path, "study-text")] += 1
            return _DROP
        if rule is Rule.SOFTWARE:
            if _SOFTWARE.match(value):
                return value
            run.removed[(path, "free-text")] += 1
            return _DROP
        raise AssertionError(rule)  # pragma: no cover - every rule is handled above

    def _date(self, value: str, rule: Rule, path: str, run: _Run) -> Any:
        if rule is Rule.STUDY_DATE or run.participant is None:
            if self.profile.study_dates == "keep":
                return value
            if self.profile.study_dates == "drop":
                run.removed[(path, "study-date")] += 1
                return _DROP
            run.changed["study dates cut to the year"] += 1
            return dates.year_instant(value) if rule is Rule.INSTANT else dates.year_of(value)
        if rule is Rule.BIRTH_DATE:
            run.birth = value
            return value  # replaced in _birth_date once every date has been seen
        run.event_dates.append(value)
        if self.profile.dates.mode is DateMode.SHIFT:
            run.changed["dates shifted"] += 1
            return dates.shift(value, run.offset)
        run.changed["dates cut to the year"] += 1
        return dates.year_instant(value) if rule is Rule.INSTANT else dates.year_of(value)

    def _reference(self, value: str, path: str, run: _Run, scope: _Scope) -> str:
        target = ResourceKey.parse(value)
        allowed = target is not None and (
            target in run.own or (run.participant is not None and target.type in STUDY_TYPES)
        )
        if target is None or not allowed:
            raise DeidentificationError(
                "a reference must name one of the participant's own resources or the "
                "study (Type/id); this one would link outside, so nothing was sent",
                resource_type=scope.resource_type,
                element=path,
                rule="reference",
            )
        run.changed["references"] += 1
        run.originals.add(target.id)
        return str(self.resource_key(target))

    # --- complex elements ----------------------------------------------------------------

    def _identifiers(self, value: Any, path: str, run: _Run, scope: _Scope) -> Any:
        if isinstance(value, list):
            return self._each(value, lambda item: self._identifiers(item, path, run, scope))
        if not isinstance(value, dict):
            raise self._type_error(scope, path, "an Identifier")
        for name in value:
            if name not in ("use", "system", "value"):
                self._unknown(f"{path}.{name}", run, scope)
        system, original = value.get("system"), value.get("value")
        if not isinstance(original, str) or not isinstance(system, str | None):
            raise self._type_error(scope, path, "an Identifier with a text value")
        out: dict[str, Any] = {}
        if isinstance(value.get("use"), str):
            out["use"] = value["use"]
        if run.participant is None and self.profile.study_identifier == "keep":
            return {**out, **({"system": system} if system else {}), "value": original}
        run.originals.add(original)
        identifiers = self.profile.identifiers
        if identifiers.systems == "replace":
            kind = IDENTIFIER_KIND.get(scope.resource_type, scope.resource_type.lower())
            out["system"] = identifiers.pseudonym_system.replace("{kind}", kind)
        elif system:
            out["system"] = system
        out["value"] = self._pseudonyms.identifier_value(system or "", original)
        run.changed["identifiers"] += 1
        return out

    def _meta(self, value: Any, path: str, run: _Run, scope: _Scope) -> Any:
        if not isinstance(value, dict):
            raise self._type_error(scope, path, "a Meta element")
        out: dict[str, Any] = {}
        for name, child in value.items():
            if name != "tag":
                self._unknown(f"{path}.{name}", run, scope)
                continue
            tags = []
            for tag in child if isinstance(child, list) else [child]:
                if isinstance(tag, dict) and tag.get("system") == RESOURCE_KEY_TAG_SYSTEM:
                    run.changed["resource-key tags"] += 1
                    tags.append({"system": RESOURCE_KEY_TAG_SYSTEM, "code": scope.new_id})
                else:
                    kept = self._walk(tag, "Coding", f"{path}.tag", run, scope)
                    if kept is not _DROP:
                        tags.append(kept)
            if tags:
                out["tag"] = tags
        return out if out else _DROP

    def _extensions(self, value: Any, path: str, run: _Run, scope: _Scope) -> Any:
        out = []
        for extension in value if isinstance(value, list) else [value]:
            url = extension.get("url") if isinstance(extension, dict) else None
            schema = EXTENSIONS.get(url) if isinstance(url, str) else None
            if schema is None:
                self._unknown(f"{path}('{url}')" if isinstance(url, str) else path, run, scope)
                continue
            rest = {k: v for k, v in extension.items() if k != "url"}
            kept = self._walk(rest, schema, path, run, scope)
            if kept is not _DROP:
                out.append({"url": url, **kept})
        return out if out else _DROP

    # --- participant-wide steps ----------------------------------------------------------

    def _birth_date(self, out: list[Resource], run: _Run) -> None:
        """birthDate → year, or removed at 90 or over (45 CFR 164.514(b)(2)(i)(C))."""
        if run.birth is None:
            return
        patient = next(r for r in out if r["resourceType"] == "Patient")
        ends = [dates.latest(d) for d in run.event_dates]
        if self.as_of is not None:
            ends.append(self.as_of)
        if not ends:
            del patient["birthDate"]
            run.removed[("Patient.birthDate", "age-unknown")] += 1
        elif dates.max_age(run.birth, max(ends)) >= 90:
            del patient["birthDate"]
            run.removed[("Patient.birthDate", "age-90-or-over")] += 1
            run.changed["ages 90 or over grouped"] += 1
            flag = {"url": AGE_90_OR_OVER, "valueBoolean": True}
            rebuilt: dict[str, Any] = {}
            for name in ("resourceType", "id", "meta"):
                if name in patient:
                    rebuilt[name] = patient[name]
            rebuilt["extension"] = [*patient.get("extension", []), flag]
            rebuilt.update((k, v) for k, v in patient.items() if k not in rebuilt)
            patient.clear()
            patient.update(rebuilt)
        elif self.profile.birth_date == "drop":
            del patient["birthDate"]
            run.removed[("Patient.birthDate", "profile-rule")] += 1
        else:
            moved = (
                dates.shift(run.birth, run.offset)
                if self.profile.dates.mode is DateMode.SHIFT
                else run.birth
            )
            patient["birthDate"] = dates.year_of(moved)
            run.changed["birth dates cut to the year"] += 1

    def _finish(self, out: list[Resource], run: _Run, *, participant: bool) -> list[Resource]:
        """Safety net, structure check, then count: nothing of a refused call is counted."""
        originals = {o for o in run.originals if o}
        for resource in out:
            leaked = _find_strings(resource, originals)
            if leaked:
                raise DeidentificationError(
                    "an original id or identifier value would still be in the output",
                    resource_type=resource["resourceType"],
                    element=leaked,
                    rule="leak-check",
                )
            problems = empty_elements(resource)
            if problems:
                raise DeidentificationError(
                    f"{problems[0]} after de-identification; this is a fault in "
                    "fhir-adapter: report it",
                    resource_type=resource["resourceType"],
                    element=resource["resourceType"],
                    rule="structure",
                )
        report = self.report
        report.participants += 1 if participant else 0
        report.resources += len(out)
        report.removed.update(run.removed)
        report.changed.update(run.changed)
        return out


def _find_strings(node: Any, needles: set[str], path: str = "") -> str | None:
    """The path of the first string equal to one of ``needles``, or naming one after a
    '/' (a reference), None when there is none."""
    if isinstance(node, dict):
        for name, value in node.items():
            found = _find_strings(value, needles, f"{path}.{name}" if path else name)
            if found:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _find_strings(value, needles, path)
            if found:
                return found
    elif isinstance(node, str) and (node in needles or node.rpartition("/")[2] in needles):
        return path
    return None
