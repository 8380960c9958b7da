"""Mapping files are validated before any data is read; errors name file, line and key."""

from pathlib import Path

import pytest

from fhir_adapter.errors import MappingSpecError
from fhir_adapter.mapping.loader import load_mapping

REPO = Path(__file__).resolve().parents[3]
STUDY_A = REPO / "mappings" / "study_a.yaml"


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = STUDY_A.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "variant.yaml"
    (tmp_path / "codes").mkdir(exist_ok=True)
    catalogue = REPO / "mappings" / "codes" / "diabetes-cell-therapy.yaml"
    (tmp_path / "codes" / catalogue.name).write_text(catalogue.read_text(encoding="utf-8"))
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


@pytest.mark.parametrize(
    "name",
    [
        "study_a.yaml",
        "study_b.yaml",
        "study_a_alt.yaml",
        "study_a_redcap.yaml",
        "study_a_hospital.yaml",
    ],
)
def test_shipped_mappings_are_valid(name):
    loaded = load_mapping(REPO / "mappings" / name)
    assert loaded.spec.codes.analytes  # the include was merged
    assert len(loaded.digest) == 64


def test_misspelt_key_names_line_and_key(tmp_path):
    path = _variant(tmp_path, "  birth_date: birth_date", "  birth_dat: birth_date")
    with pytest.raises(MappingSpecError) as error:
        load_mapping(path)
    assert error.value.file == str(path)
    assert error.value.key == "participants.birth_dat"
    assert "did you mean 'birth_date'" in str(error.value)
    assert error.value.line == _line_of(path, "birth_dat")


def test_code_map_to_unknown_target(tmp_path):
    path = _variant(tmp_path, "map: {M: male, F: female}", "map: {M: male, F: femme}")
    with pytest.raises(MappingSpecError, match="femme.*not a known administrative gender") as e:
        load_mapping(path)
    assert e.value.line == _line_of(path, "femme")
    assert e.value.key == "participants.sex.map.F"


def test_unknown_table(tmp_path):
    path = _variant(tmp_path, "table: visits", "table: visit")
    with pytest.raises(MappingSpecError, match="table 'visit' is not declared") as e:
        load_mapping(path)
    assert e.value.line == _line_of(path, "table: visit")


def test_invalid_ucum_unit(tmp_path):
    path = _variant(tmp_path, 'unit: "%"}', 'unit: "percent"}')
    with pytest.raises(MappingSpecError, match="not a valid UCUM") as e:
        load_mapping(path)
    assert e.value.line == _line_of(path, "percent")


def test_unit_without_form_or_conversion(tmp_path):
    path = _variant(tmp_path, "unit: ng/mL}", "unit: ng/mL, convert_to: kg}")
    with pytest.raises(MappingSpecError, match="no form in 'kg'"):
        load_mapping(path)


def test_broken_yaml_names_the_line(tmp_path):
    path = _variant(tmp_path, "tables:\n", "tables:\n  broken: [\n")
    with pytest.raises(MappingSpecError, match="not valid YAML") as e:
        load_mapping(path)
    assert e.value.line is not None


def test_missing_include(tmp_path):
    path = _variant(tmp_path, "codes/diabetes-cell-therapy.yaml", "codes/absent.yaml")
    with pytest.raises(MappingSpecError, match="included file not found") as e:
        load_mapping(path)
    assert e.value.line == _line_of(path, "codes/absent.yaml")


def test_wrong_format_marker(tmp_path):
    path = _variant(tmp_path, "format: fhir-adapter/mapping/v1", "format: something-else")
    with pytest.raises(MappingSpecError) as e:
        load_mapping(path)
    assert e.value.key == "format"
    assert e.value.line == _line_of(path, "format: something-else")


def test_study_key_must_be_a_slug(tmp_path):
    path = _variant(tmp_path, "key: study-a", "key: Study A")
    with pytest.raises(MappingSpecError, match="slug") as e:
        load_mapping(path)
    assert e.value.key == "study.key"


def test_published_json_schema_is_current():
    from fhir_adapter.mapping.schema import mapping_json_schema

    published = (REPO / "mappings" / "mapping.schema.json").read_text(encoding="utf-8")
    assert published == mapping_json_schema(), (
        "regenerate: fhir-adapter schema > mappings/mapping.schema.json"
    )
