"""Canary copies of the example studies: every source cell that could carry PHI replaced by a
marker no output may contain, then mapped (not yet de-identified).

Every column of every file gets a role (``ROLES``; a new column in the examples fails the
completeness check until it has one):

- ``id``: identifiers (subjects, procedures, products, lines, visits, events): ``CNRYQ``
  prefixed to every cell, the same everywhere, so references between tables still hold;
- ``coded``: local codes: ``CNRYC`` prefixed to the cells *and* to the mapping's ``map``
  keys (and arm codes), so the rows still map;
- ``text``: free text: a unique ``CNRYT<n>`` per cell;
- ``unread``: columns the mapping does not read: a unique ``CNRYU<n>`` per cell;
- ``date``: kept; what happens to dates is checked position by position;
- ``number``/``unit``: results, doses and units are kept by design (codes and numbers stay).

The data files are also renamed to ``cnryf-<name>`` so no source file name may appear.
``make_canary_study`` can keep only some subjects' rows and give the study a key of its own,
for the end-to-end test against a shared server (tests/integration/auth/test_deid_canary.py).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from ruamel.yaml import YAML

from fhir_adapter.mapping.loader import load_mapping
from fhir_adapter.pipeline import MappedParticipant, StudyMapping

REPO = Path(__file__).resolve().parents[3]
MARK = "cnry"  # every canary contains it (case-insensitive); hex pseudonyms never can
KEY = b"test-key-0123456789abcdef0123456789abcdef"
OTHER_KEY = b"another-test-key-fedcba9876543210fedcba98765"

ROLES: dict[str, dict[str, dict[str, str]]] = {
    "study_a": {
        "subjects.csv": {
            "subject_id": "id",
            "site_id": "unread",
            "sex": "coded",
            "birth_date": "date",
            "consent_date": "date",
            "arm": "coded",
            "t2dm_diagnosis_date": "date",
            "baseline_med_group": "unread",
            "status": "coded",
            "end_date": "date",
            "end_reason": "coded",
        },
        "visits.csv": {
            "subject_id": "id",
            "visit": "id",
            "visit_date": "date",
            "hba1c_pct": "number",
            "c_peptide_ng_ml": "number",
            "fpg_mg_dl": "number",
            "weight_kg": "number",
            "height_cm": "number",
            "bmi_kg_m2": "number",
        },
        "procedures.csv": {
            "subject_id": "id",
            "procedure_id": "id",
            "procedure_type": "coded",
            "procedure_date": "date",
            "route": "coded",
            "body_site": "coded",
            "product_id": "id",
        },
        "cell_products.csv": {
            "product_id": "id",
            "subject_id": "id",
            "harvest_procedure_id": "id",
            "collection_date": "date",
            "cell_type": "coded",
            "dose_1e6_cells_per_kg": "number",
            "viability_pct": "number",
        },
        "medications.csv": {
            "subject_id": "id",
            "line_no": "id",
            "drug_code": "coded",
            "dose": "number",
            "dose_unit": "coded",
            "times_per_day": "number",
            "start_date": "date",
            "end_date": "date",
        },
        "adverse_events.csv": {
            "subject_id": "id",
            "ae_id": "id",
            "onset_date": "date",
            "term": "text",
            "severity": "coded",
            "serious": "coded",
            "outcome": "coded",
        },
    },
    "study_b": {
        "patients.xlsx": {
            "PatientNo": "id",
            "Gender": "coded",
            "YearOfBirth": "date",
            "Group": "coded",
            "EnrolmentDate": "date",
            "DiagnosisYear": "date",
            "Status": "coded",
            "EndDate": "date",
            "EndReason": "coded",
        },
        "labs.csv": {
            "PatientNo": "id",
            "VisitMonth": "id",
            "SampleDate": "date",
            "Test": "coded",
            "Result": "number",
            "Unit": "unit",
        },
        "procedures.csv": {
            "PatientNo": "id",
            "ProcNo": "id",
            "ProcCode": "coded",
            "ProcDate": "date",
            "ProductNo": "id",
        },
        "products.csv": {
            "ProductNo": "id",
            "PatientNo": "id",
            "HarvestDate": "date",
            "CellType": "coded",
            "Dose1e6PerKg": "number",
            "ViabilityPct": "number",
        },
        "medications.csv": {
            "PatientNo": "id",
            "LineNo": "id",
            "Drug": "coded",
            "DailyDose": "number",
            "Unit": "coded",
            "StartDate": "date",
            "EndDate": "date",
        },
        "adverse_events.csv": {
            "PatientNo": "id",
            "EventNo": "id",
            "OnsetDate": "date",
            "Description": "text",
            "Severity": "coded",
            "Serious": "coded",
        },
    },
}


SUBJECT_COLUMN = {"study_a": "subject_id", "study_b": "PatientNo"}


class _Canary:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, role: str, value: Any) -> Any:
        if value is None or value == "":
            return value
        self.count += 1
        if role == "id":
            return f"CNRYQ{value}"
        if role == "coded":
            return f"CNRYC{value}"
        if role == "text":
            return f"CNRYT{self.count}"
        if role == "unread":
            return f"CNRYU{self.count}"
        return value


Keep = Callable[[dict[str, Any]], bool]  # which source rows (by their original cells) to keep


def _edit_csv(
    path: Path,
    target: Path,
    roles: dict[str, str],
    canary: _Canary,
    delimiter: str,
    encoding: str,
    keep: Keep,
) -> None:
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        fields = list(reader.fieldnames or [])
        rows = [row for row in reader if keep(row)]
    assert set(fields) == set(roles), f"{path.name}: give every column a role in ROLES"
    for row in rows:
        for column, role in roles.items():
            row[column] = canary(role, row[column])
    with target.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _edit_xlsx(
    path: Path, target: Path, roles: dict[str, str], canary: _Canary, keep: Keep
) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert set(header) == set(roles), f"{path.name}: give every column a role in ROLES"
    for index in range(sheet.max_row, 1, -1):  # bottom up: deleting keeps earlier indices
        if not keep({str(h): c.value for h, c in zip(header, sheet[index], strict=True)}):
            sheet.delete_rows(index)
    for row in sheet.iter_rows(min_row=2):
        for cell, column in zip(row, header, strict=True):
            cell.value = canary(roles[str(column)], cell.value)
    book.save(target)
    path.unlink()


def _canary_mapping(text: str, study_key: str | None) -> Any:
    yaml = YAML(typ="rt")
    doc = yaml.load(text)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("map"), dict):
                node["map"] = {f"CNRYC{k}": v for k, v in node["map"].items()}
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    for arm in doc["study"]["arms"]:
        arm["code"] = f"CNRYC{arm['code']}"
    for table in doc["tables"].values():
        table["file"] = f"cnryf-{table['file']}"
    if study_key is not None:  # a study of its own on a shared server
        doc["study"]["key"] = study_key
        doc["study"]["identifier"]["value"] = study_key.upper()
        doc["study"]["identifier_base"] = f"urn:fhir-adapter:test:{study_key}"
    return doc, yaml


@dataclass
class CanaryStudy:
    name: str
    mapping: StudyMapping
    study: list[dict[str, Any]]
    participants: list[MappedParticipant]
    cells: int  # how many cells were planted
    mapping_path: Path
    data_dir: Path


def make_canary_study(
    name: str, folder: Path, *, subjects: set[str] | None = None, study_key: str | None = None
) -> CanaryStudy:
    """A canary copy of example study ``name`` in ``folder``, mapped; only the rows of
    ``subjects`` (original subject numbers) when given, under ``study_key`` when given."""
    shutil.copytree(REPO / "mappings" / "codes", folder / "codes")
    text = (REPO / "mappings" / f"{name}.yaml").read_text("utf-8")
    doc, yaml = _canary_mapping(text, study_key)
    mapping_path = folder / f"{name}.yaml"
    with mapping_path.open("w", encoding="utf-8") as handle:
        yaml.dump(doc, handle)
    data = folder / "data"
    data.mkdir()
    canary = _Canary()
    delimiter, encoding = (";", "utf-8-sig") if name == "study_b" else (",", "utf-8")
    source = REPO / "examples" / name
    assert {p.name for p in source.iterdir() if p.suffix in (".csv", ".xlsx")} == set(
        ROLES[name]
    ), "a new example file needs its columns in ROLES"
    column = SUBJECT_COLUMN[name]
    keep: Keep = (lambda row: True) if subjects is None else (lambda row: row[column] in subjects)
    for file, roles in ROLES[name].items():
        target = data / f"cnryf-{file}"
        if file.endswith(".xlsx"):
            shutil.copy(source / file, data / file)
            _edit_xlsx(data / file, target, roles, canary, keep)
        else:
            _edit_csv(source / file, target, roles, canary, delimiter, encoding, keep)
    mapping = StudyMapping(load_mapping(mapping_path), data)
    study = mapping.study_resources()
    participants = list(mapping.participants())
    assert mapping.report.participants_rejected == 0, mapping.report.errors[:3]
    return CanaryStudy(name, mapping, study, participants, canary.count, mapping_path, data)


@pytest.fixture(scope="session", params=["study_a", "study_b"])
def canary_study(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> CanaryStudy:
    return make_canary_study(request.param, tmp_path_factory.mktemp(request.param))
