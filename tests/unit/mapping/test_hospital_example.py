"""Study A as a hospital lab system export maps, with YAML only, to the same clinical facts.

examples/study_a_hospital is written from the same synthetic subjects as examples/study_a;
only the export shape (Windows-1252, long labs with the lab's units, text frequencies without
line numbers, products on the procedure rows, a stratum and no status column) and the
mapping file differ. Resources whose key the export carries come out byte-identical; the
medication lines (keyed by drug and start date instead of a line number) carry the same
dosage; the rest differ only where the export says more (stratum) or other words (terms).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from fhir_adapter.errors import SourceDataError
from fhir_adapter.fhir.serialize import canonical_json
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping

REPO = Path(__file__).resolve().parents[3]
SAME = ("Patient", "Condition", "Observation", "Procedure", "BiologicallyDerivedProduct")
STRATUM_URL = "urn:fhir-adapter:extension:research-subject-stratum"
# Hand-written: the site's French terms for study A's adverse events.
TERMS = {
    "Fever": "Fièvre",
    "Headache": "Céphalée",
    "Nausea": "Nausée",
    "Puncture site pain": "Douleur au point de ponction",
    "Hematoma at puncture site": "Hématome au point de ponction",
}


def _resources(mapping: str, data: str) -> dict[str, dict]:
    run = StudyMapping(load_mapping(REPO / "mappings" / mapping), REPO / "examples" / data)
    resources = {r["id"]: r for r, _ in run.all_resources()}
    assert run.report.errors == []
    return resources


@pytest.fixture(scope="module")
def both() -> tuple[dict[str, dict], dict[str, dict]]:
    return (
        _resources("study_a.yaml", "study_a"),
        _resources("study_a_hospital.yaml", "study_a_hospital"),
    )


def _of(resources: dict[str, dict], kind: str) -> dict[str, dict]:
    return {k: r for k, r in resources.items() if r["resourceType"] == kind}


def test_same_resources_of_every_kind(both) -> None:
    csv, hospital = both
    kinds = Counter(r["resourceType"] for r in hospital.values())
    assert kinds == Counter(r["resourceType"] for r in csv.values())
    assert kinds["Observation"] == 850 and kinds["MedicationStatement"] == 101
    assert kinds["Procedure"] == 90 and kinds["BiologicallyDerivedProduct"] == 60


@pytest.mark.parametrize("kind", SAME)
def test_resources_with_the_same_keys_are_identical(both, kind: str) -> None:
    """Observations: the mmol/mol and pmol/l rows converted back are study A's % and ng/mL
    values (with the '<' of a value below quantification); procedures: route and target
    organ from the mixed site/route column; products: only from the infusion rows, with the
    harvest row's id and date, the dose unit read from its column."""
    csv, hospital = _of(both[0], kind), _of(both[1], kind)
    assert csv.keys() == hospital.keys()
    for rid, resource in csv.items():
        assert canonical_json(hospital[rid]) == canonical_json(resource), rid


def test_converted_lab_values_by_hand(both) -> None:
    """labs.csv, after the lab's unit change on 1 April 2019: A-001's M3 HbA1c '70' mmol/mol
    is 0.09148 x 70 + 2.152 = 8.5556 -> 8.6 % and its C-peptide '169' pmol/l is 169 / 331 =
    0.5106 -> 0.51 ng/mL (study_a/visits.csv: 8.6, 0.51); A-014's M12 C-peptide '<33'
    pmol/l is < 0.0997 -> < 0.10 ng/mL (study_a: <0.10)."""
    _, hospital = both
    patients = _patients(hospital)
    found = {
        (o["subject"]["reference"], o["effectiveDateTime"], o["code"]["coding"][0]["code"]): o[
            "valueQuantity"
        ]
        for o in _of(hospital, "Observation").values()
    }
    hba1c = found[(patients["A-001"], "2019-04-28", "4548-4")]
    assert (Decimal(str(hba1c["value"])), hba1c["code"]) == (Decimal("8.6"), "%")
    cpep = found[(patients["A-001"], "2019-04-28", "1986-9")]
    assert (Decimal(str(cpep["value"])), cpep["code"]) == (Decimal("0.51"), "ng/mL")
    below = found[(patients["A-014"], "2019-07-06", "1986-9")]
    assert (below["comparator"], Decimal(str(below["value"])), below["code"]) == (
        "<",
        Decimal("0.10"),
        "ng/mL",
    )


def _patients(resources: dict[str, dict]) -> dict[str, str]:
    """Participant number -> 'Patient/<id>'."""
    return {
        p["identifier"][0]["value"]: f"Patient/{k}" for k, p in _of(resources, "Patient").items()
    }


def _medication_facts(statement: dict) -> tuple:
    return (
        statement["subject"]["reference"],
        json.dumps(statement["medicationCodeableConcept"], sort_keys=True),
        statement["effectivePeriod"].get("start"),
    )


def _without_key(statement: dict) -> str:
    """The statement less what its key names: id, identifier, the resource-key tag and the
    status reason (which names the line that continues at another dose by its key)."""
    skip = ("id", "identifier", "meta", "statusReason")
    return canonical_json({k: v for k, v in statement.items() if k not in skip})


