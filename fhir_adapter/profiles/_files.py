"""Read the conformance resources of a profile folder: loose JSON files or an IG package.

An IG package (``package.tgz`` unpacked) holds ``package/package.json`` and the resources as
``package/<Type>-<id>.json``; examples live in subfolders and are not read. A plain folder
holds StructureDefinition (and ValueSet, CodeSystem) JSON files at its top level.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir_adapter.profiles._errors import ProfileError

# What a validator needs to use a profile: the profile itself and the value sets and code
# systems it binds to. Everything else in a package (ImplementationGuide, examples,
# SearchParameter, CapabilityStatement ...) is left out.
LOADED_TYPES = ("StructureDefinition", "ValueSet", "CodeSystem")
_PACKAGE_FILES = {"package.json", ".index.json"}
_MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass
class ConformanceFolder:
    """The resources to load, in load order (code systems, value sets, then profiles, so a
    profile's bindings resolve), and how many files were left out and why."""

    path: Path
    resources: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # JSON resources of other types (examples, IG, search parameters...)

    def profiles(self) -> list[dict[str, Any]]:
        """The StructureDefinitions that constrain a resource type (not extensions or
        data types): the ones a resource can be checked against."""
        return [
            r
            for r in self.resources
            if r["resourceType"] == "StructureDefinition"
            and r.get("kind") == "resource"
            and r.get("derivation") == "constraint"
        ]


def _package_root(folder: Path) -> Path:
    if (folder / "package" / "package.json").is_file():
        return folder / "package"
    return folder


def _read(path: Path) -> Any:
    if path.stat().st_size > _MAX_FILE_BYTES:
        raise ProfileError(f"{path}: larger than {_MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProfileError(f"{path}: not a JSON file ({type(error).__name__})") from None


def _check(resource: dict[str, Any], path: Path) -> None:
    for name in ("id", "url"):
        if not isinstance(resource.get(name), str) or not resource[name]:
            raise ProfileError(
                f"{path}: the {resource['resourceType']} has no {name}; the server stores it "
                f"by id and validates by url, so it needs both"
            )
    version = resource.get("fhirVersion")
    if isinstance(version, str) and not version.startswith("4.0"):
        raise ProfileError(
            f"{path}: the StructureDefinition is for FHIR {version}; the adapter writes R4 "
            "(4.0.x): use the registry's R4 package"
        )


def read_profile_dir(folder: Path) -> ConformanceFolder:
    """The conformance resources of ``folder`` (top level, or its ``package/`` folder).

    Raises ``ProfileError`` for a file that is not JSON, a conformance resource without id
    or url, a profile of another FHIR version, or a folder without any StructureDefinition.
    """
    root = _package_root(folder)
    if not root.is_dir():
        raise ProfileError(f"{folder}: not a folder")
    found = ConformanceFolder(folder)
    for path in sorted(root.glob("*.json")):
        if path.name in _PACKAGE_FILES or not path.is_file():
            continue
        resource = _read(path)
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind not in LOADED_TYPES:
            found.skipped += 1
            continue
        _check(resource, path)
        found.resources.append(resource)
    if not any(r["resourceType"] == "StructureDefinition" for r in found.resources):
        raise ProfileError(
            f"{folder}: no StructureDefinition JSON file found (give a folder of profile "
            "files, or an unpacked IG package with package/package.json)"
        )
    found.resources.sort(key=lambda r: LOADED_TYPES[::-1].index(r["resourceType"]))
    return found
