"""Issue 13's motivating export, mapped with YAML only (synthetic data, written here).

A hospital lab system: one procedure table holds harvest and infusion rows; the cell dose
is on the infusion rows, products come only from infusion rows, a product's collection date
is its harvest row's date, the dose unit is a column, one column holds either the harvest
site or the infusion route, medications have no line numbers, a treatment-group column and
no status column.
"""

from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

from fhir_adapter.fhir.extensions import PRODUCT_CELL_DOSE, RESEARCH_SUBJECT_STRATUM
from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import StudyMapping

MAPPING = """\
format: fhir-adapter/mapping/v1
mapping_version: "1"
include: [codes/diabetes-cell-therapy.yaml]
study:
  key: lab-x
  title: Lab-system export (synthetic example)
  identifier: {system: "urn:fhir-adapter:example:study", value: LAB-X}
  identifier_base: "urn:fhir-adapter:example:lab-x"
  status: active
  arms: [{code: IV, name: intravenous}]
tables:
  patients: {file: patients.csv}
  procedures: {file: procedures.csv, date_formats: ["%d.%m.%Y"]}
  drugs: {file: drugs.csv}
codes:
  body_sites:
    iliac_crest: {text: "Posterior iliac crest (synthetic example)"}
participants:
  table: patients
  subject: Patient
  sex: {column: Sex, map: {M: male, F: female}}
  birth_date: {column: Born, format: year}
  arm: {value: IV}
  enrolled: Consent
  status: {value: on-study}
  stratum: {column: Group, map: {S1: "Stratum 1: HbA1c < 8 %"}}
procedures:
  table: procedures
  subject: Patient
  id: Order
  kind: {column: Kind, map: {HARVEST: bone_marrow_harvest, INFUSION: msc_infusion}}
  date: Date
  route:
    expression: "iif(Kind = 'INFUSION', `Site or route`, {})"
    required: false
    map: {IV: intravenous}
  body_site:
    expression: "iif(Kind = 'HARVEST', `Site or route`, {})"
    required: false
    map: {ILIAC: iliac_crest}
  product: {expression: "iif(Kind = 'INFUSION', Order, {})", required: false}
products:
  table: procedures
  subject: Patient
  where: "Kind = 'INFUSION'"
  id: Order
  harvest:
    lookup: {table: procedures, match: {expression: "'HARVEST'"}, on: Kind, column: Order}
  collected:
    lookup: {table: procedures, match: {expression: "'HARVEST'"}, on: Kind, column: Date}
  cell_type: {value: msc}
  dose: {column: Dose, required: false}
  dose_unit: {column: "Dose unit", required: false, map: {"10^6/kg": "10*6/kg"}}
medications:
  table: drugs
  subject: Patient
  line: {row_number: true}
  drug: {column: Drug, map: {METFORMIN: metformin}}
  dose: Dose
  dose_unit: {column: Unit, map: {mg: mg}}
  times_per_day: PerDay
  start: Start
"""

TABLES = {
    "patients.csv": [
        {"Patient": "X-1", "Sex": "F", "Born": "1961", "Consent": "2020-03-01", "Group": "S1"},
    ],
    "procedures.csv": [
        {"Patient": "X-1", "Order": "O-7", "Kind": "HARVEST", "Date": "02.03.2020",
         "Site or route": "ILIAC", "Dose": "", "Dose unit": ""},
        {"Patient": "X-1", "Order": "O-9", "Kind": "INFUSION", "Date": "30.03.2020",
         "Site or route": "IV", "Dose": "1.5", "Dose unit": "10^6/kg"},
    ],
    "drugs.csv": [
        {"Patient": "X-1", "Drug": "METFORMIN", "Dose": "500", "Unit": "mg", "PerDay": "2",
         "Start": "2019-01-01"},
    ],
}  # fmt: skip


def _write(directory: Path) -> Path:
    codes = directory / "codes"
    codes.mkdir(parents=True)
    repo = Path(__file__).resolve().parents[3]
    shutil.copy(repo / "mappings" / "codes" / "diabetes-cell-therapy.yaml", codes)
    (directory / "lab.yaml").write_text(MAPPING, encoding="utf-8")
    for name, rows in TABLES.items():
        with (directory / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return directory / "lab.yaml"


def test_the_lab_export_maps_with_yaml_only(tmp_path):
    path = _write(tmp_path)
    mapping = StudyMapping(load_mapping(path), tmp_path, check_models=True)
    resources = [r for p in mapping.participants() for r in p.resources]
    assert mapping.report.errors == []
    by_type: dict[str, list[dict]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)

    subject = by_type["ResearchSubject"][0]
    assert subject["status"] == "on-study"
    assert subject["extension"] == [
        {"url": RESEARCH_SUBJECT_STRATUM, "valueString": "Stratum 1: HbA1c < 8 %"}
    ]

    harvest, infusion = by_type["Procedure"]
    assert harvest["performedDateTime"] == "2020-03-02"
    assert harvest["bodySite"] == [{"text": "Posterior iliac crest (synthetic example)"}]
    assert "extension" not in harvest  # no route, no product
    assert infusion["performedDateTime"] == "2020-03-30"
    assert [e["valueCodeableConcept"]["coding"][0]["code"] for e in infusion["extension"]
            if e["url"].endswith("procedure-route")] == ["47625008"]  # fmt: skip

    (product,) = by_type["BiologicallyDerivedProduct"]  # from the infusion row only
    assert product["identifier"][0]["value"] == "X-1/O-9"
    assert product["collection"]["collectedDateTime"] == "2020-03-02"  # the harvest's date
    dose = next(e for e in product["extension"] if e["url"] == PRODUCT_CELL_DOSE)
    assert dose["valueQuantity"]["value"] == Decimal("1.5")
    assert dose["valueQuantity"]["code"] == "10*6/kg"
    harvest_link = next(e for e in product["extension"] if e["url"].endswith("procedure"))
    assert harvest_link["valueReference"]["reference"] == f"Procedure/{harvest['id']}"

    (statement,) = by_type["MedicationStatement"]
    assert statement["identifier"][0]["value"] == "X-1/1"  # the row's position
