"""``Registry``: the one place that knows every kind, asked by every layer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fhir_adapter.fhir.ids import hashed_id
from fhir_adapter.kinds._kind import Kind, Resource, ResourceRule


class Registry:
    """The kinds in order: resource types in the order of ``kinds`` (the order sync checks
    server capabilities in); sections single ones first, then the list-valued ones, each in
    ``kinds`` order (the order rows are read and problems reported in)."""

    def __init__(self, kinds: Iterable[Kind]):
        self.kinds: tuple[Kind, ...] = tuple(kinds)
        rules = [rule for kind in self.kinds for rule in kind.resources]
        self._rules = {rule.type: rule for rule in rules}
        if len(self._rules) != len(rules):
            raise ValueError("two kinds declare the same resource type")
        prefixes = [rule.prefix for rule in rules]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("two resource types share an id prefix")
        self.resource_types: tuple[str, ...] = tuple(self._rules)
        self.tag_matched: frozenset[str] = frozenset(r.type for r in rules if r.tag_matched)
        self.prefixes: dict[str, str] = {r.type: r.prefix for r in rules}
        self.section_kinds: tuple[Kind, ...] = tuple(
            [k for k in self.kinds if k.section and not k.many]
            + [k for k in self.kinds if k.section and k.many]
        )

    def with_kind(self, kind: Kind) -> Registry:
        """A registry with ``kind`` added last (tests and plug-ins; ``KINDS`` is the list)."""
        return Registry((*self.kinds, kind))

    def rule(self, resource_type: str) -> ResourceRule:
        return self._rules[resource_type]

    def resource_id(self, study_key: str, resource_type: str, key: str) -> str:
        """Our deterministic id of a resource (``fhir.ids.hashed_id`` with the type's prefix)."""
        return hashed_id(study_key, resource_type, self._rules[resource_type].prefix, key)

    def identifier_system(self, base: str, resource_type: str) -> str:
        """The business-identifier system of a type under the study's ``identifier_base``."""
        return f"{base.rstrip('/')}/{self._rules[resource_type].identifier}"

    def mark_entered_in_error(self, resource: Resource) -> Resource | None:
        """The resource marked as entered in error, or None where R4 offers no such marker
        for its type (each kind's module says what the marker is, and why)."""
        rule = self._rules.get(resource["resourceType"])
        return None if rule is None else rule.mark_entered_in_error(resource)

    def sections(self, spec: Any) -> Iterator[tuple[list[Any], Any]]:
        """Every record section of a mapping with its key path in the file, participants
        first (single sections, then the list-valued ones)."""
        for kind in self.section_kinds:
            assert kind.section is not None
            value = getattr(spec, kind.section, None)
            if kind.many:
                for index, section in enumerate(value or ()):
                    yield [kind.section, index], section
            elif value is not None:
                yield [kind.section], value
