"""`ehr-pull` against the real server seeded as a hospital record: enrolled and not-enrolled
patients identified by MRN under an identifier system unique to the test, lab values in
mixed units. Every request the client sends is recorded: none names a participant who is not
in the MRN file, and the table holds exactly the enrolled participants' values in the
mapping's units (hand-computed below). The table and its mapping snippet then pass
``validate`` and ``map`` with study A."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import stat
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from fhir_adapter.cli import main
from fhir_adapter.client import FhirClient
from fhir_adapter.ehr import (
    LABS,
    SNIPPET,
    EhrPullOptions,
    lab_targets,
    parse_visits,
    prepare_folder,
    pull_labs,
    read_mrns,
    write_outputs,
)
from fhir_adapter.mapping.loader import load_mapping

REPO = Path(__file__).resolve().parents[3]
STUDY_A = REPO / "mappings" / "study_a.yaml"
UCUM = "http://unitsofmeasure.org"


class RecordingTransport(httpx.BaseTransport):
    """The real HTTP transport, keeping method, URL and body of every request sent."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[tuple[str, str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read().decode()
        self.requests.append((request.method, str(request.url), body))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _patient(ref: str, system: str, mrn: str) -> dict[str, Any]:
    return {
        "fullUrl": ref,
        "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": system, "value": mrn}],
            "name": [{"family": "Synthetic", "given": ["Test"]}],
        },
        "request": {"method": "POST", "url": "Patient"},
    }


def _lab(
    patient: str, loinc: str, day: str, value: float, unit: str, status: str = "final"
) -> dict[str, Any]:
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": {
            "resourceType": "Observation",
            "status": status,
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "subject": {"reference": patient},
            "effectiveDateTime": day,
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        },
        "request": {"method": "POST", "url": "Observation"},
    }


@pytest.fixture
def ehr(fhir_http: httpx.Client, unique_system: str) -> dict[str, Any]:
    """A synthetic hospital record: four enrolled MRNs (one absent, one held by two
    Patients) and two patients who are not enrolled, with labs in mixed units."""
    tag = uuid.uuid4().hex[:8]
    mrn = {name: f"{name}-{tag}" for name in ("E1", "E2", "E3", "E4", "N1", "N2")}
    p1, p2, p4a, p4b, n1, n2 = (f"urn:uuid:{uuid.uuid4()}" for _ in range(6))
    entries = [
        _patient(p1, unique_system, mrn["E1"]),
        _patient(p2, unique_system, mrn["E2"]),
        _patient(p4a, unique_system, mrn["E4"]),
        _patient(p4b, unique_system, mrn["E4"]),  # the same MRN twice: ambiguous
        _patient(n1, unique_system, mrn["N1"]),
        _patient(n2, unique_system, mrn["N2"]),
        # E1 (A-001, anchor 2023-03-12): day 364 and day 540
        _lab(p1, "4548-4", "2024-03-10", 7.2, "%"),
        _lab(p1, "59261-8", "2024-09-02", 64, "mmol/mol"),  # 0.09148*64+2.152 = 8.00672 -> 8.0
        _lab(p1, "1558-6", "2024-03-10", 126, "mg/dL"),
        _lab(p1, "14771-0", "2024-09-02", 7.4, "mmol/L"),  # 7.4*18.0156 = 133.3 -> 133
        _lab(p1, "1986-9", "2024-03-10", 1.25, "ng/mL"),
        _lab(p1, "1986-9", "2024-09-02", 662, "pmol/L"),  # 662*0.00302 = 1.99924 -> 2.00
        _lab(p1, "4548-4", "2023-06-01", 9.9, "%"),  # before --from: never returned
        _lab(p1, "4548-4", "2024-10-01", 6.6, "%", status="preliminary"),  # not final
        _lab(p1, "1558-6", "2024-10-01", 100, "mg"),  # a mass, not a concentration: problem
        # E2 (A-002, anchor 2023-01-01): day 490, outside both windows, nearest F18
        _lab(p2, "59261-8", "2024-05-05", 53, "mmol/mol"),  # 7.00044 -> 7.0 (duplicate)
        _lab(p2, "4548-4", "2024-05-05", 7.0, "%"),  # measured in %: the one kept
        _lab(p2, "14771-0", "2024-05-05", 5.5, "mmol/L"),  # 5.5*18.0156 = 99.09 -> 99
        _lab(p2, "1986-9", "2024-05-05", 0.33, "nmol/L"),  # 0.33*3.02 = 0.9966 -> 1.00
        # E4's two Patients and the patients not enrolled
        _lab(p4a, "4548-4", "2024-05-05", 6.1, "%"),
        _lab(n1, "4548-4", "2024-05-05", 11.1, "%"),
        _lab(n1, "1558-6", "2024-05-05", 222, "mg/dL"),
        _lab(n2, "1986-9", "2024-05-05", 555, "pmol/L"),
    ]
    answer = fhir_http.post(
        "", json={"resourceType": "Bundle", "type": "transaction", "entry": entries}
    )
    assert answer.status_code == 200, answer.text[:500]
    ids = [
        e["response"]["location"].split("/")[1]
        for e in answer.json()["entry"]
        if e["response"]["location"].startswith("Patient/")
    ]
    return {
        "mrn": mrn,
        "system": unique_system,
        "ids": dict(zip(["E1", "E2", "E4a", "E4b", "N1", "N2"], ids, strict=True)),
    }


