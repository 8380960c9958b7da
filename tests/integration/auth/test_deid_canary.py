"""The de-identification canary test (issue 12, item 3) end to end against the secure local
server: SMART Backend Services with a real authorization server, the CLI as a user runs it.

Every source column of a study copy carries canary values (``make_canary_study``,
tests/unit/deid/conftest.py: identifiers, codes, free text, unread columns, file names).
The CLI then runs, at debug log level, ``sync --deidentify`` twice with ``--auth smart`` and
``map --deidentify`` once, in a working folder of its own (so its default ledger and every
file it writes land there). Then:

(a) nothing the server holds of the study, (b) no byte of the ledger, (c) nothing the CLI
printed or logged (nor the server's log) and (d) no file under the working folder (map
output, ``.fhir-adapter/``; no rejects are written) contains a canary or an original
resource id or identifier value;
(e) ``registry-dates-shifted``: all of a participant's source dates arrive moved by one
offset, so every interval is kept exactly; ``safe-harbor``: only years arrive, the source's;
(f) the second sync writes nothing and the server holds version 1 of every resource.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fhir_adapter.deid import (
    KEY_ENV,
    Deidentifier,
    catalogue_vocabulary,
    key_from_secret,
    resolve_profile,
)
from fhir_adapter.fhir.keys import ResourceKey

from ...unit.deid.conftest import MARK, ROLES, CanaryStudy, make_canary_study
from .conftest import REPO, SecureServer

# A few participants who between them have rows in every source file.
SUBJECTS = {"study_a": {"A-001", "A-002", "A-005"}, "study_b": {"B008", "B019", "B086"}}
BIRTH_COLUMNS = {"birth_date", "YearOfBirth"}  # a year on the server in every profile
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$")
NOT_EVENTS = {"meta", "birthDate", "dateAsserted"}  # dateAsserted: the study's cut-off
NOT_DATES = {"id", "code", "value", "system", "display", "reference", "url", "version"}


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, debug logging on, key only from the file given."""
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "fhir_adapter.cli", "-vv", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _originals(study: CanaryStudy) -> set[str]:
    """The adapter's own ids (unkeyed hashes, no canary in them) and identifier values."""
    values = {r["id"] for p in study.participants for r in p.resources}
    for participant in study.participants:
        for resource in participant.resources:
            identifier = resource.get("identifier", [])
            for item in identifier if isinstance(identifier, list) else [identifier]:
                values.add(item["value"])
    return values


def _assert_clean(where: object, data: str | bytes, originals: set[str]) -> None:
    """No canary (in any case) and none of ``originals`` in ``data``; the failure names a
    few of what was found, not the whole text."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    found = sorted({m.group(0) for m in re.finditer(f"{MARK}\\w*", text, re.IGNORECASE)})
    found = found[:5] + sorted(v for v in originals if v in text)[:5]
    if found:
        raise AssertionError(f"{where} holds {found}")


def _expected(study: CanaryStudy, profile: str, key: bytes) -> tuple[str, dict[str, list[str]]]:
    """With the same key and profile: the study's de-identified ResearchStudy id and every
    participant's de-identified resource ids (``Type/id``), keyed by source subject number."""
    deid = Deidentifier(
        resolve_profile(profile),
        key_from_secret(key),
        vocabulary=catalogue_vocabulary(study.mapping.spec),
        as_of=dt.date.today(),
    )
    (research_study,) = deid.study(study.study)
    by_subject: dict[str, list[str]] = {}
    for mapped in study.participants:
        (patient,) = [r for r in mapped.resources if r["resourceType"] == "Patient"]
        subject = patient["identifier"][0]["value"]  # the canary subject cell, e.g. CNRYQA-001
        keys = [str(ResourceKey.of(r)) for r in deid.participant(mapped.resources)]
        by_subject[subject] = keys
    return str(ResourceKey.of(research_study)), by_subject


