"""Job.summary() and compare() on the embedded default: the server's aggregates and the client-side
fallback agree exactly, and every number matches an independent computation with numpy/scipy."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import hud
from hud import _api
from hud.errors import AuthenticationError, MissingDependencyError, NotFoundError
from hud.job import Comparison, Job, compare, create_job

# Per task: the rewards of its attempts (binary-grid floats: every summation order is exact).
JOB_A = {f"task-{i:02d}": [float((i * 7 + r) % 3 == 0) * 0.5 + 0.25 * (r == 1) for r in range(3)] for i in range(12)}


async def _job(name: str, tasks: dict[str, list[float | None]], **extra: list[tuple[float | None, str, str]]) -> Job:
    job = await create_job(name)
    for task_id, rewards in tasks.items():
        for reward in rewards:
            async with await hud.gym.make("g", job=job, task_id=task_id) as env:
                await env.record_step(observation_text="o")
                await env.close(reward=reward)
    for reward, error, kind in extra.get("errors", []):
        async with await hud.gym.make("g", job=job, task_id="task-00") as env:
            await env.close(reward=reward, error=error, error_kind=kind)
    for reward in (0.5, 1.0):  # two trajectories without a task: units of their own
        async with await hud.gym.make("g", job=job) as env:
            await env.close(reward=reward)
    return job


def _as_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform has neither aggregate endpoint: both answer 404 there."""

    async def missing(*_args: object, **_kwargs: object) -> None:
        raise NotFoundError(404, "Not Found", operation="getJobSummary")

    monkeypatch.setattr(_api, "get_job_summary", missing)
    monkeypatch.setattr(_api, "list_job_tasks", missing)


