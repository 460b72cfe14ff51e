"""Statistics on per-task numbers, from numpy and scipy: intervals, pass@k and paired comparisons.

The unit is the task (Miller, "Adding Error Bars to Evals", arXiv:2411.00640): a task's repeats are
averaged first, and every interval is over tasks. Pure functions on per-task numbers, shared by the
SDK (`JobSummary`, `compare`) and the server's dashboard, so both show the same numbers; it imports
nothing of either side. The intervals and tests themselves are in `hud._intervals` (re-exported
here). They read arrays (`TaskColumns`): 10,000 tasks make no 10,000 objects. Needs numpy and scipy,
the extra `hud[analysis]` (`hud[server]` includes it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from hud._intervals import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    MDE_ALPHA,
    MDE_POWER,
    Floats,
    Interval,
    bootstrap_interval,
    check_confidence,
    clip,
    mcnemar_p,
    minimum_detectable_effect,
    p_value,
    pass_at_k,
    t_interval,
    wilson_interval,
)

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "MDE_ALPHA",
    "MDE_POWER",
    "PairedTask",
    "TaskColumns",
    "TaskNumbers",
    "bootstrap_interval",
    "compare_columns",
    "compare_tasks",
    "mcnemar_p",
    "minimum_detectable_effect",
    "pass_at_k",
    "summarize_tasks",
    "t_interval",
    "verdict",
    "wilson_interval",
]


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


@dataclass(frozen=True, slots=True)
class TaskColumns:
    """A job's units as arrays, one element per unit in one order: what `TaskNumbers` holds for each,
    with the unit's task id (None for a trajectory without a task). `mean_reward` is NaN where no
    attempt was scored (JSON has no NaN: no real mean is one).

    The statistics read these arrays directly, so 10,000 tasks cost no 10,000 objects.
    """

    task_ids: list[str | None]
    counted: NDArray[np.int64]
    mean_reward: Floats
    successes: NDArray[np.int64]

    @classmethod
    def of(cls, tasks: Sequence[TaskNumbers], task_ids: Sequence[str | None] | None = None) -> TaskColumns:
        """The columns of `tasks` (task ids None unless given, one per task)."""
        return cls.of_lists(
            list(task_ids) if task_ids is not None else [None] * len(tasks),
            [t.counted for t in tasks],
            [t.mean_reward for t in tasks],
            [t.successes for t in tasks],
        )

    @classmethod
    def of_lists(
        cls,
        task_ids: list[str | None],
        counted: Sequence[int],
        mean_reward: Sequence[float | None],
        successes: Sequence[int],
    ) -> TaskColumns:
        """The columns of per-unit lists, all as long as `task_ids`."""
        return cls(
            task_ids,
            np.array(counted, dtype=np.int64),
            np.array([np.nan if m is None else m for m in mean_reward], dtype=np.float64),
            np.array(successes, dtype=np.int64),
        )


def summarize_tasks(tasks: Sequence[TaskNumbers] | TaskColumns, confidence: float) -> dict[str, Any]:
    """The task-level numbers of a job: `tasks`, the means over tasks and their intervals, pass@k.

    `tasks` counts the tasks with at least one counted attempt. The success rate's interval is the
    Wilson interval when every such task has one attempt (or all have the same rate), else the t
    interval over per-task rates (kept within 0 and 1). pass@k for each k up to the fewest attempts
    of a task, with t intervals.
    """
    check_confidence(confidence)
    columns = tasks if isinstance(tasks, TaskColumns) else TaskColumns.of(tasks)
    kept = columns.counted > 0
    attempts, wins, mean = columns.counted[kept], columns.successes[kept], columns.mean_reward[kept]
    means = mean[~np.isnan(mean)]
    rates = wins / attempts  # int64 / int64: each a float division, as in Python
    rate_ci = clip(t_interval(rates, confidence), 0.0, 1.0)
    if attempts.size and (bool(np.all(attempts == 1)) or (rate_ci is not None and rate_ci[0] == rate_ci[1])):
        # One attempt each: binomial. Every task at the same rate (all solved, say): the t interval
        # would claim zero width; Wilson's over the attempts is the honest one.
        rate_ci = wilson_interval(int(wins.sum()), int(attempts.sum()), confidence)
    at_k: dict[int, float] = {}
    at_k_ci: dict[int, Interval | None] = {}
    for k in range(1, int(attempts.min()) + 1 if attempts.size else 1):
        values = pass_at_k(attempts, wins, k)
        at_k[k] = float(np.mean(values))
        at_k_ci[k] = clip(t_interval(values, confidence), 0.0, 1.0)
    return {
        "confidence": confidence,
        "tasks": int(attempts.size),
        "task_mean_reward": float(np.mean(means)) if means.size else None,
        "mean_reward_ci": t_interval(means, confidence),
        "task_success_rate": float(np.mean(rates)) if rates.size else None,
        "success_rate_ci": rate_ci,
        "pass_at_k": at_k,
        "pass_at_k_ci": {k: v for k, v in at_k_ci.items() if v is not None},
    }


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


def compare_tasks(a: Mapping[str, TaskNumbers], b: Mapping[str, TaskNumbers], confidence: float) -> dict[str, Any]:
    """`compare_columns` of two jobs' tasks by task id, with `pairs`: a `PairedTask` per paired task."""

    def columns(tasks: Mapping[str, TaskNumbers]) -> TaskColumns:
        return TaskColumns.of(list(tasks.values()), list(tasks))

    result = compare_columns(columns(a), columns(b), confidence)
    paired = result.pop("paired")
    result["pairs"] = [PairedTask(*fields) for fields in zip(*paired, strict=True)]
    return result


