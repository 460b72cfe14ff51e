"""hud._stats against worked examples and a coverage simulation (numbers checked with scipy/numpy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from hud._stats import (
    TaskColumns,
    TaskNumbers,
    bootstrap_interval,
    compare_columns,
    compare_tasks,
    mcnemar_p,
    minimum_detectable_effect,
    summarize_tasks,
    t_interval,
    verdict,
    wilson_interval,
)


def _binary(outcomes: list[bool]) -> dict[str, TaskNumbers]:
    return {f"doc-{i:03d}": TaskNumbers(1, float(o), int(o)) for i, o in enumerate(outcomes)}


def test_lm_evaluation_harness_3831_paired_data_needs_the_paired_test() -> None:
    """lm-evaluation-harness #3831: on 220 shared items an unpaired z-test says p = 0.08, McNemar 0.008.

    The thread gives n and both p-values, not the table; this 2x2 table reproduces them: both models
    right on 70 items, only A on 12, only B on 30, neither on 108.
    """
    a = [True] * 70 + [True] * 12 + [False] * 30 + [False] * 108
    b = [True] * 70 + [False] * 12 + [True] * 30 + [False] * 108
    n, pa, pb = 220, sum(a) / 220, sum(b) / 220
    z = (pb - pa) / math.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n)
    assert 2 * stats.norm.sf(z) == pytest.approx(0.080, abs=0.0005)  # what the unpaired test said
    assert mcnemar_p(a, b) == pytest.approx(0.0079, abs=0.00005)
    assert mcnemar_p(a, b) == stats.binomtest(30, 42, 0.5).pvalue
    result = compare_tasks(_binary(a), _binary(b), 0.95)
    assert result["mcnemar_p"] == mcnemar_p(a, b) and result["tasks_paired"] == 220
    assert result["success_diff"] == pytest.approx(18 / 220)
    # The paired t interval on the same data excludes 0 as well; the sentence says B is better.
    low, high = result["mean_diff_ci"]
    assert 0 < low < 18 / 220 < high
    assert verdict(result).startswith("B is better by 0.08 (95% CI 0.0")
    assert mcnemar_p([True, False], [True, False]) == 1.0 and mcnemar_p([], []) is None


def test_t_and_wilson_intervals_match_scipy() -> None:
    values = [0.2, 0.9, 0.4, 0.4, 1.0, 0.0, 0.75]
    ci = stats.ttest_1samp(values, 0.0).confidence_interval(0.9)
    assert t_interval(values, 0.9) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert t_interval([0.5], 0.95) is None and t_interval([0.5, 0.5], 0.95) == (0.5, 0.5)
    proportion = stats.binomtest(7, 25).proportion_ci(0.95, method="wilson")
    assert wilson_interval(7, 25, 0.95) == (proportion.low, proportion.high)
    assert wilson_interval(0, 0, 0.95) is None
    with pytest.raises(ValueError, match="confidence"):
        t_interval(values, 95)


def test_the_bootstrap_draws_tasks_with_replacement() -> None:
    rng = np.random.default_rng(5)
    diffs = rng.choice([-1.0, 0.0, 0.0, 1.0, 1.0], size=60)
    ours = bootstrap_interval(diffs, 0.95)
    assert ours == bootstrap_interval(diffs, 0.95)  # seeded
    theirs = stats.bootstrap((diffs,), np.mean, n_resamples=10_000, method="percentile", random_state=7)
    assert ours == pytest.approx(tuple(theirs.confidence_interval), abs=0.02)
    continuous = rng.normal(0.1, 0.3, 200)
    theirs = stats.bootstrap(
        (continuous,), np.mean, n_resamples=10_000, method="percentile", confidence_level=0.9, random_state=8
    )
    assert bootstrap_interval(continuous, 0.9) == pytest.approx(tuple(theirs.confidence_interval), abs=0.006)


def test_the_minimum_detectable_effect_has_80_percent_power() -> None:
    sd, n = 0.4, 50
    mde = minimum_detectable_effect(sd, n)
    assert mde is not None
    rng = np.random.default_rng(11)
    samples = rng.normal(mde, sd, size=(20_000, n))
    rejected = stats.ttest_1samp(samples, 0.0, axis=1).pvalue < 0.05
    assert float(np.mean(rejected)) == pytest.approx(0.80, abs=0.01)
    assert minimum_detectable_effect(0.0, n) is None and minimum_detectable_effect(sd, 1) is None


def test_pass_at_k_and_rates_over_tasks() -> None:
    tasks = [TaskNumbers(5, 0.4, 2), TaskNumbers(5, 1.0, 5), TaskNumbers(5, 0.0, 0), TaskNumbers(0, None, 0)]
    result = summarize_tasks(tasks, 0.95)
    assert result["tasks"] == 3 and list(result["pass_at_k"]) == [1, 2, 3, 4, 5]
    for k in range(1, 6):
        per_task = [1 - math.comb(5 - c, k) / math.comb(5, k) for c in (2, 5, 0)]
        assert result["pass_at_k"][k] == pytest.approx(sum(per_task) / 3, abs=1e-15)
    assert result["pass_at_k"][5] == pytest.approx(2 / 3)
    assert result["task_success_rate"] == pytest.approx((0.4 + 1.0 + 0.0) / 3)
    low, high = result["success_rate_ci"]
    assert 0.0 == low < high <= 1.0  # the t interval, kept within 0 and 1


def _simulated_pair(rng: np.random.Generator, tasks: int, repeats: int, shift: float) -> tuple[dict, dict]:  # type: ignore[type-arg]
    difficulty = rng.normal(0.0, 1.0, tasks)
    p_a, p_b = stats.norm.cdf(difficulty), stats.norm.cdf(difficulty + shift)
    wins_a, wins_b = rng.binomial(repeats, p_a), rng.binomial(repeats, p_b)
    a = {f"t{i}": TaskNumbers(repeats, wins_a[i] / repeats, int(wins_a[i])) for i in range(tasks)}
    b = {f"t{i}": TaskNumbers(repeats, wins_b[i] / repeats, int(wins_b[i])) for i in range(tasks)}
    return a, b


def test_coverage_of_the_95_percent_intervals() -> None:
    """Simulated pairs of jobs with a known difference: tasks of normal difficulty z, agent A succeeds
    with probability Phi(z), B with Phi(z + 0.3), 3 attempts each on 60 tasks. The true difference of
    mean reward over the task population is E[Phi(z + 0.3) - Phi(z)] = Phi(0.3 / sqrt 2) - 1/2. The
    paired t and bootstrap intervals must contain it 93-97% of the time (seeded: t 95.6%, bootstrap 95.1%)."""
    shift, runs = 0.3, 1000
    truth = float(stats.norm.cdf(shift / math.sqrt(2)) - 0.5)
    rng = np.random.default_rng(2024)
    covered_t = covered_boot = 0
    for run in range(runs):
        a, b = _simulated_pair(rng, 60, 3, shift)
        diffs = np.array([b[t].mean_reward - a[t].mean_reward for t in sorted(a)])  # type: ignore[operator]
        low, high = t_interval(diffs, 0.95)  # type: ignore[misc]
        covered_t += low <= truth <= high
        low, high = bootstrap_interval(diffs, 0.95)  # type: ignore[misc]
        covered_boot += low <= truth <= high
        if run < 50:  # compare_tasks reports these very intervals
            result = compare_tasks(a, b, 0.95)
            assert (result["mean_diff_ci"], result["mean_diff_ci_bootstrap"]) == (
                t_interval(diffs, 0.95),
                bootstrap_interval(diffs, 0.95),
            )
    print(f"coverage over {runs} runs: t {covered_t / runs:.3f}, bootstrap {covered_boot / runs:.3f}")
    assert 0.93 <= covered_t / runs <= 0.97
    assert 0.93 <= covered_boot / runs <= 0.97


def test_verdicts_in_words() -> None:
    better = {"tasks_paired": 80, "confidence": 0.95, "mean_diff": 0.12, "mean_diff_ci": (0.04, 0.20),
              "p_value": 0.003, "mde": 0.09}  # fmt: skip
    assert verdict(better) == "B is better by 0.12 (95% CI 0.04 to 0.20, p = 0.003)"
    worse = {**better, "mean_diff": -0.12, "mean_diff_ci": (-0.20, -0.04)}
    assert verdict(worse) == "B is worse by 0.12 (95% CI -0.20 to -0.04, p = 0.003)"
    unclear = {**better, "mean_diff": 0.03, "mean_diff_ci": (-0.05, 0.11), "p_value": 0.4, "mde": 0.15}
    assert verdict(unclear) == (
        "no detectable difference (+0.03, 95% CI -0.05 to 0.11, p = 0.4); with 80 tasks the smallest detectable is 0.15"
    )
    assert verdict({**better, "tasks_paired": 1, "mean_diff_ci": None}).startswith("not enough tasks")


def test_a_success_rate_without_spread_between_tasks_gets_wilsons_interval() -> None:
    solved = summarize_tasks([TaskNumbers(3, 1.0, 3)] * 8, 0.95)
    assert solved["success_rate_ci"] == wilson_interval(24, 24, 0.95)
    assert solved["success_rate_ci"][0] < 0.9  # not a zero-width "100% to 100%"


def test_changes_are_listed_largest_first_then_by_task_id() -> None:
    # Many changes of the same size: the order among them is the task id's, however they were listed.
    rng = np.random.default_rng(3)
    ids = [f"t{i:03d}" for i in range(120)]
    order = rng.permutation(len(ids))
    b_means = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=len(ids))
    a = {ids[i]: TaskNumbers(4, 0.5, 2) for i in order}
    b = {ids[i]: TaskNumbers(4, float(b_means[i]), int(4 * b_means[i])) for i in order}
    result = compare_tasks(a, b, 0.95)
    changed = sorted(
        (k for k in ids if b[k].mean_reward != 0.5), key=lambda k: (-abs((b[k].mean_reward or 0) - 0.5), k)
    )
    assert result["improved"] == [k for k in changed if (b[k].mean_reward or 0) > 0.5]
    assert result["regressed"] == [k for k in changed if (b[k].mean_reward or 0) < 0.5]
    assert [p.task_id for p in result["pairs"]] == ids and len(result["improved"]) > 20


def test_columns_pair_the_last_unit_of_a_task_id_and_skip_units_without_one() -> None:
    a = TaskColumns.of(
        [TaskNumbers(1, 0.0, 0), TaskNumbers(2, 1.0, 2), TaskNumbers(1, 0.5, 0), TaskNumbers(0, None, 0)],
        ["x", "x", None, "gone"],
    )
    b = TaskColumns.of([TaskNumbers(1, 1.0, 1), TaskNumbers(3, None, 0), TaskNumbers(1, 0.0, 0)], ["x", "y", "gone"])
    result = compare_columns(a, b, 0.95)
    # "x": the last of A's two (mean 1.0) against B's; "gone" has no counted attempt in A: B's alone.
    assert result["paired"] == (["x"], [1.0], [1.0], [1.0], [1.0])
    assert (result["only_in_a"], result["only_in_b"], result["improved"]) == ([], ["gone", "y"], [])
