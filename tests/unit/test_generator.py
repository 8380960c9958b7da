"""The synthetic example generator: deterministic, the exact export shapes, and the findings.

Every finding is computed from the written files (as an analyst would), not from the
generator's internals.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPT = EXAMPLES / "generate.py"
STUDY_A_FILES = [
    "subjects",
    "visits",
    "procedures",
    "cell_products",
    "medications",
    "adverse_events",
]
STUDY_B_FILES = ["labs", "procedures", "products", "medications", "adverse_events"]


def _load_generator():
    spec = importlib.util.spec_from_file_location("examples_generate", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("examples")
    _load_generator().generate("all", directory)
    return directory


def read(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def iso(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def dmy(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d/%m/%Y").date()


def comma(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def by_subject(rows: list[dict[str, str]], key: str = "subject_id") -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


# --- determinism and CLI ---------------------------------------------------------------------


def _run(out: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *args], check=True, capture_output=True
    )


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    _run(tmp_path)
    first = {p: p.read_bytes() for p in tmp_path.rglob("*.*")}
    # CSVs, patients.xlsx, the REDCap export and dictionary, and a README per folder
    assert len(first) == 6 + 6 + 6 + 6 + 2 + 5
    _run(tmp_path)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.*")} == first


def test_another_seed_gives_other_values(tmp_path: Path) -> None:
    _run(tmp_path, "--study", "a", "--seed", "7")
    assert (tmp_path / "study_a" / "visits.csv").read_bytes() != (
        EXAMPLES / "study_a" / "visits.csv"
    ).read_bytes()


def test_committed_examples_are_the_default_output(out: Path) -> None:
    for folder in ("study_a", "study_a_alt", "study_a_redcap", "study_a_hospital", "study_b"):
        for path in sorted((out / folder).iterdir()):
            if path.suffix in (".csv", ".xlsx"):
                committed = EXAMPLES / folder / path.name
                assert committed.read_bytes() == path.read_bytes(), f"regenerate {committed}"


def test_more_subjects_extend_the_same_subjects(tmp_path: Path, out: Path) -> None:
    _run(tmp_path, "--study", "a", "--subjects", "45")
    for name in STUDY_A_FILES:
        small = (out / "study_a" / f"{name}.csv").read_text().splitlines()
        large = (tmp_path / "study_a" / f"{name}.csv").read_text().splitlines()
        assert large[: len(small)] == small


def test_help_describes_the_options() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], check=True, capture_output=True, text=True
    )
    for option in ("--study", "--subjects", "--seed", "--out", "SYNTHETIC"):
        assert option in result.stdout


def test_every_folder_says_it_is_synthetic(out: Path) -> None:
    for folder in ("study_a", "study_a_alt", "study_a_redcap", "study_a_hospital", "study_b"):
        text = (EXAMPLES / folder / "README.md").read_text()
        assert "synthetic" in text.lower() and "not real patients" in text
        assert "examples/generate.py" in text and "--seed" in text
    assert "synthetic" in (EXAMPLES / "README.md").read_text().lower()


# --- study A: shape and counts ---------------------------------------------------------------


@pytest.fixture(scope="module")
def a(out: Path) -> dict[str, list[dict[str, str]]]:
    return {name: read(out / "study_a" / f"{name}.csv") for name in STUDY_A_FILES}


def test_study_a_counts_and_ids(a: dict) -> None:
    subjects = a["subjects"]
    assert [s["subject_id"] for s in subjects] == [f"A-{i:03d}" for i in range(1, 31)]
    assert {s["site_id"] for s in subjects} == {"VRI-HN"}
    assert len(a["procedures"]) == 90 and len(a["cell_products"]) == 60
    arms = [s["arm"] for s in subjects]
    assert 12 <= arms.count("IV") <= 18 and set(arms) == {"IV", "IA"}
    assert {s["baseline_med_group"] for s in subjects} == {"INSULIN", "ORAL", "BOTH"}
    withdrawn = [s for s in subjects if s["status"] == "WITHDRAWN"]
    assert 1 <= len(withdrawn) <= 2
    assert {s["status"] for s in subjects} == {"COMPLETED", "WITHDRAWN"}
    # Why each subject left: completers COMPLETED, withdrawals a reason of their own.
    for s in subjects:
        if s["status"] == "COMPLETED":
            assert s["end_reason"] == "COMPLETED"
        else:
            assert s["end_reason"] in {"CONSENT_WITHDRAWN", "LOST_TO_FOLLOW_UP"}


def test_study_a_visits_follow_the_schedule(a: dict) -> None:
    visits = by_subject(a["visits"])
    procedures = by_subject(a["procedures"])
    for s in a["subjects"]:
        rows = visits[s["subject_id"]]
        codes = [v["visit"] for v in rows]
        assert codes == ["BL", "H48", "M1", "M3", "M6", "M12"][: len(codes)]
        inf1 = next(
            iso(p["procedure_date"])
            for p in procedures[s["subject_id"]]
            if p["procedure_id"].endswith("INF1")
        )
        dates = {v["visit"]: iso(v["visit_date"]) for v in rows}
        assert 2 <= (inf1 - dates["BL"]).days <= 5 and (dates["H48"] - inf1).days == 2
        if s["status"] == "COMPLETED":
            assert len(codes) == 6 and iso(s["end_date"]) == dates["M12"]
        else:
            assert len(codes) < 6 and iso(s["end_date"]) > max(dates.values())
        for v in rows:
            assert dt.date(2018, 1, 1) <= iso(v["visit_date"]) <= dt.date(2022, 12, 31)
            is_bl, is_h48 = v["visit"] == "BL", v["visit"] == "H48"
            assert (v["hba1c_pct"] == "") == is_h48 and (v["bmi_kg_m2"] == "") == is_h48
            assert (v["height_cm"] != "") == is_bl
            assert v["fpg_mg_dl"].isdigit() and v["weight_kg"].count(".") == 1


def test_study_a_value_formats_and_bmi(a: dict) -> None:
    heights = {v["subject_id"]: int(v["height_cm"]) for v in a["visits"] if v["visit"] == "BL"}
    below = 0
    for v in a["visits"]:
        if v["hba1c_pct"]:
            assert len(v["hba1c_pct"].split(".")[1]) == 1
        if v["c_peptide_ng_ml"] == "<0.10":
            below += 1
        else:
            assert len(v["c_peptide_ng_ml"].split(".")[1]) == 2
        if v["bmi_kg_m2"]:
            expected = float(v["weight_kg"]) / (heights[v["subject_id"]] / 100) ** 2
            assert abs(float(v["bmi_kg_m2"]) - expected) <= 0.051
    assert 1 <= below <= 30  # a few below the limit of quantification


def test_study_a_procedures_and_products(a: dict) -> None:
    arms = {s["subject_id"]: s["arm"] for s in a["subjects"]}
    for sid, rows in by_subject(a["procedures"]).items():
        harv, inf1, inf2 = rows
        assert [r["procedure_id"] for r in rows] == [f"{sid}-HARV", f"{sid}-INF1", f"{sid}-INF2"]
        assert harv["procedure_type"] == "HARVEST" and harv["route"] == harv["product_id"] == ""
        assert 21 <= (iso(inf1["procedure_date"]) - iso(harv["procedure_date"])).days <= 28
        assert 26 <= (iso(inf2["procedure_date"]) - iso(inf1["procedure_date"])).days <= 30
        for n, inf in ((1, inf1), (2, inf2)):
            assert inf["procedure_type"] == "INFUSION" and inf["route"] == arms[sid]
            assert inf["body_site"] == ("PANCREAS" if arms[sid] == "IA" else "")
            assert inf["product_id"] == f"{sid}-P{n}"
    harvests = {p["procedure_id"]: p["procedure_date"] for p in a["procedures"]}
    for c in a["cell_products"]:
        assert c["collection_date"] == harvests[c["harvest_procedure_id"]]
        assert c["cell_type"] == "MSC" and 0.8 <= float(c["dose_1e6_cells_per_kg"]) <= 1.5
        assert 85 <= int(c["viability_pct"]) <= 99


def test_study_a_adverse_events(a: dict) -> None:
    events = a["adverse_events"]
    assert 6 <= len(events) <= 10
    terms = {"Fever", "Puncture site pain", "Headache", "Nausea", "Hematoma at puncture site"}
    for e in events:
        assert e["term"] in terms and e["severity"] in ("MILD", "MODERATE")
        assert e["serious"] == "N" and e["outcome"] in ("RECOVERED", "RECOVERING")
        assert e["ae_id"].startswith(e["subject_id"] + "-AE")


# --- study A: medications --------------------------------------------------------------------

ORAL = {"METFORMIN", "GLICLAZIDE", "GLIMEPIRIDE", "SITAGLIPTIN"}
INSULIN = {"INS_GLARGINE", "INS_ASPART", "INS_REGULAR", "INS_PREMIX_70_30"}


def _reductions(meds: list[dict], since: dt.date) -> tuple[int, int]:
    """(reductions or stops after `since`, of which later restored to the old daily dose)."""
    reductions = restored = 0
    for old in meds:
        if not old["end_date"] or iso(old["end_date"]) < since:
            continue
        daily = float(old["dose"]) * int(old["times_per_day"])
        same = [m for m in meds if m["drug_code"] == old["drug_code"] and m is not old]
        nxt = [m for m in same if iso(m["start_date"]) == iso(old["end_date"]) + dt.timedelta(1)]
        new_daily = float(nxt[0]["dose"]) * int(nxt[0]["times_per_day"]) if nxt else 0.0
        if new_daily < daily and iso(old["start_date"]) < since:
            reductions += 1
            resumed_after = iso(old["end_date"]) + dt.timedelta(1)
            later = [m for m in same if iso(m["start_date"]) > resumed_after]
            if any(float(m["dose"]) * int(m["times_per_day"]) == daily for m in later):
                restored += 1
    return reductions, restored


def test_study_a_medications(a: dict) -> None:
    inf1 = {
        p["subject_id"]: iso(p["procedure_date"])
        for p in a["procedures"]
        if p["procedure_id"].endswith("INF1")
    }
    meds = by_subject(a["medications"])
    reducers = temporary = 0
    for s in a["subjects"]:
        rows = meds[s["subject_id"]]
        assert [int(m["line_no"]) for m in rows] == list(range(1, len(rows) + 1))
        for m in rows:
            assert m["dose_unit"] == ("mg" if m["drug_code"] in ORAL else "IU")
            assert m["drug_code"] in ORAL | INSULIN and m["times_per_day"].isdigit()
        baseline = {m["drug_code"] for m in rows if iso(m["start_date"]) < iso(s["consent_date"])}
        expected = {"INSULIN": (False, True), "ORAL": (True, False), "BOTH": (True, True)}
        assert (bool(baseline & ORAL), bool(baseline & INSULIN)) == expected[
            s["baseline_med_group"]
        ]
        reduced, restored = _reductions(rows, inf1[s["subject_id"]])
        reducers += reduced > 0
        temporary += restored > 0
    assert reducers > len(a["subjects"]) / 2  # more than half lowered a dose
    assert temporary >= 2  # some only temporarily


# --- study A: the findings -------------------------------------------------------------------


def _a_table(a: dict) -> list[dict]:
    """One record per subject: subgroup, arm, HbA1c and C-peptide by visit."""
    visits = by_subject(a["visits"])
    records = []
    for s in a["subjects"]:
        rows = {v["visit"]: v for v in visits[s["subject_id"]]}
        duration = (iso(s["consent_date"]) - iso(s["t2dm_diagnosis_date"])).days / 365.25
        assert 1 <= duration <= 25
        cpep = {
            k: 0.05 if v["c_peptide_ng_ml"] == "<0.10" else float(v["c_peptide_ng_ml"])
            for k, v in rows.items()
        }
        records.append(
            {
                "subgroup": float(rows["BL"]["bmi_kg_m2"]) < 23 and duration < 10,
                "arm": s["arm"],
                "hba1c": {k: float(v["hba1c_pct"]) for k, v in rows.items() if v["hba1c_pct"]},
                "cpep": cpep,
            }
        )
    return records


def _drop(record: dict) -> float | None:
    h = record["hba1c"]
    later = [h[k] for k in ("M3", "M6") if k in h]
    return h["BL"] - statistics.mean(later) if later else None


def test_study_a_baseline_hba1c_range(a: dict) -> None:
    assert all(7.5 <= r["hba1c"]["BL"] <= 10.5 for r in _a_table(a))


def test_study_a_best_response_with_low_bmi_and_short_duration(a: dict) -> None:
    records = [r for r in _a_table(a) if _drop(r) is not None]
    sub = [_drop(r) for r in records if r["subgroup"]]
    rest = [_drop(r) for r in records if not r["subgroup"]]
    assert len(sub) >= 3 and len(rest) >= 10
    assert statistics.mean(sub) >= 1.2 and statistics.mean(rest) <= 0.8
    assert statistics.mean(sub) - statistics.mean(rest) >= 0.7


def test_study_a_routes_benefit_equally(a: dict) -> None:
    records = [r for r in _a_table(a) if _drop(r) is not None]
    iv = statistics.mean(_drop(r) for r in records if r["arm"] == "IV")
    ia = statistics.mean(_drop(r) for r in records if r["arm"] == "IA")
    assert iv > 0.3 and ia > 0.3 and abs(iv - ia) < 0.4


def test_study_a_c_peptide_rises_in_responders(a: dict) -> None:
    records = [r for r in _a_table(a) if "M6" in r["cpep"]]
    ratio = {
        g: statistics.mean(r["cpep"]["M6"] / r["cpep"]["BL"] for r in records if r["subgroup"] == g)
        for g in (True, False)
    }
    assert ratio[True] > 1.1 and ratio[True] > ratio[False] + 0.1


def test_study_a_partial_rebound_at_m12(a: dict) -> None:
    done = [r["hba1c"] for r in _a_table(a) if "M12" in r["hba1c"]]
    bl, m6, m12 = (statistics.mean(h[k] for h in done) for k in ("BL", "M6", "M12"))
    assert m6 < m12 < bl


# --- study A alt: the same values in another shape -------------------------------------------


def _half_up(value: Decimal, places: int = 0) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def test_alt_shape_carries_the_same_values(out: Path, a: dict) -> None:
    alt = {name: read(out / "study_a_alt" / f"{name}.csv", ";") for name in STUDY_A_FILES}
    assert list(alt["subjects"][0]) == [
        "Patient",
        "Centre",
        "Sex",
        "DOB",
        "ConsentDate",
        "Route",
        "DiagnosisDate",
        "MedGroup",
        "Status",
        "EndDate",
        "EndReason",
    ]
    for s, t in zip(a["subjects"], alt["subjects"], strict=True):
        assert (s["subject_id"], s["site_id"], s["sex"], s["arm"], s["status"]) == (
            t["Patient"],
            t["Centre"],
            t["Sex"],
            t["Route"],
            t["Status"],
        )
        assert iso(s["birth_date"]) == dmy(t["DOB"])
        assert iso(s["t2dm_diagnosis_date"]) == dmy(t["DiagnosisDate"])
    for v, w in zip(a["visits"], alt["visits"], strict=True):
        assert (v["subject_id"], v["visit"], iso(v["visit_date"])) == (
            w["Patient"],
            w["Visit"],
            dmy(w["Date"]),
        )
        if v["hba1c_pct"]:
            ifcc = (Decimal(v["hba1c_pct"]) - Decimal("2.152")) / Decimal("0.09148")
            assert Decimal(w["HbA1c_IFCC_mmol_mol"]) == _half_up(ifcc)
        else:
            assert w["HbA1c_IFCC_mmol_mol"] == ""
        if v["c_peptide_ng_ml"] == "<0.10":
            assert w["CPeptide_pmol_L"] == "<33"
        else:
            assert Decimal(w["CPeptide_pmol_L"]) == _half_up(Decimal(v["c_peptide_ng_ml"]) * 331)
        glucose = _half_up(Decimal(v["fpg_mg_dl"]) / Decimal("18.0156"), 1)
        assert comma(w["Glucose_mmol_L"]) == glucose
        assert comma(w["Weight_kg"]) == Decimal(v["weight_kg"])
        assert w["Height_cm"] == v["height_cm"]
        assert w["BMI"].replace(",", ".") == v["bmi_kg_m2"]
    brands = {
        "Glucophage": "METFORMIN",
        "Diamicron MR": "GLICLAZIDE",
        "Amaryl": "GLIMEPIRIDE",
        "Januvia": "SITAGLIPTIN",
        "Lantus": "INS_GLARGINE",
        "NovoRapid": "INS_ASPART",
        "Actrapid": "INS_REGULAR",
        "Mixtard 30": "INS_PREMIX_70_30",
    }
    for m, n in zip(a["medications"], alt["medications"], strict=True):
        assert brands[n["Drug"]] == m["drug_code"]
        assert (n["Patient"], n["Line"], n["Dose"], n["Unit"], n["PerDay"]) == (
            m["subject_id"],
            m["line_no"],
            m["dose"],
            m["dose_unit"],
            m["times_per_day"],
        )
        assert dmy(n["Start"]) == iso(m["start_date"])
        assert (n["End"] and dmy(n["End"])) == (m["end_date"] and iso(m["end_date"]))
    for p, q in zip(a["procedures"], alt["procedures"], strict=True):
        assert [
            p[k]
            for k in (
                "subject_id",
                "procedure_id",
                "procedure_type",
                "route",
                "body_site",
                "product_id",
            )
        ] == [q[k] for k in ("Patient", "ProcID", "Kind", "Route", "Site", "Product")]
    for c, d in zip(a["cell_products"], alt["cell_products"], strict=True):
        assert comma(d["Dose1e6PerKg"]) == Decimal(c["dose_1e6_cells_per_kg"])
        assert (d["Product"], d["Harvest"], d["Viability"]) == (
            c["product_id"],
            c["harvest_procedure_id"],
            c["viability_pct"],
        )
    for e, f in zip(a["adverse_events"], alt["adverse_events"], strict=True):
        assert (e["ae_id"], e["term"], e["severity"], iso(e["onset_date"])) == (
            f["AE"],
            f["Term"],
            f["Severity"],
            dmy(f["Onset"]),
        )


# --- study B ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def b(out: Path) -> dict[str, list[dict]]:
    from openpyxl import load_workbook

    workbook = load_workbook(out / "study_b" / "patients.xlsx", read_only=True)
    assert workbook.sheetnames == ["Patients"]
    rows = list(workbook["Patients"].iter_rows(values_only=True))
    workbook.close()
    header = rows[0]  # read-only mode drops trailing empty cells: pad them back
    padded = [row + (None,) * (len(header) - len(row)) for row in rows[1:]]
    tables = {"patients": [dict(zip(header, row, strict=True)) for row in padded]}
    for name in STUDY_B_FILES:
        tables[name] = read(out / "study_b" / f"{name}.csv", ";", "utf-8-sig")
    return tables


def test_study_b_patients_sheet(b: dict) -> None:
    patients = b["patients"]
    assert [p["PatientNo"] for p in patients] == [f"B{i:03d}" for i in range(1, 119)]
    groups = [p["Group"] for p in patients]
    assert 0.4 <= groups.count("I") / len(groups) <= 0.6
    assert {p["Gender"] for p in patients} == {"Male", "Female"}
    statuses = [p["Status"] for p in patients]
    assert set(statuses) == {"Completed", "Withdrawn", "Active"}
    assert 1 <= statuses.count("Withdrawn") <= 10
    for p in patients:
        assert isinstance(p["EnrolmentDate"], dt.datetime)  # a real Excel date cell
        assert isinstance(p["YearOfBirth"], int) and isinstance(p["DiagnosisYear"], int)
        assert (p["EndDate"] is None) == (p["Status"] == "Active")
        assert p["EndReason"] == {"Completed": "Completed", "Active": None}.get(
            p["Status"], p["EndReason"]
        )
        if p["Status"] == "Withdrawn":
            assert p["EndReason"] in {"Consent withdrawn", "Lost to follow-up"}


def test_study_b_file_encodings(out: Path) -> None:
    assert (out / "study_b" / "labs.csv").read_bytes().startswith(b"\xef\xbb\xbfPatientNo;")
    assert (out / "study_b" / "procedures.csv").read_bytes().startswith(b"PatientNo;")


def test_study_b_labs_shape(b: dict) -> None:
    months = {0, 1, 2, 3, *range(6, 37, 3)}
    below = 0
    for lab in b["labs"]:
        assert int(lab["VisitMonth"]) in months and dmy(lab["SampleDate"]).year in range(2018, 2023)
        assert (lab["Test"], lab["Unit"]) in (("HBA1C", "%"), ("CPEP", "ng/mL"))
        if lab["Result"] == "<0,10":
            below += 1
        else:
            assert "," in lab["Result"] and "." not in lab["Result"]
    assert 1 <= below <= 80
    per_patient = by_subject(b["labs"], "PatientNo")
    assert sum(len({r["VisitMonth"] for r in rows}) < 15 for rows in per_patient.values()) > 10


def _b_means(b: dict, test: str) -> dict[tuple[str, str], float]:
    """Mean result by (group, 'pre' | 'follow-up'), follow-up meaning month 6 and later."""
    group = {p["PatientNo"]: p["Group"] for p in b["patients"]}
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for lab in b["labs"]:
        if lab["Test"] != test:
            continue
        value = 0.05 if lab["Result"].startswith("<") else float(comma(lab["Result"]))
        month = int(lab["VisitMonth"])
        if month == 0 or month >= 6:
            values[(group[lab["PatientNo"]], "pre" if month == 0 else "follow-up")].append(value)
    return {key: statistics.mean(v) for key, v in values.items()}


def test_study_b_group_one_better_than_before_and_than_group_two(b: dict) -> None:
    hba1c = _b_means(b, "HBA1C")
    assert 8.5 <= hba1c[("I", "pre")] <= 9.5 and 8.5 <= hba1c[("II", "pre")] <= 9.5
    assert hba1c[("I", "follow-up")] <= hba1c[("I", "pre")] - 1.2
    assert hba1c[("I", "follow-up")] <= hba1c[("II", "follow-up")] - 0.5
    assert hba1c[("II", "follow-up")] < hba1c[("II", "pre")]
    cpep = _b_means(b, "CPEP")
    assert cpep[("I", "follow-up")] >= 1.2 * cpep[("I", "pre")]
    assert cpep[("I", "follow-up")] > cpep[("II", "follow-up")]


def test_study_b_procedures_products_and_events_by_group(b: dict) -> None:
    group = {p["PatientNo"]: p["Group"] for p in b["patients"]}
    procedures = by_subject(b["procedures"], "PatientNo")
    assert set(procedures) == {no for no, g in group.items() if g == "I"}
    for no, (bmh, impl) in procedures.items():
        assert (bmh["ProcNo"], bmh["ProcCode"], bmh["ProductNo"]) == (f"{no}-1", "BMH", "")
        assert (impl["ProcNo"], impl["ProcCode"], impl["ProductNo"]) == (
            f"{no}-2",
            "IMPL",
            f"{no}-MNC",
        )
        assert 0 <= (dmy(impl["ProcDate"]) - dmy(bmh["ProcDate"])).days <= 1
    assert {p["ProductNo"] for p in b["products"]} == {f"{no}-MNC" for no in procedures}
    assert {p["CellType"] for p in b["products"]} == {"MNC"}
    events = b["adverse_events"]
    assert 1 <= len(events) <= 12
    for e in events:
        assert group[e["PatientNo"]] == "II" and e["Description"] == "Hypoglycaemia"
        assert e["Severity"] in ("Mild", "Moderate") and e["Serious"] == "No"


def test_study_b_group_two_insulin_is_intensified(b: dict) -> None:
    group = {p["PatientNo"]: p["Group"] for p in b["patients"]}
    brands = {"Lantus", "NovoMix 30", "Actrapid", "Glucophage", "Diamicron MR", "Amaryl", "Januvia"}
    increased = total = 0
    for no, rows in by_subject(b["medications"], "PatientNo").items():
        assert {m["Drug"] for m in rows} <= brands
        if group[no] != "II":
            continue
        insulin = [m for m in rows if m["Unit"] == "IU"]
        starts = sorted({dmy(m["StartDate"]) for m in insulin})

        def daily(day: dt.date, insulin: list[dict] = insulin) -> int:
            return sum(
                int(m["DailyDose"])
                for m in insulin
                if dmy(m["StartDate"]) <= day and (not m["EndDate"] or dmy(m["EndDate"]) >= day)
            )

        total += 1
        increased += daily(starts[-1]) > daily(starts[0])
    assert increased >= 0.8 * total


def test_study_a_redcap_holds_the_study_a_rows(out: Path, a: dict) -> None:
    """One raw export row per record (enrolment), visit event and repeat instance."""
    rows = read(out / "study_a_redcap" / "redcap_export.csv")
    forms = Counter(r["redcap_repeat_instrument"] or r["redcap_event_name"] for r in rows)
    assert forms["enrolment_arm_1"] == len(a["subjects"]) == 30
    assert sum(n for f, n in forms.items() if f.endswith("_arm_1")) - 30 == len(a["visits"])
    for form, table in [
        ("procedure", "procedures"),
        ("cell_product", "cell_products"),
        ("medication", "medications"),
        ("adverse_event", "adverse_events"),
    ]:
        assert forms[form] == len(a[table]), form
    medications = [r for r in rows if r["redcap_repeat_instrument"] == "medication"]
    assert [m["redcap_repeat_instance"] for m in medications] == [
        m["line_no"] for m in a["medications"]
    ]
    fields = read(out / "study_a_redcap" / "data_dictionary.csv")
    assert fields[0]["Variable / Field Name"] == "record_id"
    therapy = next(f for f in fields if f["Field Type"] == "checkbox")
    assert therapy["Choices, Calculations, OR Slider Labels"] == "1, Oral agents | 2, Insulin"
    ticked = {
        r["record_id"]: (r["baseline_therapy___1"], r["baseline_therapy___2"])
        for r in rows
        if r["redcap_event_name"] == "enrolment_arm_1" and not r["redcap_repeat_instrument"]
    }
    groups = {"ORAL": ("1", "0"), "INSULIN": ("0", "1"), "BOTH": ("1", "1")}
    assert ticked == {s["subject_id"]: groups[s["baseline_med_group"]] for s in a["subjects"]}


# --- study A hospital: the same values as a hospital lab system writes them -------------------


def _hospital(out: Path, name: str) -> list[dict[str, str]]:
    return read(out / "study_a_hospital" / f"{name}.csv", ";", "cp1252")


def test_hospital_files_are_windows_1252(out: Path) -> None:
    raw = (out / "study_a_hospital" / "patients.csv").read_bytes()
    assert b"\x96" in raw  # the en dash of the site name and strata, 0x96 in Windows-1252 only
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    events = (out / "study_a_hospital" / "adverse_events.csv").read_bytes()
    assert b"\xe9" in events and "é" in events.decode("cp1252")  # é is one byte, 0xE9
    header = (out / "study_a_hospital" / "visits.csv").read_bytes().splitlines()[0]
    assert header.endswith(b";BMI (kg/m\xb2)")


def test_hospital_participants_have_a_stratum_and_no_status(out: Path, a: dict) -> None:
    rows = _hospital(out, "patients")
    assert list(rows[0]) == [
        "Patient no.",
        "Site",
        "Sex",
        "Date of birth",
        "Consent date",
        "Arm",
        "Stratum",
        "T2DM diagnosed",
        "End date",
        "End reason",
    ]
    groups = {"ORAL": "Oral agents", "INSULIN": "Insulin", "BOTH": "Oral agents + insulin"}
    visits = by_subject(a["visits"])
    for s, h in zip(a["subjects"], rows, strict=True):
        assert (h["Patient no."], h["Sex"], h["Arm"]) == (s["subject_id"], s["sex"], s["arm"])
        assert dmy(h["Date of birth"]) == iso(s["birth_date"])
        assert dmy(h["End date"]) == iso(s["end_date"])
        assert h["Site"] == "VRI-HN – Unité de thérapie cellulaire"
        # the stratum is the randomisation stratum, recomputed here from the study A files
        bl = next(v for v in visits[s["subject_id"]] if v["visit"] == "BL")
        duration = (iso(s["consent_date"]) - iso(s["t2dm_diagnosis_date"])).days / 365.25
        good = Decimal(bl["bmi_kg_m2"]) < 23 and duration < 10
        subgroup = "BMI < 23 and T2DM < 10 y" if good else "other"
        assert h["Stratum"] == f"{groups[s['baseline_med_group']]} – {subgroup}"


def test_hospital_labs_are_long_and_convert_back_to_the_study_a_values(out: Path, a: dict) -> None:
    labs = _hospital(out, "labs")
    assert list(labs[0]) == ["Patient no.", "Sample date", "Visit", "Test", "Result", "Unit"]
    results = {(r["Patient no."], r["Visit"], r["Test"]): r for r in labs}
    assert len(results) == len(labs)
    units: Counter = Counter()
    expected_rows = 0
    for v in a["visits"]:
        key = (v["subject_id"], v["visit"])
        switched = iso(v["visit_date"]) >= dt.date(2019, 4, 1)
        hba1c = results.get((*key, "HBA1C"))
        if v["hba1c_pct"]:
            expected_rows += 1
            assert hba1c and dmy(hba1c["Sample date"]) == iso(v["visit_date"])
            if switched:  # IFCC, back to NGSP % by the master equation, 1 decimal
                assert hba1c["Unit"] == "mmol/mol"
                ngsp = Decimal("0.09148") * Decimal(hba1c["Result"]) + Decimal("2.152")
                assert _half_up(ngsp, 1) == Decimal(v["hba1c_pct"])
            else:
                assert (hba1c["Unit"], comma(hba1c["Result"])) == ("%", Decimal(v["hba1c_pct"]))
        else:
            assert hba1c is None
        cpep = results[(*key, "CPEP")]
        if switched:  # pmol/l back to ng/mL through 331 pmol per ng, 2 decimals
            assert cpep["Unit"] == "pmol/l"
            if v["c_peptide_ng_ml"] == "<0.10":
                assert cpep["Result"] == "<33"
            else:
                back = _half_up(Decimal(cpep["Result"]) / 331, 2)
                assert back == Decimal(v["c_peptide_ng_ml"])
        else:
            assert cpep["Unit"] == "ng/ml"
            assert cpep["Result"].replace(",", ".") == v["c_peptide_ng_ml"]
        glucose = results[(*key, "GLU-F")]
        assert (glucose["Result"], glucose["Unit"]) == (v["fpg_mg_dl"], "mg/dl")
        units.update([hba1c and hba1c["Unit"], cpep["Unit"]])
        expected_rows += 2
    assert len(labs) == expected_rows
    assert min(units["%"], units["mmol/mol"], units["ng/ml"], units["pmol/l"]) >= 20
    assert {r["Result"] for r in labs if r["Result"].startswith("<")} == {"<0,10", "<33"}


def test_hospital_medications_have_text_frequencies_and_no_line_numbers(out: Path, a: dict) -> None:
    meds = _hospital(out, "medications")
    assert list(meds[0]) == ["Patient no.", "Drug", "Dose", "Unit", "Frequency", "Start", "Stop"]
    per_day = {
        "1x/day": 1,
        "once daily": 1,
        "OD": 1,
        "2x/day": 2,
        "BID": 2,
        "twice daily": 2,
        "3x/day": 3,
        "TID": 3,
        "three times daily": 3,
    }
    assert {m["Frequency"] for m in meds} == set(per_day)
    keys = [(m["Patient no."], m["Drug"], m["Start"]) for m in meds]
    assert len(set(keys)) == len(keys)  # drug + start date tell a participant's lines apart
    for m, n in zip(a["medications"], meds, strict=True):
        assert (n["Patient no."], n["Dose"], n["Unit"]) == (
            m["subject_id"],
            m["dose"],
            m["dose_unit"],
        )
        assert per_day[n["Frequency"]] == int(m["times_per_day"])
        assert dmy(n["Start"]) == iso(m["start_date"])
        assert (n["Stop"] and dmy(n["Stop"])) == (m["end_date"] and iso(m["end_date"]))


def test_hospital_procedures_hold_the_products_on_the_infusion_rows(out: Path, a: dict) -> None:
    rows = _hospital(out, "procedures")
    products = {c["product_id"]: c for c in a["cell_products"]}
    routes = {"IV": "Intravenous", "IA": "Pancreatic artery"}
    for p, h in zip(a["procedures"], rows, strict=True):
        assert (h["Patient no."], h["Procedure no."]) == (p["subject_id"], p["procedure_id"])
        assert dmy(h["Date"]) == iso(p["procedure_date"])
        if p["procedure_type"] == "HARVEST":
            assert h["Procedure"] == "Bone marrow harvest"
            assert h["Site / route"] == "Posterior iliac crest"
            assert h["Product no."] == h["Cell dose"] == h["Dose unit"] == h["Viability (%)"] == ""
            continue
        product = products[p["product_id"]]
        assert (h["Procedure"], h["Site / route"]) == ("MSC infusion", routes[p["route"]])
        assert (h["Product no."], h["Dose unit"]) == (p["product_id"], "10^6/kg")
        assert comma(h["Cell dose"]) == Decimal(product["dose_1e6_cells_per_kg"])
        assert h["Viability (%)"] == product["viability_pct"]


def test_hospital_adverse_events_are_the_study_a_events(out: Path, a: dict) -> None:
    terms = {
        "Fever": "Fièvre",
        "Headache": "Céphalée",
        "Nausea": "Nausée",
        "Puncture site pain": "Douleur au point de ponction",
        "Hematoma at puncture site": "Hématome au point de ponction",
    }
    for e, h in zip(a["adverse_events"], _hospital(out, "adverse_events"), strict=True):
        assert (h["AE no."], h["Event"], dmy(h["Onset"])) == (
            e["ae_id"],
            terms[e["term"]],
            iso(e["onset_date"]),
        )
        assert (h["Severity"].upper(), h["Serious"], h["Outcome"].upper()) == (
            e["severity"],
            "No",
            e["outcome"],
        )
