"""The pull's folder: the lab table, the mapping snippet that reads it, problems, summary.

Layout (``OUT``, 0700; files 0600, each written whole under a temporary name first)::

    ehr_labs.csv          subject,date,visit,analyte,value,unit,window,nearest_visit,day,
                          source_loinc,source_unit: one row per value, in the mapping's units
    mapping-snippet.yaml  the table and the long observations section to add to the mapping
    problems.csv          row,subject,rule,analyte,date,message: what was left out and why
    summary.json          counts and problems by MRN-file row (no values, MRNs or subject ids)

The table and problems hold patient data (study ids, dates, values); nothing in the folder
holds an MRN.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from fhir_adapter._private import private_dir
from fhir_adapter.ehr._pull import EhrPullResult
from fhir_adapter.ehr._targets import LabTargets
from fhir_adapter.errors import ConfigError

LABS = "ehr_labs.csv"
SNIPPET = "mapping-snippet.yaml"
PROBLEMS = "problems.csv"
SUMMARY = "summary.json"
FILES = (LABS, SNIPPET, PROBLEMS, SUMMARY)
TABLE = "ehr_labs"
COLUMNS = (
    "subject", "date", "visit", "analyte", "value", "unit",
    "window", "nearest_visit", "day", "source_loinc", "source_unit",
)  # fmt: skip


class EhrFolderError(ConfigError):
    """``--out`` holds files an EHR pull did not write."""


def prepare_folder(out: Path) -> Path:
    """``out`` created owner-only; refused when it holds anything but an earlier pull's files."""
    if out.exists() and not out.is_dir():
        raise EhrFolderError(f"{out}: not a folder; choose a new --out folder")
    if out.is_dir():
        foreign = [p.name for p in out.iterdir() if p.name not in FILES]
        if foreign:
            raise EhrFolderError(
                f"{out}: holds files an EHR pull did not write; choose an empty or new --out folder"
            )
    return private_dir(out)


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[str]]:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(name).replace(path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _csv(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    with _atomic(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def snippet_text(targets: LabTargets, mapping_name: str) -> str:
    """The YAML to add to ``mapping_name``: the table and a long observations section that
    reads it unchanged. Strings are JSON-quoted (valid YAML flow scalars) so '%' stays text."""
    q = json.dumps
    analytes = ", ".join(f"{key}: {key}" for key in sorted(targets.by_key))
    convert = ", ".join(f"{key}: {{to: {q(t.unit)}}}" for key, t in sorted(targets.by_key.items()))
    return (
        f"# Lab values from the hospital record (fhir-adapter ehr-pull), in the units of\n"
        f"# {mapping_name}. To map them with the study: copy {LABS} into the study's data\n"
        f"# folder, add the table below under 'tables:' and the section to the list under\n"
        f"# 'observations:' (docs/ehr-pull.md). 'convert' restates the units the values are\n"
        f"# in; for a form that asserts a method (HbA1c by IFCC) it has map attach the value.\n"
        f"tables:\n"
        f"  {TABLE}:\n"
        f"    file: {LABS}\n"
        f'    delimiter: ","\n'
        f"    encoding: utf-8\n"
        f'    decimal: "."\n'
        f'    date_formats: ["%Y-%m-%d"]\n'
        f'    missing: [""]\n'
        f'    comparators: ["<", "<=", ">", ">="]\n'
        f"observations:\n"
        f"  - layout: long\n"
        f"    table: {TABLE}\n"
        f"    subject: subject\n"
        f"    date: date\n"
        f"    visit: visit\n"
        f"    analyte: {{column: analyte, map: {{{analytes}}}}}\n"
        f"    value: value\n"
        f"    unit: unit\n"
        f"    convert: {{{convert}}}\n"
    )


def write_outputs(out: Path, result: EhrPullResult, mapping_name: str) -> dict[str, Any]:
    """Write the four files into ``out`` (prepared by ``prepare_folder``); the summary."""
    labs = [
        [
            r.subject,
            r.value.date.isoformat(),
            r.visit,
            r.value.analyte,
            r.value.text,
            r.value.unit,
            r.placement.window,
            r.placement.visit or "",
            "" if r.placement.day is None else str(r.placement.day),
            r.value.loinc,
            r.value.source_unit,
        ]
        for r in result.rows
    ]
    _csv(out / LABS, COLUMNS, labs)
    problems = [
        [str(p.row or ""), p.subject or "", p.rule, p.analyte or "", p.date or "", p.message]
        for p in result.problems
    ]
    _csv(out / PROBLEMS, ("row", "subject", "rule", "analyte", "date", "message"), problems)
    with _atomic(out / SNIPPET) as handle:
        handle.write(snippet_text(result.targets, mapping_name))
    summary = {
        **result.as_dict(),
        "mapping": mapping_name,
        "out": str(out),
        "files": [str(out / name) for name in FILES],
    }
    buffer = io.StringIO()
    json.dump(summary, buffer, indent=2, sort_keys=True)
    with _atomic(out / SUMMARY) as handle:
        handle.write(buffer.getvalue() + "\n")
    return summary
