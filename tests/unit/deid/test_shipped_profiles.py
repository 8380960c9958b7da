"""The profile files shipped under mappings/deidentify/ are the built-in profiles, to the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhir_adapter.deid._profile import BUILTIN_PROFILES, builtin_profile, load_profile

SHIPPED = Path(__file__).resolve().parents[3] / "mappings" / "deidentify"


@pytest.mark.parametrize("name", sorted(BUILTIN_PROFILES))
def test_each_built_in_profile_ships_as_a_file_equal_to_it(name):
    assert load_profile(SHIPPED / f"{name}.yaml") == builtin_profile(name)


def test_no_other_file_is_shipped():
    assert {p.stem for p in SHIPPED.iterdir()} == set(BUILTIN_PROFILES)
