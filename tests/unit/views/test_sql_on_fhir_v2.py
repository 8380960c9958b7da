"""The official SQL-on-FHIR v2 conformance tests, one pytest case per suite test.

The suite's JSON files are in ``sql_on_fhir_v2/`` (source, commit and licence in its README).
A test passes as the suite's own runner decides: the rows equal the expected rows as a
multiset (row order is not part of the contract), ``expectColumns`` equal the output
columns in order, and ``expectError`` tests raise a ``ViewDefinitionError`` when the view is
loaded or run. Tests that cannot pass are listed in ``KNOWN_FAILURES`` with the reason and
reported as xfail (strict: one that starts passing fails the run, so the list stays true).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.views import ViewDefinitionError, parse_view, run_view
from fhir_adapter.views._output import json_text

SUITE = Path(__file__).parent / "sql_on_fhir_v2"

# "file.json::title" -> why it cannot pass. Keep docs/views.md in step.
KNOWN_FAILURES: dict[str, str] = {}


def _cases() -> list[Any]:
    cases = []
    for file in sorted(SUITE.glob("*.json")):
        suite = json.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
        for test in suite["tests"]:
            case_id = f"{file.name}::{test['title']}"
            marks = []
            if case_id in KNOWN_FAILURES:
                marks.append(pytest.mark.xfail(reason=KNOWN_FAILURES[case_id], strict=True))
            cases.append(pytest.param(suite["resources"], test, id=case_id, marks=marks))
    return cases


def _canonical(rows: list[dict[str, Any]]) -> list[str]:
    """Rows as sorted JSON texts: numbers compared by value (0.95 == Decimal('0.95'))."""
    return sorted(json.dumps(json.loads(json_text(row)), sort_keys=True) for row in rows)


@pytest.mark.parametrize(("resources", "test"), _cases())
def test_conformance(resources: list[dict[str, Any]], test: dict[str, Any]) -> None:
    if test.get("expectError"):
        with pytest.raises(ViewDefinitionError):
            view = parse_view(test["view"])
            list(run_view(view, resources))
        return
    view = parse_view(test["view"])
    rows = list(run_view(view, resources))
    if "expectColumns" in test:
        assert list(view.column_names) == test["expectColumns"]
    if "expectCount" in test:
        assert len(rows) == test["expectCount"]
    if "expect" in test:
        assert _canonical(rows) == _canonical(test["expect"])
