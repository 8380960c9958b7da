"""Summary statistics with t-based 95 % confidence intervals, in plain Python.

Student's t quantile is computed here (regularized incomplete beta by its continued fraction,
then bisection on the CDF) rather than by adding SciPy for one function: the report needs
the 0.975 quantile for whole and (Welch) fractional degrees of freedom, nothing else. The
values agree with published t tables to 4 decimals (tests/unit/report/test_stats.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    """n values: their mean, standard deviation and the t-based 95 % CI of the mean.

    With one value the interval is not defined (``low``/``high`` are None); with none, the
    mean is None too.
    """

    n: int
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"n": self.n, "mean": self.mean, "sd": self.sd, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Difference:
    """Mean of group 1 minus mean of group 2 with Welch's 95 % CI (unequal variances)."""

    n1: int
    n2: int
    difference: float | None
    low: float | None
    high: float | None
    df: float | None

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies wholly above or below zero."""
        if self.low is None or self.high is None:
            return False
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "n1": self.n1,
            "n2": self.n2,
            "difference": self.difference,
            "low": self.low,
            "high": self.high,
            "df": self.df,
        }


def summarize(values: Sequence[float]) -> Summary:
    n = len(values)
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = math.fsum(values) / n
    if n == 1:
        return Summary(1, mean, None, None, None)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * sd / math.sqrt(n)
    return Summary(n, mean, sd, mean - half, mean + half)


def welch(first: Sequence[float], second: Sequence[float]) -> Difference:
    """Welch's two-sample interval for mean(first) - mean(second)."""
    a, b = summarize(first), summarize(second)
    if a.mean is None or b.mean is None:
        return Difference(a.n, b.n, None, None, None, None)
    difference = a.mean - b.mean
    if a.sd is None or b.sd is None:
        return Difference(a.n, b.n, difference, None, None, None)
    va, vb = a.sd**2 / a.n, b.sd**2 / b.n
    se = math.sqrt(va + vb)
    if se == 0:
        return Difference(a.n, b.n, difference, difference, difference, None)
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    half = t_quantile(0.5 + CONFIDENCE / 2, df) * se
    return Difference(a.n, b.n, difference, difference - half, difference + half, df)


def t_quantile(p: float, df: float) -> float:
    """The p quantile of Student's t with ``df`` degrees of freedom (0 < p < 1, df > 0)."""
    if not 0 < p < 1 or df <= 0:
        raise ValueError("t_quantile needs 0 < p < 1 and df > 0")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t: 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t^2), t >= 0."""
    tail = 0.5 * _incomplete_beta(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t >= 0 else tail


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b), by its continued fraction (modified Lentz)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _incomplete_beta(b, a, 1 - x)
    return math.exp(log_front) * _beta_fraction(a, b, x) / a


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return result