async def test_summary_from_the_server_equals_the_fallback_exactly(
    embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors = [(None, "boom", "agent"), (0.5, "rate limited", "infrastructure"), (None, "slow", "timeout")]
    job = await _job("agree", JOB_A, errors=errors)  # type: ignore[arg-type]
    open_env = await hud.gym.make("g", job=job, task_id="still-open")
    for threshold in (1.0, 0.5):
        served = await job.summary(success_threshold=threshold, confidence=0.9)
        served_tasks = [t async for t in job.iter_tasks(success_threshold=threshold)]
        with monkeypatch.context() as patched:
            _as_platform(patched)
            computed = await job.summary(success_threshold=threshold, confidence=0.9)
            computed_tasks = [t async for t in job.iter_tasks(success_threshold=threshold)]
        assert served.model_dump() == computed.model_dump()
        key = lambda t: (t.task_id or "", t.trajectory_id or "")  # noqa: E731
        assert sorted(served_tasks, key=key) == sorted(computed_tasks, key=key)
        assert served.open_environments == 1 and served.tasks == 14 and served.mean_reward_ci is not None
    await open_env.close()


async def test_summary_intervals_match_scipy_with_the_task_as_the_unit(embedded: Path) -> None:
    job = await _job("intervals", JOB_A)
    summary = await job.summary(confidence=0.95)
    task_means = [sum(r) / 3 for r in JOB_A.values()] + [0.5, 1.0]
    assert summary.tasks == 14
    assert summary.task_mean_reward == pytest.approx(np.mean(task_means), abs=1e-15)
    expected = stats.ttest_1samp(task_means, 0.0).confidence_interval(0.95)
    assert summary.mean_reward_ci == pytest.approx((expected.low, expected.high), abs=1e-12)
    rates = [sum(x >= 1.0 for x in r) / 3 for r in JOB_A.values()] + [0.0, 1.0]
    low, high = stats.ttest_1samp(rates, 0.0).confidence_interval(0.95)
    assert summary.success_rate_ci == pytest.approx((max(0.0, low), min(1.0, high)), abs=1e-12)
    # pass@k up to the fewest attempts of a task (1: the untasked trajectories).
    assert list(summary.pass_at_k) == [1] and summary.pass_at_k[1] == pytest.approx(np.mean(rates), abs=1e-15)


async def test_one_attempt_per_task_gives_the_wilson_interval_and_repeats_give_pass_at_k(embedded: Path) -> None:
    single = await create_job("single")
    outcomes = [1.0] * 9 + [0.0] * 11
    for i, reward in enumerate(outcomes):
        async with await hud.gym.make("g", job=single, task_id=f"t{i}") as env:
            await env.close(reward=reward)
    summary = await single.summary(confidence=0.9)
    # Wilson's score interval, from its formula.
    z, n, p = stats.norm.ppf(0.95), 20, 9 / 20
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert summary.success_rate_ci == pytest.approx((centre - half, centre + half), abs=1e-12)

    repeated = await create_job("repeated")
    attempts = {"a": [1.0, 0.0, 0.0, 0.0], "b": [1.0, 1.0, 0.0, 0.0], "c": [0.0, 0.0, 0.0, 0.0]}
    for task_id, rewards in attempts.items():
        for reward in rewards:
            async with await hud.gym.make("g", job=repeated, task_id=task_id) as env:
                await env.close(reward=reward)
    at_k = (await repeated.summary()).pass_at_k
    for k in range(1, 5):
        per_task = [1 - math.comb(4 - c, k) / math.comb(4, k) for c in (1, 2, 0)]
        assert at_k[k] == pytest.approx(sum(per_task) / 3, abs=1e-15)
    assert at_k[4] == pytest.approx(2 / 3)


async def test_compare_matches_scipy_on_paired_tasks(embedded: Path) -> None:
    rng = np.random.default_rng(3)
    difficulty = rng.uniform(0.1, 0.9, 40)
    a_tasks = {f"t{i:02d}": [float(rng.random() < d) for _ in range(2)] for i, d in enumerate(difficulty)}
    b_tasks = {f"t{i:02d}": [float(rng.random() < d + 0.1) for _ in range(2)] for i, d in enumerate(difficulty)}
    b_tasks["extra"] = [1.0]
    del b_tasks["t00"]
    job_a, job_b = await _job("A", a_tasks), await _job("B", b_tasks)  # type: ignore[arg-type]
    result = await compare(job_a.id, job_b)
    assert isinstance(result, Comparison) and (result.job_a, result.job_b) == (job_a.id, job_b.id)
    paired = sorted(set(a_tasks) & set(b_tasks))
    assert result.tasks_paired == len(paired) == 39 and result.only_in_a == ["t00"] and result.only_in_b == ["extra"]
    assert (result.untasked_a, result.untasked_b) == (2, 2)
    ma = np.array([np.mean(a_tasks[t]) for t in paired])
    mb = np.array([np.mean(b_tasks[t]) for t in paired])
    assert result.mean_diff == pytest.approx(np.mean(mb - ma), abs=1e-12)
    t_test = stats.ttest_rel(mb, ma)
    assert result.p_value == pytest.approx(t_test.pvalue, rel=1e-9)
    ci = t_test.confidence_interval(0.95)
    assert result.mean_diff_ci == pytest.approx((ci.low, ci.high), abs=1e-12)
    boot = stats.bootstrap((mb - ma,), np.mean, n_resamples=10_000, method="percentile", random_state=1)
    low, high = boot.confidence_interval
    assert result.mean_diff_ci_bootstrap is not None
    assert result.mean_diff_ci_bootstrap == pytest.approx((low, high), abs=0.03)  # another seed, the same law
    assert result.correlation == pytest.approx(stats.pearsonr(ma, mb).statistic, abs=1e-12)
    wins_a = np.array([sum(a_tasks[t]) * 2 > 2 for t in paired])
    wins_b = np.array([sum(b_tasks[t]) * 2 > 2 for t in paired])
    discordant = int(np.sum(wins_a != wins_b))
    expected_mcnemar = stats.binomtest(int(np.sum(wins_b & ~wins_a)), discordant).pvalue if discordant else 1.0
    assert result.mcnemar_p == pytest.approx(expected_mcnemar, rel=1e-12)
    # The MDE against the normal approximation (z_.975 + z_.8) * sd / sqrt(n), a few percent below it.
    approx = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * np.std(mb - ma, ddof=1) / math.sqrt(39)
    assert result.mde is not None and approx < result.mde < approx * 1.06
    diffs = {t: float(np.mean(b_tasks[t]) - np.mean(a_tasks[t])) for t in paired}
    assert result.improved == sorted((t for t in paired if diffs[t] > 0), key=lambda t: (-diffs[t], t))
    assert result.regressed == sorted((t for t in paired if diffs[t] < 0), key=lambda t: (diffs[t], t))
    assert [t.task_id for t in result.tasks] == paired
    assert result.verdict.startswith(("B is better by", "no detectable difference", "B is worse by"))


async def test_comparing_a_job_with_itself_finds_no_difference(embedded: Path) -> None:
    job = await _job("same", JOB_A)
    result = await compare(job, job)
    assert (result.mean_diff, result.mean_diff_ci, result.mean_diff_ci_bootstrap) == (0.0, (0.0, 0.0), (0.0, 0.0))
    assert (result.p_value, result.mcnemar_p, result.improved, result.regressed) == (1.0, 1.0, [], [])
    assert result.verdict.startswith("no detectable difference (+0.00")


async def test_compare_without_the_analysis_extra_names_it(embedded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = await create_job("no extra")
    async with await hud.gym.make("g", job=job, task_id="t") as env:
        await env.close(reward=1.0)
    monkeypatch.setitem(sys.modules, "hud._stats", None)  # as if numpy and scipy were not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'hud\[analysis\]'") as caught:
        await compare(job, job)
    assert isinstance(caught.value, ImportError)
    summary = await job.summary()  # the counts still work; the intervals say nothing
    assert (summary.trajectories, summary.mean_reward, summary.mean_reward_ci, summary.tasks) == (1, 1.0, None, None)


async def test_compare_of_unknown_jobs_and_bad_arguments(embedded: Path) -> None:
    job = await create_job("known")
    with pytest.raises(NotFoundError):
        await compare(job, "no-such-job")
    with pytest.raises(ValueError, match="confidence"):
        await compare(job, job, confidence=95)
    with pytest.raises(ValueError, match="success_threshold"):
        await job.summary(success_threshold=math.nan)


def test_comparison_html_escapes_task_ids_and_answers_in_words() -> None:
    from hud._comparison import comparison_of
    from hud._summary import TaskStats

    hostile = "<script>alert(1)</script>"
    a = [TaskStats(task_id=hostile, attempts=1, counted=1, scored=1, mean_reward=0.0, successes=0)]
    b = [TaskStats(task_id=hostile, attempts=1, counted=1, scored=1, mean_reward=1.0, successes=1)]
    a += [TaskStats(task_id="x", attempts=1, counted=1, scored=1, mean_reward=0.5, successes=0)]
    b += [TaskStats(task_id="x", attempts=1, counted=1, scored=1, mean_reward=0.75, successes=0)]
    result = comparison_of("<a>", "<b>", a, b, 1.0, 0.95)
    markup = result._repr_html_()
    assert "<script>" not in markup and "&lt;script&gt;" in markup and "&lt;a&gt;" in markup
    assert result.improved == [hostile, "x"] and "improved" in markup
    assert result.verdict in markup.replace("&#x27;", "'")


async def test_summary_asks_for_both_aggregates_at_once_and_an_error_cancels_the_other(
    embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await _job("both", {"task-00": [1.0]})
    listing, cancelled = asyncio.Event(), asyncio.Event()

    async def slow_listing(*_args: object, **_kwargs: object) -> None:
        listing.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def refused(*_args: object, **_kwargs: object) -> None:
        await listing.wait()  # only answered once the listing is in flight too
        raise AuthenticationError(401, "the key was revoked", operation="getJobSummary")

    monkeypatch.setattr(_api, "list_job_tasks", slow_listing)
    monkeypatch.setattr(_api, "get_job_summary", refused)
    with pytest.raises(AuthenticationError, match="revoked"):  # itself, not in an ExceptionGroup
        await asyncio.wait_for(job.summary(), timeout=10)
    assert cancelled.is_set()


async def test_task_intervals_do_not_depend_on_the_order_tasks_are_listed_in(embedded: Path) -> None:
    from hud._analysis import TaskUnits, with_task_numbers

    job = await _job("order", JOB_A)
    summary = await job.summary()
    units = TaskUnits.of_stats([t async for t in job.iter_tasks()])
    shuffled = TaskUnits(*(list(reversed(column)) for column in dataclasses.astuple(units)))
    assert with_task_numbers(summary, shuffled, 0.95) == with_task_numbers(summary, units, 0.95) == summary