def _mrn_file(path: Path, ehr: dict[str, Any]) -> Path:
    mrn = ehr["mrn"]
    path.write_text(
        "subject,mrn,anchor_date\n"
        f"A-001,{mrn['E1']},2023-03-12\n"
        f"A-002,{mrn['E2']},2023-01-01\n"
        f"A-003,{mrn['E3']},2023-01-01\n"  # no such Patient
        f"A-004,{mrn['E4']},2023-01-01\n",  # two Patients
        encoding="utf-8",
    )
    return path


EXPECTED = [
    # subject,date,visit,analyte,value,unit,window,nearest_visit,day,source_loinc,source_unit
    "A-001,2024-03-10,F12,c_peptide,1.25,ng/mL,in,F12,364,1986-9,ng/mL",
    "A-001,2024-09-02,F18,c_peptide,2.00,ng/mL,in,F18,540,1986-9,pmol/L",
    "A-001,2024-03-10,F12,glucose_fasting,126,mg/dL,in,F12,364,1558-6,mg/dL",
    "A-001,2024-09-02,F18,glucose_fasting,133,mg/dL,in,F18,540,14771-0,mmol/L",
    "A-001,2024-03-10,F12,hba1c,7.2,%,in,F12,364,4548-4,%",
    "A-001,2024-09-02,F18,hba1c,8.0,%,in,F18,540,59261-8,mmol/mol",
    "A-002,2024-05-05,F18,c_peptide,1.00,ng/mL,outside,F18,490,1986-9,nmol/L",
    "A-002,2024-05-05,F18,glucose_fasting,99,mg/dL,outside,F18,490,14771-0,mmol/L",
    "A-002,2024-05-05,F18,hba1c,7.0,%,outside,F18,490,4548-4,%",
]


def _pull(
    base_url: str, ehr: dict[str, Any], tmp_path: Path
) -> tuple[RecordingTransport, dict[str, Any], Path]:
    transport = RecordingTransport()
    enrolled, problems = read_mrns(
        _mrn_file(tmp_path / "mrns.csv", ehr), ehr["system"], "anchor_date"
    )
    assert problems == []
    targets = lab_targets(load_mapping(STUDY_A).spec)
    options = EhrPullOptions(
        dt.date.fromisoformat("2024-01-01"),
        dt.date.fromisoformat("2024-12-31"),
        parse_visits("F12:365±30,F18:545±30"),
        page_size=2,
    )
    with FhirClient(base_url, transport=transport) as client:
        result = pull_labs(client, enrolled, targets, options)
    out = prepare_folder(tmp_path / "ehr")
    summary = write_outputs(out, result, STUDY_A.name)
    return transport, summary, out