def _continued_by(statement: dict, lines: dict[str, dict]) -> dict | None:
    """The line a dose change continues as, found by the key its status reason names."""
    if "statusReason" not in statement:
        return None
    participant = statement["identifier"][0]["value"].split("/")[0]
    key = statement["statusReason"][0]["text"].split(" as line ")[1]
    return lines[f"{participant}/{key}"]


def test_medication_lines_keyed_by_drug_and_start_carry_the_same_dosage(both) -> None:
    """The text frequencies (1x/day, OD, once daily, BID, TID, ...) give the timing study A's
    times_per_day column gives, so every line's dosage and daily dose are the same; a dose
    change names the same next line, by its drug and start instead of its number."""
    csv, hospital = _of(both[0], "MedicationStatement"), _of(both[1], "MedicationStatement")
    by_facts = {_medication_facts(s): s for s in hospital.values()}
    assert len(by_facts) == len(hospital) == len(csv)
    csv_lines = {s["identifier"][0]["value"]: s for s in csv.values()}
    lines = {s["identifier"][0]["value"]: s for s in hospital.values()}
    changed = 0
    for statement in csv.values():
        other = by_facts[_medication_facts(statement)]
        assert _without_key(other) == _without_key(statement), statement["id"]
        assert other["identifier"][0]["system"] == statement["identifier"][0]["system"]
        following = _continued_by(statement, csv_lines)
        other_following = _continued_by(other, lines)
        assert (following is None) == (other_following is None), statement["id"]
        if following is not None and other_following is not None:
            assert _medication_facts(other_following) == _medication_facts(following)
            changed += 1
    assert changed >= 10


def _daily(statement: dict) -> Decimal:
    dosage = statement["dosage"][0]
    dose = Decimal(str(dosage["doseAndRate"][0]["doseQuantity"]["value"]))
    repeat = dosage["timing"]["repeat"]
    assert (repeat["period"], repeat["periodUnit"]) == (1, "d")
    return dose * repeat["frequency"]


def test_daily_doses_by_hand(both) -> None:
    """medications.csv of study_a_hospital, A-002: Metformin 850 mg '2x/day' -> 1700 mg a
    day; Gliclazide MR 80 mg 'BID' -> 160 mg; A-001: Insulin glargine 26 IU 'OD' -> 26 IU."""
    _, hospital = both
    patients = _patients(hospital)
    lines = {
        (s["subject"]["reference"], s["effectivePeriod"]["start"]): s
        for s in _of(hospital, "MedicationStatement").values()
    }
    assert _daily(lines[(patients["A-002"], "2018-04-26")]) == 1700
    assert _daily(lines[(patients["A-002"], "2018-04-22")]) == 160
    glargine = lines[(patients["A-001"], "2014-08-27")]
    assert _daily(glargine) == 26
    assert glargine["dosage"][0]["doseAndRate"][0]["doseQuantity"]["code"] == "[IU]"


def test_medication_key_is_the_drug_and_its_start(both) -> None:
    _, hospital = both
    values = {s["identifier"][0]["value"] for s in _of(hospital, "MedicationStatement").values()}
    assert "A-001/Insulin glargine (Lantus)/27/08/2014" in values


def test_research_subjects_add_the_stratum_and_are_off_study(both) -> None:
    """No status column: every participant has an end date, so each is off-study, as in
    study A. The stratum is the hospital's wording (with its en dash, read as Windows-1252)
    mapped to the study's label; A-002 is 'Oral agents + insulin – BMI < 23 and T2DM < 10 y'."""
    csv, hospital = _of(both[0], "ResearchSubject"), _of(both[1], "ResearchSubject")
    assert csv.keys() == hospital.keys()
    strata = Counter()
    for rid, subject in csv.items():
        other = json.loads(canonical_json(hospital[rid]))
        stratum = [e for e in other["extension"] if e["url"] == STRATUM_URL]
        other["extension"] = [e for e in other["extension"] if e["url"] != STRATUM_URL]
        assert canonical_json(other) == canonical_json(subject), rid
        assert other["status"] == "off-study"
        strata[stratum[0]["valueString"]] += 1
    assert len(strata) >= 4 and sum(strata.values()) == 30
    a002 = next(s for s in hospital.values() if s["identifier"][0]["value"] == "A-002")
    assert [e["valueString"] for e in a002["extension"] if e["url"] == STRATUM_URL] == [
        "oral agents and insulin; BMI < 23 kg/m2 and diabetes < 10 years"
    ]


def test_adverse_events_keep_the_site_terms(both) -> None:
    csv, hospital = _of(both[0], "AdverseEvent"), _of(both[1], "AdverseEvent")
    assert csv.keys() == hospital.keys() and len(csv) == 7
    for rid, event in csv.items():
        other = json.loads(canonical_json(hospital[rid]))
        assert other["event"]["text"] == TERMS[event["event"]["text"]]
        other["event"] = event["event"]
        assert canonical_json(other) == canonical_json(event), rid


