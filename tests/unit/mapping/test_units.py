from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_adapter.mapping.units import UnitError, check_ucum, resolve

HBA1C = {"mmol/mol->%": "ngsp_from_ifcc", "%->mmol/mol": "ifcc_from_ngsp"}


def test_hba1c_7_percent_is_53_mmol_per_mol_by_the_master_equation():
    # Reference value: NGSP 7.0 % = IFCC 53 mmol/mol (ngsp.org/ifcc.asp).
    assert resolve("%", "mmol/mol", equations=HBA1C, decimals=0)(Decimal("7.0")) == 53
    assert resolve("mmol/mol", "%", equations=HBA1C, decimals=1)(Decimal("53")) == Decimal("7.0")


def test_c_peptide_1_ng_per_ml_is_about_0_331_nmol_per_l():
    convert = resolve("ng/mL", "nmol/L", molar_mass=3020, decimals=3)
    assert convert(Decimal("1")) == Decimal("0.331")
    assert resolve("ng/mL", "pmol/L", molar_mass=3020, decimals=0)(Decimal("1")) == 331


def test_glucose_mass_to_molar():
    assert resolve("mg/dL", "mmol/L", molar_mass=180.156, decimals=2)(Decimal(100)) == Decimal(
        "5.55"
    )
    assert resolve("mmol/L", "mg/dL", molar_mass=180.156, decimals=0)(Decimal("5.55")) == 100


def test_same_dimension_scaling_needs_no_molar_mass():
    assert resolve("pmol/L", "nmol/L", decimals=3)(Decimal(331)) == Decimal("0.331")
    assert resolve("g", "kg", decimals=3)(Decimal(1500)) == Decimal("1.500")


@pytest.mark.parametrize(("source", "target"), [("kg", "mmol/L"), ("ng/mL", "nmol/L")])
def test_impossible_conversions_are_refused(source, target):
    with pytest.raises(UnitError, match="no conversion"):
        resolve(source, target, decimals=2)


@pytest.mark.parametrize("code", ["%", "mmol/mol", "ng/mL", "pmol/L", "kg/m2", "[IU]", "10*6/kg"])
def test_ucum_codes_used_by_the_mappings_are_valid(code):
    check_ucum(code)


@pytest.mark.parametrize("code", ["IU", "mg/dl/", "percent", "mcg"])
def test_non_ucum_codes_are_rejected(code):
    with pytest.raises(UnitError):
        check_ucum(code)


@given(st.decimals(min_value=Decimal("3.0"), max_value=Decimal("20.0"), places=1))
def test_hba1c_round_trip_stays_within_rounding(value):
    to_ifcc = resolve("%", "mmol/mol", equations=HBA1C, decimals=4)
    back = resolve("mmol/mol", "%", equations=HBA1C, decimals=4)
    assert abs(back(to_ifcc(value)) - value) < Decimal("0.001")


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20"), places=2))
def test_c_peptide_round_trip(value):
    there = resolve("ng/mL", "pmol/L", molar_mass=3020, decimals=6)
    back = resolve("pmol/L", "ng/mL", molar_mass=3020, decimals=6)
    assert abs(back(there(value)) - value) < Decimal("0.0001")
