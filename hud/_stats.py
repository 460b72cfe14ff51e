"""Statistics on per-task numbers, from numpy and scipy: intervals, pass@k and paired comparisons.

The unit is the task (Miller, "Adding Error Bars to Evals", arXiv:2411.00640): a task's repeats are
averaged first, and every interval is over tasks. Pure functions on per-task numbers, shared by the
SDK (`JobSummary`, `compare`) and the server's dashboard, so both show the same numbers; it imports
nothing of either side. Needs numpy and scipy (dependencies of hud).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "MDE_ALPHA",
    "MDE_POWER",
    "PairedTask",
    "TaskNumbers",
    "bootstrap_interval",
    "compare_tasks",
    "mcnemar_p",
    "minimum_detectable_effect",
    "pass_at_k",
    "summarize_tasks",
    "t_interval",
    "verdict",
    "wilson_interval",
]

BOOTSTRAP_RESAMPLES = 10_000
#: The paired bootstrap is seeded: the same two jobs always give the same interval.
BOOTSTRAP_SEED = 20241104
MDE_ALPHA = 0.05
MDE_POWER = 0.80

Interval = tuple[float, float]
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TaskNumbers:
    """One task of a job under the scoring rule: its counted attempts, mean reward and successes."""

    counted: int
    mean_reward: float | None
    successes: int

    @property
    def success_rate(self) -> float | None:
        """Successes among its counted attempts (None when none counts)."""
        return self.successes / self.counted if self.counted else None

    @property
    def majority_success(self) -> bool:
        """Whether most of its counted attempts succeeded (the one outcome with one attempt)."""
        return 2 * self.successes > self.counted


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), not {confidence!r}")


def t_interval(values: Sequence[float] | Floats, confidence: float) -> Interval | None:
    """The t interval of the mean of `values` (None for fewer than two; zero width when all are equal)."""
    _check_confidence(confidence)
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
    _check_confidence(confidence)
    if n <= 0:
        return None
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def pass_at_k(counted: Sequence[int] | NDArray[Any], successes: Sequence[int] | NDArray[Any], k: int) -> Floats:
    """Per task, the unbiased estimate of pass@k: 1 - C(n-c, k) / C(n, k) (Chen et al., 2021)."""
    n = np.asarray(counted, dtype=np.float64)
    c = np.asarray(successes, dtype=np.float64)
    return np.asarray(1.0 - special.comb(n - c, k) / special.comb(n, k), dtype=np.float64)


def _clip(interval: Interval | None, low: float, high: float) -> Interval | None:
    return None if interval is None else (max(low, interval[0]), min(high, interval[1]))


def summarize_tasks(tasks: Sequence[TaskNumbers], confidence: float) -> dict[str, Any]:
    """The task-level numbers of a job: `tasks`, the means over tasks and their intervals, pass@k.

    `tasks` counts the tasks with at least one counted attempt. The success rate's interval is the
    Wilson interval when every such task has one attempt (or all have the same rate), else the t
    interval over per-task rates (kept within 0 and 1). pass@k for each k up to the fewest attempts
    of a task, with t intervals.
    """
    _check_confidence(confidence)
    counted = [t for t in tasks if t.counted]
    means = np.array([t.mean_reward for t in counted if t.mean_reward is not None], dtype=np.float64)
    rates = np.array([t.successes / t.counted for t in counted], dtype=np.float64)
    rate_ci = _clip(t_interval(rates, confidence), 0.0, 1.0)
    if counted and (all(t.counted == 1 for t in counted) or (rate_ci is not None and rate_ci[0] == rate_ci[1])):
        # One attempt each: binomial. Every task at the same rate (all solved, say): the t interval
        # would claim zero width; Wilson's over the attempts is the honest one.
        rate_ci = wilson_interval(sum(t.successes for t in counted), sum(t.counted for t in counted), confidence)
    attempts = np.array([t.counted for t in counted])
    wins = np.array([t.successes for t in counted])
    at_k: dict[int, float] = {}
    at_k_ci: dict[int, Interval | None] = {}
    for k in range(1, int(attempts.min()) + 1 if counted else 1):
        values = pass_at_k(attempts, wins, k)
        at_k[k] = float(np.mean(values))
        at_k_ci[k] = _clip(t_interval(values, confidence), 0.0, 1.0)
    return {
        "confidence": confidence,
        "tasks": len(counted),
        "task_mean_reward": float(np.mean(means)) if means.size else None,
        "mean_reward_ci": t_interval(means, confidence),
        "task_success_rate": float(np.mean(rates)) if rates.size else None,
        "success_rate_ci": rate_ci,
        "pass_at_k": at_k,
        "pass_at_k_ci": {k: v for k, v in at_k_ci.items() if v is not None},
    }


def bootstrap_interval(
    diffs: Floats, confidence: float, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> Interval | None:
    """The percentile interval of the mean of `diffs` over `resamples` bootstrap resamples of them.

    A resample draws len(diffs) of them with replacement; only how often each distinct value is
    drawn matters to its mean, so each resample is one multinomial draw over the distinct values
    (the same distribution as drawing indices, and fast when rewards take few values).
    """
    _check_confidence(confidence)
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


@dataclass(frozen=True, slots=True)
class PairedTask:
    """A task in both jobs: its mean reward and success rate in each."""

    task_id: str
    mean_a: float | None
    mean_b: float | None
    rate_a: float
    rate_b: float

    @property
    def diff(self) -> float | None:
        """Mean reward in B minus in A (None unless both were scored)."""
        return None if self.mean_a is None or self.mean_b is None else self.mean_b - self.mean_a


def _p_value(diffs: Floats) -> float | None:
    if diffs.size < 2:
        return None
    if float(np.ptp(diffs)) == 0.0:
        return 1.0 if diffs[0] == 0.0 else 0.0  # no spread: t is 0 or infinite
    return float(stats.ttest_1samp(diffs, 0.0).pvalue)


def compare_tasks(a: Mapping[str, TaskNumbers], b: Mapping[str, TaskNumbers], confidence: float) -> dict[str, Any]:
    """Job B against job A over the tasks both have (a task with no counted attempt is absent).

    Paired over tasks: the differences of per-task means (B - A) give the t interval, the seeded
    bootstrap interval, the two-sided paired t test and the minimum detectable effect (80% power,
    alpha 0.05); per-task success rates give the success difference and its interval, and the
    per-task majority outcome McNemar's exact test.
    """
    _check_confidence(confidence)
    in_a = {k for k, v in a.items() if v.counted}
    in_b = {k for k, v in b.items() if v.counted}
    both = sorted(in_a & in_b)
    pairs = [
        PairedTask(k, a[k].mean_reward, b[k].mean_reward, a[k].successes / a[k].counted, b[k].successes / b[k].counted)
        for k in both
    ]
    scored = [p for p in pairs if p.diff is not None]
    mean_a = np.array([p.mean_a for p in scored], dtype=np.float64)
    mean_b = np.array([p.mean_b for p in scored], dtype=np.float64)
    diffs = mean_b - mean_a
    rate_diffs = np.array([p.rate_b - p.rate_a for p in pairs], dtype=np.float64)
    correlation = None
    if mean_a.size >= 2 and float(np.ptp(mean_a)) > 0 and float(np.ptp(mean_b)) > 0:
        correlation = float(stats.pearsonr(mean_a, mean_b).statistic)
    sd = float(np.std(diffs, ddof=1)) if diffs.size >= 2 else 0.0
    changed = sorted((p for p in scored if p.diff), key=lambda p: (-abs(p.diff or 0.0), p.task_id))
    return {
        "confidence": confidence,
        "tasks_paired": len(pairs),
        "only_in_a": sorted(in_a - in_b),
        "only_in_b": sorted(in_b - in_a),
        "mean_a": float(np.mean(mean_a)) if mean_a.size else None,
        "mean_b": float(np.mean(mean_b)) if mean_b.size else None,
        "mean_diff": float(np.mean(diffs)) if diffs.size else None,
        "mean_diff_ci": t_interval(diffs, confidence),
        "mean_diff_ci_bootstrap": bootstrap_interval(diffs, confidence),
        "p_value": _p_value(diffs),
        "success_diff": float(np.mean(rate_diffs)) if rate_diffs.size else None,
        "success_diff_ci": _clip(t_interval(rate_diffs, confidence), -1.0, 1.0),
        "mcnemar_p": mcnemar_p([a[k].majority_success for k in both], [b[k].majority_success for k in both]),
        "correlation": correlation,
        "mde": minimum_detectable_effect(sd, int(diffs.size)),
        "improved": [p.task_id for p in changed if (p.diff or 0.0) > 0],
        "regressed": [p.task_id for p in changed if (p.diff or 0.0) < 0],
        "pairs": pairs,
    }


def _decimals(width: float) -> int:
    # Enough decimals to tell the interval's ends apart, at least two.
    if not width > 0 or not math.isfinite(width):
        return 2
    return min(6, max(2, 1 - math.floor(math.log10(width))))


def verdict(result: Mapping[str, Any]) -> str:
    """The answer to "is B better than A?" in words, from `compare_tasks`'s numbers.

    "B is better by 0.12 (95% CI 0.04 to 0.20)" when the paired t interval excludes 0, "no detectable
    difference; with 80 tasks the smallest detectable is 0.15" when it does not.
    """
    n = result["tasks_paired"]
    interval = result["mean_diff_ci"]
    if interval is None:
        return f"not enough tasks in both jobs to compare ({n} paired; at least 2 are needed)"
    low, high = interval
    places = _decimals(high - low)
    level = f"{result['confidence']:.0%}"
    ci = f"{level} CI {low:.{places}f} to {high:.{places}f}"
    diff = result["mean_diff"]
    p = result["p_value"]
    p_text = "" if p is None else f", p = {p:.2g}"
    if low > 0 or high < 0:
        better = "better" if diff > 0 else "worse"
        return f"B is {better} by {abs(diff):.{places}f} ({ci}{p_text})"
    mde = result["mde"]
    smallest = "" if mde is None else f"; with {n} tasks the smallest detectable is {mde:.{places}f}"
    return f"no detectable difference ({diff:+.{places}f}, {ci}{p_text}){smallest}"
