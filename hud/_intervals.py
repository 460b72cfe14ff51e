"""Intervals and tests on numbers of tasks, from numpy and scipy: the building blocks of `hud._stats`.

Pure functions: t and Wilson intervals, pass@k, the seeded paired bootstrap, McNemar's exact test,
the minimum detectable effect, the paired t test's p-value. Shared by the SDK and the server's
dashboard through `hud._stats`; imports nothing of either side (numpy and scipy: dependencies of hud).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "MDE_ALPHA",
    "MDE_POWER",
    "Floats",
    "Interval",
    "bootstrap_interval",
    "check_confidence",
    "clip",
    "mcnemar_p",
    "minimum_detectable_effect",
    "p_value",
    "pass_at_k",
    "t_interval",
    "wilson_interval",
]

BOOTSTRAP_RESAMPLES = 10_000
#: The paired bootstrap is seeded: the same two jobs always give the same interval.
BOOTSTRAP_SEED = 20241104
MDE_ALPHA = 0.05
MDE_POWER = 0.80

Interval = tuple[float, float]
Floats = NDArray[np.float64]


def check_confidence(confidence: float) -> None:
    """ValueError unless 0 < confidence < 1."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), not {confidence!r}")


def t_interval(values: Sequence[float] | Floats, confidence: float) -> Interval | None:
    """The t interval of the mean of `values` (None for fewer than two; zero width when all are equal)."""
    check_confidence(confidence)
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return None
    mean = float(np.mean(x))
    sem = float(stats.sem(x))
    if sem == 0.0:
        return (mean, mean)
    low, high = stats.t.interval(confidence, x.size - 1, loc=mean, scale=sem)
    return (float(low), float(high))


def wilson_interval(successes: int, n: int, confidence: float) -> Interval | None:
    """The Wilson score interval of a proportion (None when `n` is 0)."""
    check_confidence(confidence)
    if n <= 0:
        return None
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def pass_at_k(counted: Sequence[int] | NDArray[Any], successes: Sequence[int] | NDArray[Any], k: int) -> Floats:
    """Per task, the unbiased estimate of pass@k: 1 - C(n-c, k) / C(n, k) (Chen et al., 2021)."""
    n = np.asarray(counted, dtype=np.float64)
    c = np.asarray(successes, dtype=np.float64)
    return np.asarray(1.0 - special.comb(n - c, k) / special.comb(n, k), dtype=np.float64)


def clip(interval: Interval | None, low: float, high: float) -> Interval | None:
    """`interval` kept within `low` and `high` (None stays None)."""
    return None if interval is None else (max(low, interval[0]), min(high, interval[1]))


def bootstrap_interval(
    diffs: Floats, confidence: float, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> Interval | None:
    """The percentile interval of the mean of `diffs` over `resamples` bootstrap resamples of them.

    A resample draws len(diffs) of them with replacement; only how often each distinct value is
    drawn matters to its mean, so each resample is one multinomial draw over the distinct values
    (the same distribution as drawing indices, and fast when rewards take few values).
    """
    check_confidence(confidence)
    if diffs.size < 2:
        return None
    values, counts = np.unique(diffs, return_counts=True)
    if values.size == 1:
        return (float(values[0]), float(values[0]))
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    batch = max(1, 2_000_000 // values.size)  # bounded memory: at most ~16 MB of draws at once
    for start in range(0, resamples, batch):
        stop = min(resamples, start + batch)
        drawn = rng.multinomial(diffs.size, counts / diffs.size, size=stop - start)
        means[start:stop] = drawn @ values / diffs.size
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (float(low), float(high))


def mcnemar_p(a: Sequence[bool] | NDArray[np.bool_], b: Sequence[bool] | NDArray[np.bool_]) -> float | None:
    """McNemar's exact test: the two-sided binomial p-value of the discordant pairs (None with no pairs)."""
    first, second = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if first.size == 0:
        return None
    only_b, only_a = int(np.sum(~first & second)), int(np.sum(first & ~second))
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_b, only_a + only_b, 0.5).pvalue)


def minimum_detectable_effect(sd: float, n: int, *, alpha: float = MDE_ALPHA, power: float = MDE_POWER) -> float | None:
    """The smallest true mean difference a two-sided paired t test of `n` tasks detects with `power`.

    From the noncentral t distribution, with `sd` the standard deviation of the per-task differences;
    None when it cannot be known (fewer than two tasks, or no spread at all).
    """
    if n < 2 or not sd > 0.0:
        return None
    df = n - 1
    critical = float(stats.t.ppf(1.0 - alpha / 2, df))

    def shortfall(effect: float) -> float:
        shift = effect * math.sqrt(n) / sd
        # The far tail (rejecting in the wrong direction) is negligible but can come out NaN.
        wrong_way = float(np.nan_to_num(stats.nct.cdf(-critical, df, shift), nan=0.0))
        return float(stats.nct.sf(critical, df, shift)) + wrong_way - power

    high = sd
    while shortfall(high) < 0:
        high *= 2
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-12 * max(1.0, high)))


def p_value(diffs: Floats) -> float | None:
    """The two-sided paired t test of no difference (None for fewer than two)."""
    if diffs.size < 2:
        return None
    if float(np.ptp(diffs)) == 0.0:
        return 1.0 if diffs[0] == 0.0 else 0.0  # no spread: t is 0 or infinite
    return float(stats.ttest_1samp(diffs, 0.0).pvalue)