def _fetch(server: SecureServer, keys: list[str]) -> tuple[dict[str, dict[str, Any]], str]:
    """What the server holds of ``keys`` (``Type/id`` → resource), and the raw text of every
    searchset page it answered with (fresh, not cached)."""
    by_type: dict[str, list[str]] = {}
    for key in keys:
        kind, _, ident = key.partition("/")
        by_type.setdefault(kind, []).append(ident)
    held: dict[str, dict[str, Any]] = {}
    pages: list[str] = []
    with server.client() as admin:
        for kind, ids in by_type.items():
            for start in range(0, len(ids), 50):
                params = {"_id": ",".join(ids[start : start + 50]), "_count": "100"}
                for page in admin.search_pages(kind, params, no_cache=True):
                    pages.append(json.dumps(page, ensure_ascii=False))
                    for entry in page.get("entry", []):
                        resource = entry["resource"]
                        held[f"{resource['resourceType']}/{resource['id']}"] = resource
    return held, "\n".join(pages)


def _event_dates(node: Any, key: str = "") -> Iterator[str]:
    """Every date or dateTime of a participant's resource, but its birth date, the study's
    cut-off and the server's own ``meta``."""
    if key in NOT_EVENTS or key in NOT_DATES:  # a code may look like a year (RxNorm 6809)
        return
    if isinstance(node, dict):
        for child, value in node.items():
            yield from _event_dates(value, child)
    elif isinstance(node, list):
        for value in node:
            yield from _event_dates(value, key)
    elif isinstance(node, str) and DATE.match(node):
        yield node


def _source_dates(study: CanaryStudy) -> dict[str, tuple[set[dt.date], set[int]]]:
    """Per subject cell: the full dates and the year-only values in its source rows, read
    from the files the CLI read (every ``date`` column of ROLES but the birth date)."""
    delimiter, encoding = (";", "utf-8-sig") if study.name == "study_b" else (",", "utf-8")
    subject_columns = {"subject_id", "PatientNo"}
    out: dict[str, tuple[set[dt.date], set[int]]] = {}
    for file, roles in ROLES[study.name].items():
        path = study.data_dir / f"cnryf-{file}"
        if file.endswith(".xlsx"):
            sheet = openpyxl.load_workbook(path).active
            assert sheet is not None
            rows_ = list(sheet.iter_rows(values_only=True))
            rows = [dict(zip(map(str, rows_[0]), r, strict=True)) for r in rows_[1:]]
        else:
            with path.open(encoding=encoding, newline="") as handle:
                rows = list(csv.DictReader(handle, delimiter=delimiter))
        assert rows, f"{file}: the chosen subjects must have rows in every file"
        (subject_column,) = subject_columns & set(roles)
        for row in rows:
            full, years = out.setdefault(str(row[subject_column]), (set(), set()))
            for column, role in roles.items():
                if role != "date" or column in BIRTH_COLUMNS or row[column] in (None, ""):
                    continue
                value = row[column]
                if isinstance(value, dt.datetime):
                    full.add(value.date())
                elif isinstance(value, int) or re.fullmatch(r"\d{4}", str(value)):
                    years.add(int(value))
                else:
                    fmt = "%d/%m/%Y" if "/" in str(value) else "%Y-%m-%d"
                    full.add(dt.datetime.strptime(str(value), fmt).date())
    return out


def _check_dates(profile: str, source: tuple[set[dt.date], set[int]], held: list[str]) -> None:
    full, years = source
    assert full, "every participant has dated events"
    if profile == "safe-harbor":
        # only years, and Provenance.recorded (an instant FHIR requires complete) on 1 January
        assert all(len(v) == 4 or v.endswith("-01-01T00:00:00Z") for v in held), held
        assert {int(v[:4]) for v in held} == {d.year for d in full} | years
        return
    server_full = {dt.date.fromisoformat(v[:10]) for v in held if len(v) >= 10}
    offset = min(server_full) - min(full)
    assert 1 <= abs(offset.days) <= 182, offset
    # one offset for all of them: every interval between two events is kept exactly
    assert server_full == {d + offset for d in full}
    assert {int(v) for v in held if len(v) == 4} == years  # a 182-day window keeps years


