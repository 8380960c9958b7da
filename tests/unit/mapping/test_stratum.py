"""participants.stratum: the treatment group, on the ResearchSubject as an extension."""

from __future__ import annotations

from fhir_adapter.deid._vocabulary import catalogue_vocabulary
from fhir_adapter.fhir.extensions import RESEARCH_SUBJECT_STRATUM
from fhir_adapter.mapping.spec import MappingSpec

GROUPS = {"ORAL": "Oral agents", "BOTH": "Oral agents and insulin"}


def _stratum(column):
    def edit(plain):
        plain["participants"]["stratum"] = column

    return edit


def _extensions(resources):
    return [
        [e for e in r.get("extension", []) if e["url"] == RESEARCH_SUBJECT_STRATUM]
        for r in resources
        if r["resourceType"] == "ResearchSubject"
    ]


def test_the_stratum_is_written_beside_the_off_study_reason(map_variant, tables):
    edit = _stratum({"column": "baseline_med_group", "map": GROUPS})
    report, resources = map_variant(edit, tables)
    assert report.errors == []
    assert _extensions(resources) == [
        [{"url": RESEARCH_SUBJECT_STRATUM, "valueString": "Oral agents"}],
        [{"url": RESEARCH_SUBJECT_STRATUM, "valueString": "Oral agents and insulin"}],
    ]
    subject = next(r for r in resources if r["resourceType"] == "ResearchSubject")
    assert [e["url"].rsplit(":", 1)[-1] for e in subject["extension"]] == [
        "research-subject-off-study-reason",
        "research-subject-stratum",
    ]


def test_a_blank_stratum_writes_no_extension(map_variant, tables):
    tables["subjects.csv"][1]["baseline_med_group"] = ""
    edit = _stratum({"column": "baseline_med_group", "map": GROUPS, "required": False})
    report, resources = map_variant(edit, tables)
    assert report.errors == []
    assert _extensions(resources) == [
        [{"url": RESEARCH_SUBJECT_STRATUM, "valueString": "Oral agents"}],
        [],
    ]


def test_deidentification_keeps_only_the_labels_the_mapping_writes(plain_a):
    plain = plain_a()
    plain["participants"]["stratum"] = {"column": "baseline_med_group", "map": GROUPS}
    vocabulary = catalogue_vocabulary(MappingSpec.model_validate(plain))
    assert set(GROUPS.values()) <= vocabulary
    assert "ORAL" not in vocabulary  # a cell as the export writes it is not vouched for