def test_provenance_names_the_hospital_files(both) -> None:
    provenance = _of(both[1], "Provenance")
    assert len(provenance) == 30
    text = canonical_json(next(iter(provenance.values())))
    assert "labs.csv" in text and "study_a_hospital.yaml" in text


def _read_as(tmp_path: Path, encoding: str) -> StudyMapping:
    """The hospital mapping with another declared encoding, in a folder with the catalogue."""
    shutil.copytree(REPO / "mappings" / "codes", tmp_path / "codes")
    text = (REPO / "mappings" / "study_a_hospital.yaml").read_text(encoding="utf-8")
    assert "\n  encoding: cp1252\n" in text
    path = tmp_path / "hospital.yaml"
    path.write_text(text.replace("encoding: cp1252", f"encoding: {encoding}"), encoding="utf-8")
    return StudyMapping(load_mapping(path), REPO / "examples" / "study_a_hospital")


def test_read_as_utf8_the_export_stops_at_the_row_and_column_it_cannot_decode(
    tmp_path: Path,
) -> None:
    with pytest.raises(SourceDataError) as caught:
        list(_read_as(tmp_path, "utf-8").all_resources())
    message = str(caught.value)
    assert "patients.csv row 2 column 'Site'" in message and "cp1252" in message
    assert "VRI-HN" not in message  # the cell (the site name) is never shown


def test_read_as_latin1_no_stratum_is_written_wrong(tmp_path: Path) -> None:
    """Latin-1 decodes every byte, but the en dash (0x96 in Windows-1252) as a control
    character: the stratum cells then match no entry of the map, a row error each, never a
    label with a stray character in it."""
    mapping = _read_as(tmp_path, "latin-1")
    resources = list(mapping.all_resources())
    errors = mapping.report.errors
    assert len(errors) == 30 and {(e.file, e.column, e.rule) for e in errors} == {
        ("patients.csv", "Stratum", "code")
    }
    assert mapping.report.participants_mapped == 0
    assert [r["resourceType"] for r, _ in resources] == ["ResearchStudy"]


def _planted_copy(tmp_path: Path) -> Path:
    """A copy of the export with three bad rows planted: a frequency no one can read
    (A-002's first line), a unit the mapping does not know (A-003's baseline HbA1c) and
    A-004's harvest row missing (its products' collection date is on that row)."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "study_a_hospital", data)

    def rewrite(name: str, change) -> None:
        path = data / name
        lines = path.read_text(encoding="cp1252").splitlines(keepends=True)
        path.write_text("".join(change(lines)), encoding="cp1252", newline="")

    def bad_frequency(lines: list[str]) -> list[str]:
        at = next(i for i, line in enumerate(lines) if line.startswith("A-002;"))
        lines[at] = lines[at].replace(";2x/day;", ";2-3x/day;")
        return lines

    rewrite("medications.csv", bad_frequency)
    rewrite(
        "labs.csv",
        lambda ls: [
            ln.replace(";%\n", ";g/dl\n") if ln.startswith("A-003;05/02/2019;BL;HBA1C;") else ln
            for ln in ls
        ],
    )
    rewrite(
        "procedures.csv",
        lambda ls: [ln for ln in ls if not ln.startswith("A-004;A-004-HARV;")],
    )
    return data


def test_planted_bad_rows_are_row_errors_naming_file_row_column_and_rule(tmp_path: Path) -> None:
    data = _planted_copy(tmp_path)
    mapping = StudyMapping(load_mapping(REPO / "mappings" / "study_a_hospital.yaml"), data)
    resources = {r["id"]: r for r, _ in mapping.all_resources()}
    found = {(e.file, e.row, e.column, e.rule) for e in mapping.report.errors}
    assert ("medications.csv", 3, "Frequency", "frequency") in found
    assert ("labs.csv", 36, "Unit", "code") in found
    assert {("procedures.csv", "lookup")} <= {(f, rule) for f, _, _, rule in found}
    # Participants without a planted row map as before.
    clean = _resources("study_a_hospital.yaml", "study_a_hospital")
    kept = [r for r in clean.values() if r["resourceType"] == "Patient"]
    others = [p for p in kept if p["identifier"][0]["value"] not in ("A-002", "A-003", "A-004")]
    for patient in others:
        assert canonical_json(resources[patient["id"]]) == canonical_json(patient)


def test_the_docs_walkthrough_shows_the_mapping_as_committed() -> None:
    """docs/mapping.md 'A hospital lab export' quotes the mapping: every key it shows has
    the committed mapping's value, so the walkthrough cannot drift from the file."""
    docs = (REPO / "docs" / "mapping.md").read_text(encoding="utf-8")
    section = docs.split("### A hospital lab export, start to finish\n")[1].split("\n## ")[0]
    yaml = YAML(typ="safe")
    shown = yaml.load(section.split("```yaml\n")[1].split("```")[0])
    committed = yaml.load((REPO / "mappings" / "study_a_hospital.yaml").read_text("utf-8"))
    assert set(shown) == {"participants", "products"}
    for name, fields in shown.items():
        for key, value in fields.items():
            assert committed[name][key] == value, f"{name}.{key}"
