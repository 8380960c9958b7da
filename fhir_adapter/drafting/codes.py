"""What the draft may fill in by itself: code-map targets and analytes it can match exactly.

A target is filled only when a local value names it without doubt: the same word as the
catalogue key or its display once case and separators are ignored ('LOST_TO_FOLLOW_UP' →
lost_to_follow_up, 'METFORMIN' → metformin), or a fixed synonym a person would not
question ('M' → male, 'Y' → serious, 'IU' → '[IU]'). Everything else (brand names,
abbreviations like 'IV', statuses, whose meaning is a decision) stays TODO with the choices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fhir_adapter.mapping.checks import AE_OUTCOME, SERIOUSNESS, SEVERITY, SEX
from fhir_adapter.mapping.loader import load_catalogue
from fhir_adapter.mapping.spec import CodeCatalogue


def catalogue_dir() -> Path:
    """``mappings/codes`` of the source tree this package runs from (may not exist)."""
    return Path(__file__).resolve().parents[2] / "mappings" / "codes"


@dataclass(frozen=True)
class Catalogue:
    """The merged code catalogues a draft includes, and their files."""

    codes: CodeCatalogue
    files: tuple[Path, ...]


def load_catalogues(folder: Path) -> Catalogue:
    """Every ``*.yaml`` catalogue in ``folder``, merged in name order (an empty catalogue
    when the folder is missing: the draft then says to include one)."""
    files = tuple(sorted(folder.glob("*.yaml"))) if folder.is_dir() else ()
    merged: dict[str, dict[str, object]] = {}
    for file in files:
        for section, entries in load_catalogue(file).model_dump(exclude_defaults=True).items():
            merged.setdefault(section, {}).update(entries)
    return Catalogue(CodeCatalogue.model_validate(merged), files)


def normal(text: str) -> str:
    """Lower case with every run of non-alphanumerics as one '_' (the catalogue key style)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# Fixed synonyms, per target set, of values no reader would question.
_SYNONYMS: dict[str, dict[str, str]] = {
    "sex": {"m": "male", "f": "female", "man": "male", "woman": "female", "u": "unknown"},
    "serious": {
        "y": "serious",
        "yes": "serious",
        "true": "serious",
        "n": "non-serious",
        "no": "non-serious",
        "false": "non-serious",
        "not_serious": "non-serious",
        "non_serious": "non-serious",
    },
    "ucum": {"iu": "[IU]", "ui": "[IU]"},
}


@dataclass(frozen=True)
class Targets:
    """The values a mapped field may take: their names, and the words that name each."""

    kind: str  # names the synonyms and the comment: 'sex', 'drugs', ...
    names: tuple[str, ...]
    aliases: dict[str, str]  # normalised word → target
    auto: bool = True  # False: every value is a decision (statuses): never filled in

    def match(self, value: str) -> str | None:
        if not self.auto:
            return None
        word = normal(value)
        return _SYNONYMS.get(self.kind, {}).get(word) or self.aliases.get(word)


def targets(
    kind: str,
    names: Iterable[str],
    *,
    words: dict[str, list[str]] | None = None,
    auto: bool = True,
) -> Targets:
    """Targets named by themselves and by ``words`` (other names of the same target). A word
    naming two targets ('insulin (human)' is the ATC name of two catalogue drugs) names none."""
    listed = tuple(names)
    named: dict[str, set[str]] = {}
    for target, others in (words or {}).items():
        for other in others:
            named.setdefault(normal(other), set()).add(target)
    aliases = {word: found.pop() for word, found in named.items() if len(found) == 1}
    aliases.update({normal(n): n for n in listed})  # a key always names itself
    return Targets(kind, listed, aliases, auto)


def fixed_targets() -> dict[str, Targets]:
    """Targets of the fields whose values FHIR fixes (not the catalogue)."""
    from fhir_adapter.mapping.checks import SUBJECT_STATUS

    return {
        "sex": targets("sex", sorted(SEX)),
        "severity": targets(
            "severity", [s for s in ("mild", "moderate", "severe") if s in SEVERITY]
        ),
        "serious": targets("serious", sorted(SERIOUSNESS)),
        "outcome": targets("outcome", sorted(AE_OUTCOME)),
        "status": targets("status", sorted(SUBJECT_STATUS), auto=False),
    }


def catalogue_targets(codes: CodeCatalogue) -> dict[str, Targets]:
    """Targets of the fields mapped to catalogue keys, matched by key and display names."""

    def displays(entries: Mapping[str, object], *attributes: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for key, entry in entries.items():
            for attribute in attributes:
                value = getattr(entry, attribute, None)
                text = getattr(value, "display", None) if attribute == "coding" else value
                if isinstance(text, str):
                    found.setdefault(key, []).append(text)
        return found

    return {
        "drugs": targets(
            "drugs", codes.drugs, words=displays(codes.drugs, "rxnorm_display", "atc_display")
        ),
        "procedures": targets("procedures", codes.procedures),
        "routes": targets("routes", codes.routes),
        "body_sites": targets("body_sites", codes.body_sites),
        "cell_types": targets("cell_types", codes.cell_types),
        "end_reasons": targets(
            "end_reasons", codes.end_reasons, words=displays(codes.end_reasons, "display")
        ),
        "analytes": targets("analytes", codes.analytes),
        "conditions": targets("conditions", codes.conditions),
    }