def _nan_to_none(values: Floats) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values.tolist()]


def compare_columns(a: TaskColumns, b: TaskColumns, confidence: float) -> dict[str, Any]:
    """Job B against job A over the tasks both have (a task with no counted attempt is absent; units
    without a task id, and all but the last of a repeated id, are left out).

    Paired over tasks: the differences of per-task means (B - A) give the t interval, the seeded
    bootstrap interval, the two-sided paired t test and the minimum detectable effect (80% power,
    alpha 0.05); per-task success rates give the success difference and its interval, and the
    per-task majority outcome McNemar's exact test. `paired`: the paired tasks in task order, as
    columns (task ids, mean rewards in A and in B, None where unscored, success rates in A and in B).
    """
    check_confidence(confidence)
    at_a = {k: i for i, k in enumerate(a.task_ids) if k}
    at_b = {k: i for i, k in enumerate(b.task_ids) if k}
    counted_in_a, counted_in_b = a.counted.tolist(), b.counted.tolist()
    in_a = {k for k, i in at_a.items() if counted_in_a[i]}
    in_b = {k for k, i in at_b.items() if counted_in_b[i]}
    both = sorted(in_a & in_b)
    ia = np.array([at_a[k] for k in both], dtype=np.intp)
    ib = np.array([at_b[k] for k in both], dtype=np.intp)
    counted_a, wins_a, mean_a = a.counted[ia], a.successes[ia], a.mean_reward[ia]
    counted_b, wins_b, mean_b = b.counted[ib], b.successes[ib], b.mean_reward[ib]
    rate_a, rate_b = wins_a / counted_a, wins_b / counted_b
    scored = ~np.isnan(mean_a) & ~np.isnan(mean_b)
    scored_a, scored_b = mean_a[scored], mean_b[scored]
    diffs = scored_b - scored_a
    rate_diffs = rate_b - rate_a
    correlation = None
    if scored_a.size >= 2 and float(np.ptp(scored_a)) > 0 and float(np.ptp(scored_b)) > 0:
        correlation = float(stats.pearsonr(scored_a, scored_b).statistic)
    sd = float(np.std(diffs, ddof=1)) if diffs.size >= 2 else 0.0
    scored_ids = [k for k, s in zip(both, scored.tolist(), strict=True) if s]
    # Largest change first, then by task id: a stable sort of tasks already in task order.
    order = np.argsort(-np.abs(diffs), kind="stable")
    improved = [scored_ids[i] for i in order[diffs[order] > 0].tolist()]
    regressed = [scored_ids[i] for i in order[diffs[order] < 0].tolist()]
    return {
        "confidence": confidence,
        "tasks_paired": len(both),
        "only_in_a": sorted(in_a - in_b),
        "only_in_b": sorted(in_b - in_a),
        "mean_a": float(np.mean(scored_a)) if scored_a.size else None,
        "mean_b": float(np.mean(scored_b)) if scored_b.size else None,
        "mean_diff": float(np.mean(diffs)) if diffs.size else None,
        "mean_diff_ci": t_interval(diffs, confidence),
        "mean_diff_ci_bootstrap": bootstrap_interval(diffs, confidence),
        "p_value": p_value(diffs),
        "success_diff": float(np.mean(rate_diffs)) if rate_diffs.size else None,
        "success_diff_ci": clip(t_interval(rate_diffs, confidence), -1.0, 1.0),
        "mcnemar_p": mcnemar_p(2 * wins_a > counted_a, 2 * wins_b > counted_b),
        "correlation": correlation,
        "mde": minimum_detectable_effect(sd, int(diffs.size)),
        "improved": improved,
        "regressed": regressed,
        "paired": (both, _nan_to_none(mean_a), _nan_to_none(mean_b), rate_a.tolist(), rate_b.tolist()),
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