CASES = [
    ("study_a", "registry-dates-shifted"),
    ("study_a", "safe-harbor"),
    ("study_b", "registry-dates-shifted"),
    ("study_b", "safe-harbor"),
]


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_no_canary_leaves_and_intervals_are_kept(
    secure_server: SecureServer, tmp_path: Path, name: str, profile: str
) -> None:
    study = make_canary_study(
        name,
        tmp_path / "study",
        subjects=SUBJECTS[name],
        study_key=f"deid-canary-{uuid.uuid4().hex[:10]}",
    )
    assert len(study.participants) == len(SUBJECTS[name])
    originals = _originals(study)
    key_file = tmp_path / "registry.key"
    key_file.write_text(secrets.token_hex(32))
    work = tmp_path / "work"
    work.mkdir()
    log_path = secure_server.handle.log_path
    log_start = log_path.stat().st_size if log_path.exists() else 0

    source = ["--mapping", str(study.mapping_path), "--data", str(study.data_dir)]
    deid = ["--deidentify", profile, "--deid-key-file", str(key_file)]
    smart = secure_server.smart_args("full", "full")
    sync = [*source, "--server", secure_server.url, *smart, *deid, "--json"]
    first = _cli(work, "sync", *sync)
    assert first.returncode == 0, first.stderr[-3000:]
    again = _cli(work, "sync", *sync)
    assert again.returncode == 0, again.stderr[-3000:]
    mapped = _cli(work, "map", *source, *deid, "--out", str(work / "out"), "--json")
    assert mapped.returncode == 0, mapped.stderr[-3000:]

    study_key, by_subject = _expected(study, profile, key_file.read_bytes())
    expected = {study_key, *(k for keys in by_subject.values() for k in keys)}
    totals = json.loads(first.stdout)["totals"]
    assert totals["created"] == len(expected) and totals["failed"] == 0, totals

    # (a) the server: every resource of the study, as the de-identified ids name them
    held, raw = _fetch(secure_server, sorted(expected))
    assert set(held) == expected
    _assert_clean("the server", raw, originals)
    with secure_server.client() as admin:  # the participants, found from the study alone
        study_ref = {"study": study_key, "_count": "100"}
        subjects = admin.search("ResearchSubject", study_ref, no_cache=True)
        assert {s["individual"]["reference"] for s in subjects} == {
            k for keys in by_subject.values() for k in keys if k.startswith("Patient/")
        }
    # nothing under an original id
    identified = [*study.study, *(r for p in study.participants for r in p.resources)]
    assert not _fetch(secure_server, [str(ResourceKey.of(r)) for r in identified])[0]

    # (b) the ledger, byte for byte; it lists exactly what the server holds
    ledgers = list((work / ".fhir-adapter" / "ledgers").glob("*.sqlite"))
    assert len(ledgers) == 1 and "-deid-" in ledgers[0].name
    with sqlite3.connect(ledgers[0]) as db:
        bodies = [json.loads(row[0]) for row in db.execute("SELECT body FROM resources")]
    assert {str(ResourceKey.of(b)) for b in bodies} == expected
    for path in ledgers[0].parent.iterdir():  # with any journal beside it
        _assert_clean(path, path.read_bytes(), originals)

    # (c) everything printed and logged, at debug level, and the server's log meanwhile
    assert "DEBUG fhir_adapter.client" in first.stderr  # the debug log was on
    for run in (first, again, mapped):
        _assert_clean(f"the output of {run.args[4]}", run.stdout + run.stderr, originals)
    if log_path.exists():
        with log_path.open("rb") as handle:
            handle.seek(log_start)
            _assert_clean("the server's log", handle.read(), originals)

    # (d) every file the runs wrote: map output, ledgers, .fhir-adapter/; no rejects, no index
    written = [p for p in work.rglob("*") if p.is_file()]
    assert any(p.suffix == ".ndjson" for p in written)
    assert any("bundles" in p.parts for p in written)
    assert not [p for p in work.rglob("*") if "rejects" in p.name or p.name == "index.csv"]
    for path in written:
        name = path.relative_to(work)  # the file's name and contents
        _assert_clean(name, f"{name}\n".encode() + path.read_bytes(), originals)

    # (e) dates: per participant, its source rows against what the server holds
    sources = _source_dates(study)
    assert set(sources) == set(by_subject)
    for subject, keys in by_subject.items():
        dates = [d for k in keys for d in _event_dates(held[k])]
        _check_dates(profile, sources[subject], dates)
        birth = held[next(k for k in keys if k.startswith("Patient/"))].get("birthDate")
        assert birth is None or re.fullmatch(r"\d{4}", birth)

    # (f) the second sync wrote nothing; nothing was ever updated on the server
    totals = json.loads(again.stdout)["totals"]
    written_again = sum(totals[k] for k in ("created", "updated", "deleted", "marked"))
    assert written_again == 0 and totals["unchanged"] == len(expected), totals
    assert {r["meta"]["versionId"] for r in held.values()} == {"1"}
