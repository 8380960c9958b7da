"""t quantiles against published tables; summaries and Welch intervals computed by hand."""

from __future__ import annotations

import math

import pytest

from fhir_adapter.report._stats import summarize, t_cdf, t_quantile, welch


@pytest.mark.parametrize(
    ("df", "expected"),
    # Two-sided 95 % critical values of Student's t (any statistics table).
    [(1, 12.7062), (2, 4.3027), (5, 2.5706), (10, 2.2281), (29, 2.0452), (100, 1.9840)],
)
def test_t_quantile_matches_the_tables(df: int, expected: float) -> None:
    assert round(t_quantile(0.975, df), 4) == expected


def test_t_quantile_is_symmetric_and_inverts_the_cdf() -> None:
    assert t_quantile(0.025, 7.5) == pytest.approx(-t_quantile(0.975, 7.5))
    assert t_cdf(t_quantile(0.9, 3.3), 3.3) == pytest.approx(0.9, abs=1e-10)
    assert t_quantile(0.975, 1e7) == pytest.approx(1.959964, abs=1e-5)


def test_summary_of_four_values() -> None:
    s = summarize([1, 2, 3, 4])
    sd = math.sqrt(5 / 3)  # squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, over n - 1 = 3
    assert (s.n, s.mean, s.sd) == (4, 2.5, pytest.approx(sd))
    half = 3.182446 * sd / 2  # t(0.975, 3) = 3.1824
    assert s.low == pytest.approx(2.5 - half, abs=1e-5)
    assert s.high == pytest.approx(2.5 + half, abs=1e-5)


def test_summary_of_one_value_or_none_has_no_interval() -> None:
    assert summarize([7.0]).as_dict() == {
        "n": 1,
        "mean": 7.0,
        "sd": None,
        "low": None,
        "high": None,
    }
    assert summarize([]).mean is None


def test_welch_interval_by_hand() -> None:
    d = welch([1, 2, 3, 4], [2, 3, 4, 5, 6])
    va, vb = (5 / 3) / 4, 2.5 / 5  # variance of each mean
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 4)
    assert d.difference == -1.5
    assert d.df == pytest.approx(df)
    half = t_quantile(0.975, df) * math.sqrt(va + vb)
    assert (d.low, d.high) == (pytest.approx(-1.5 - half), pytest.approx(-1.5 + half))
    assert not d.excludes_zero
    assert welch([10, 11, 12], [1, 2, 3]).excludes_zero