def test_only_enrolled_participants_are_named_and_values_are_normalised(
    fhir_base_url: str, ehr: dict[str, Any], tmp_path: Path
) -> None:
    transport, summary, out = _pull(fhir_base_url, ehr, tmp_path)

    # Not one request names a patient who is not enrolled, by MRN or by server id.
    never = [ehr["mrn"]["N1"], ehr["mrn"]["N2"], ehr["ids"]["N1"], ehr["ids"]["N2"]]
    for method, url, body in transport.requests:
        for name in never:
            assert name not in url and name not in body, (method, url)
    # Every search names one enrolled participant: a Patient by MRN, Observations by the
    # one Patient found (E4's two Patients are never searched further); pages follow links.
    enrolled_ids = {ehr["ids"]["E1"], ehr["ids"]["E2"]}
    searched = []
    for method, url, body in transport.requests:
        form = dict(httpx.QueryParams(body)) if method == "POST" else {}
        if url.endswith("/Patient/_search"):
            assert form["identifier"] in {
                f"{ehr['system']}|{ehr['mrn'][k]}" for k in ("E1", "E2", "E3", "E4")
            }
        elif url.endswith("/Observation/_search"):
            assert form["patient"] in {f"Patient/{i}" for i in enrolled_ids}
            searched.append(form["patient"])
        else:
            assert method == "GET" and "_getpages" in url, url  # the server's own next links
    assert sorted(searched) == sorted(f"Patient/{i}" for i in enrolled_ids)
    assert len(transport.requests) > 4 + 2  # page_size 2: E1's Observations span pages

    with (out / LABS).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["subject", "date", "visit", "analyte", "value", "unit", "window",
                       "nearest_visit", "day", "source_loinc", "source_unit"]  # fmt: skip
    assert rows[1:] == [line.split(",") for line in EXPECTED]

    assert summary["participants"] == {"listed": 4, "looked_up": 4, "found": 2, "skipped": 2}
    values = summary["values"]
    assert values["written"] == 9 and values["outside_windows"] == 3
    assert values["converted"] == 5 and values["not_final"] == 1 and values["duplicates"] == 1
    assert [(p["row"], p["rule"]) for p in summary["problems"]] == [
        (2, "unit"),
        (4, "patient-not-found"),
        (5, "patient-ambiguous"),
    ]
    text = json.dumps(summary)
    assert not any(ehr["mrn"][k] in text for k in ehr["mrn"])
    assert "A-00" not in text  # subject ids stay in the owner-only files
    for path in [out, *out.iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def _merged_mapping(tmp_path: Path, snippet: Path) -> Path:
    """study_a.yaml with the snippet's table and section added, beside the catalogue."""
    yaml = YAML()
    mapping = yaml.load(STUDY_A.read_text(encoding="utf-8"))
    extra = yaml.load(snippet.read_text(encoding="utf-8"))
    mapping["tables"].update(extra["tables"])
    mapping["observations"].extend(extra["observations"])
    folder = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings" / "codes", folder / "codes")
    target = folder / "study_a_ehr.yaml"
    with target.open("w", encoding="utf-8") as handle:
        yaml.dump(mapping, handle)
    return target


def test_the_table_and_its_snippet_validate_and_map_with_the_study(
    fhir_base_url: str, ehr: dict[str, Any], tmp_path: Path
) -> None:
    _, _, out = _pull(fhir_base_url, ehr, tmp_path)
    mapping = _merged_mapping(tmp_path, out / SNIPPET)
    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "study_a", data)
    shutil.copy(out / LABS, data / LABS)
    runner = CliRunner()
    checked = runner.invoke(main, ["validate", "--mapping", str(mapping), "--data", str(data)])
    assert checked.exit_code == 0, checked.output
    mapped = runner.invoke(
        main,
        [
            "map",
            "--mapping",
            str(mapping),
            "--data",
            str(data),
            "--out",
            str(tmp_path / "m"),
            "--json",
        ],
    )
    assert mapped.exit_code == 0, mapped.output
    observations = [
        json.loads(line)
        for line in (tmp_path / "m" / "ndjson" / "Observation.ndjson").read_text().splitlines()
    ]
    from_ehr = sorted(
        (
            o["code"]["coding"][0]["code"],
            o["effectiveDateTime"],
            o["valueQuantity"]["value"],
            o["valueQuantity"]["code"],
        )
        for o in observations
        if o["effectiveDateTime"].startswith("2024-")
    )
    assert from_ehr == sorted(
        [
            ("1986-9", "2024-03-10", 1.25, "ng/mL"),
            ("1986-9", "2024-09-02", 2.0, "ng/mL"),
            ("1558-6", "2024-03-10", 126, "mg/dL"),
            ("1558-6", "2024-09-02", 133, "mg/dL"),
            ("4548-4", "2024-03-10", 7.2, "%"),
            ("4548-4", "2024-09-02", 8.0, "%"),
            ("1986-9", "2024-05-05", 1.0, "ng/mL"),
            ("1558-6", "2024-05-05", 99, "mg/dL"),
            ("4548-4", "2024-05-05", 7.0, "%"),
        ]
    )
