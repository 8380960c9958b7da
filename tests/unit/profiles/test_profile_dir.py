"""Reading a registry's profile folder: loose StructureDefinition files or an unpacked IG
package; only conformance resources, in load order; precise errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.profiles import ProfileError, read_profile_dir


def _sd(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "id": name,
        "url": f"http://example.org/StructureDefinition/{name}",
        "fhirVersion": "4.0.1",
        "kind": "resource",
        "derivation": "constraint",
        "type": "Observation",
        **extra,
    }


def _write(folder: Path, name: str, content: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(content), encoding="utf-8")


def test_an_ig_package_folder_gives_its_conformance_resources_in_load_order(tmp_path):
    package = tmp_path / "package"
    _write(package, "package.json", {"name": "example.registry", "version": "1.0.0"})
    _write(package, ".index.json", {"index-version": 1, "files": []})
    _write(package, "StructureDefinition-lab.json", _sd("lab"))
    _write(package, "StructureDefinition-ext.json", _sd("ext", kind="complex-type"))
    _write(package, "ValueSet-cats.json", {"resourceType": "ValueSet", "id": "c", "url": "u:c"})
    _write(package, "CodeSystem-cats.json", {"resourceType": "CodeSystem", "id": "s", "url": "u:s"})
    _write(package, "ImplementationGuide-x.json", {"resourceType": "ImplementationGuide"})
    _write(package / "example", "Observation-bad.json", {"resourceType": "Observation"})

    found = read_profile_dir(tmp_path)

    assert [r["id"] for r in found.resources] == ["s", "c", "ext", "lab"]
    assert found.skipped == 1  # the ImplementationGuide; examples/ is not read
    assert [r["id"] for r in found.profiles()] == ["lab"]


def test_a_plain_folder_of_structure_definitions(tmp_path):
    _write(tmp_path, "lab.json", _sd("lab"))
    assert [r["id"] for r in read_profile_dir(tmp_path).resources] == ["lab"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({k: v for k, v in _sd("lab").items() if k != "url"}, "has no url"),
        ({k: v for k, v in _sd("lab").items() if k != "id"}, "has no id"),
        (_sd("lab", fhirVersion="5.0.0"), "is for FHIR 5.0.0"),
    ],
)
def test_an_unusable_profile_names_its_file(tmp_path, content, message):
    _write(tmp_path, "lab.json", content)
    with pytest.raises(ProfileError, match=message) as caught:
        read_profile_dir(tmp_path)
    assert str(tmp_path / "lab.json") in str(caught.value)


def test_a_file_that_is_not_json_names_its_file(tmp_path):
    (tmp_path / "lab.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ProfileError, match="lab.json: not a JSON file"):
        read_profile_dir(tmp_path)


def test_a_folder_without_structure_definitions_is_refused(tmp_path):
    _write(tmp_path, "vs.json", {"resourceType": "ValueSet", "id": "c", "url": "u:c"})
    with pytest.raises(ProfileError, match="no StructureDefinition JSON file found"):
        read_profile_dir(tmp_path)
