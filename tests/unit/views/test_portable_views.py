"""The shipped views stay within what other ViewDefinition runners accept (docs/views.md,
"Pathling on Spark"): key columns typed ``string`` (Pathling refuses ``id`` for
getResourceKey()/getReferenceKey(): "has type STRING, expected ID"), and FHIRPath functions
that Pathling 9.4.0 does not support (``iif``, ``select``) only where docs/views.md says so."""

from __future__ import annotations

import re

import pytest

from fhir_adapter.views import load_view

from .conftest import VIEWS

# Columns documented as not running on Pathling 9.4.0 (docs/views.md), and why.
NOT_ON_PATHLING = {("medications", "daily_total_dose")}  # iif() and select()
UNSUPPORTED_ON_PATHLING = re.compile(r"\b(iif|select)\(")


@pytest.mark.parametrize("view", sorted(p.stem for p in VIEWS.glob("*.json")))
def test_key_columns_are_typed_string(view: str) -> None:
    keys = [c for c in load_view(VIEWS / f"{view}.json").columns if "Key(" in c.path.expression]
    assert keys, "every shipped view has at least its own key"
    assert {c.type for c in keys} == {"string"}, [(c.name, c.type) for c in keys]


@pytest.mark.parametrize("view", sorted(p.stem for p in VIEWS.glob("*.json")))
def test_functions_pathling_lacks_only_where_documented(view: str) -> None:
    for column in load_view(VIEWS / f"{view}.json").columns:
        if UNSUPPORTED_ON_PATHLING.search(column.path.expression):
            assert (view, column.name) in NOT_ON_PATHLING, (view, column.name)
