"""Which catalogue analyte and unit a header (wide layout) or a test code (long layout) names.

Each rule lists the words that name an analyte and the header words that name each unit.
A guess is kept only when the catalogue has the analyte; a unit the analyte has no form for
gets ``convert_to`` its only form (C-peptide in pmol/L → ng/mL, as the catalogue asks).
Glucose with no word saying the sample was fasting stays TODO: the catalogue's only glucose
is fasting glucose, and whether the samples were fasting is the study's to say.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from fhir_adapter.mapping.spec import CodeCatalogue


@dataclass(frozen=True)
class AnalyteRule:
    analyte: str | None  # None: the words name something the draft must ask about
    words: tuple[str, ...]  # squeezed (lower case, letters and digits only)
    units: dict[str, tuple[str, ...]] = field(default_factory=dict)  # UCUM → header words
    by_value: Callable[[float], str] | None = None  # unit from the median when the header is silent
    fixed_unit: str | None = None  # the unit by definition (BMI)
    fasting: str | None = None  # the analyte to use when the header says fasting
    ask: str | None = None  # why analyte is None


RULES = (
    AnalyteRule(
        "hba1c",
        ("hba1c", "hbalc", "a1c", "glycatedhaemoglobin", "glycatedhemoglobin", "ghb"),
        {"mmol/mol": ("mmolmol", "ifcc"), "%": ("pct", "percent", "ngsp", "%")},
        # NGSP % lies near 4-15 and IFCC mmol/mol near 20-140: the two never overlap.
        by_value=lambda median: "%" if median < 18 else "mmol/mol",
    ),
    AnalyteRule(
        "c_peptide",
        ("cpeptide", "cpep"),
        {"ng/mL": ("ngml",), "pmol/L": ("pmoll", "pmol"), "nmol/L": ("nmoll", "nmol")},
        fasting="c_peptide_fasting",
    ),
    AnalyteRule(
        "glucose_fasting",
        ("fpg", "fbg", "fbs", "fastingglucose", "fastingplasmaglucose", "fastingbloodglucose"),
        {"mg/dL": ("mgdl",), "mmol/L": ("mmoll", "mmol")},
    ),
    AnalyteRule(
        None,
        ("glucose", "glu", "bloodsugar"),
        {"mg/dL": ("mgdl",), "mmol/L": ("mmoll", "mmol")},
        ask="glucose_fasting if the samples were fasting (the catalogue has no other glucose)",
    ),
    AnalyteRule("body_weight", ("weight", "bodyweight", "wt"), {"kg": ("kg",)}),
    AnalyteRule("body_height", ("height", "bodyheight", "ht"), {"cm": ("cm",)}),
    AnalyteRule("bmi", ("bmi", "bodymassindex"), {"kg/m2": ("kgm2",)}, fixed_unit="kg/m2"),
)


def squeeze(text: str) -> str:
    return re.sub(r"[^a-z0-9%]", "", text.lower())


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[^a-z0-9]+", text.lower()) if t}


def _names(rule: AnalyteRule, text: str) -> bool:
    squeezed, tokens = squeeze(text), _tokens(text)
    # Short words ('wt', 'ht', 'glu') count only as whole words: 'weight' holds 'ht'.
    return any(w in tokens if len(w) <= 3 else w in squeezed for w in rule.words)


def find_rule(text: str) -> AnalyteRule | None:
    """The first rule whose words the header or code names."""
    for rule in RULES:
        if _names(rule, text):
            return rule
    return None


@dataclass(frozen=True)
class AnalyteGuess:
    """A wide column's analyte and unit; None where the draft must ask (with the notes)."""

    analyte: str | None
    unit: str | None
    convert_to: str | None = None
    analyte_note: str = ""
    unit_notes: tuple[str, ...] = ()


def analyte_for(rule: AnalyteRule, text: str, codes: CodeCatalogue) -> tuple[str | None, str]:
    """The catalogue analyte a header or code names, or None and what to ask."""
    squeezed = squeeze(text)
    analyte = rule.analyte
    if rule.fasting and "fasting" in squeezed:
        analyte = rule.fasting
    if analyte is None:
        return None, rule.ask or "name the catalogue analyte"
    if analyte not in codes.analytes:
        return None, f"'{analyte}' is not in the included catalogue: add it or pick another"
    if rule.fasting and analyte != rule.fasting:
        return analyte, f"{analyte}: nothing says fasting (else {rule.fasting})"
    return analyte, ""


def guess_column(header: str, median: float | None, codes: CodeCatalogue) -> AnalyteGuess | None:
    """What a numeric wide column measures, or None when its header names no analyte."""
    rule = find_rule(header)
    if rule is None:
        return None
    analyte, note = analyte_for(rule, header, codes)
    notes: list[str] = []
    squeezed = squeeze(header)
    unit = next((u for u, words in rule.units.items() if any(w in squeezed for w in words)), None)
    if unit is None and rule.fixed_unit:
        unit = rule.fixed_unit
    if unit is None and rule.by_value is not None and median is not None:
        unit = rule.by_value(median)
        notes.append(f"unit from the values (median {median:g}), not the header")
    if unit is None:
        notes.append("the header names no unit: give the UCUM unit the site reports")
    convert_to = None
    if analyte is not None and unit is not None:
        forms = list(codes.analytes[analyte].forms)
        if unit not in forms:
            if len(forms) == 1:
                convert_to = forms[0]
                notes.append(f"the catalogue has {analyte} in {forms[0]} only: converted")
            else:
                notes.append(f"no {analyte} form in {unit}: convert_to one of {', '.join(forms)}")
    return AnalyteGuess(analyte, unit, convert_to, note, tuple(notes))
