"""Job.summary() on the embedded default, and the notebook display (`_repr_html_`) of Job, Trajectory, JobSummary."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import hud
from hud.job import JobSummary, create_job
from hud.trajectory import Trajectory, TrajectoryStep

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;'


def _visible(markup: str) -> str:
    """What a notebook shows: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


async def test_summary_of_a_job_on_the_embedded_default(embedded: Path) -> None:
    job = await create_job("summed")
    assert (await job.summary()).model_dump() == {
        "job_id": job.id,
        "success_threshold": 1.0,
        "trajectories": 0,
        "counted": 0,
        "excluded": 0,
        "scored": 0,
        "mean_reward": None,
        "min_reward": None,
        "max_reward": None,
        "successes": 0,
        "success_rate": None,
        "errors": 0,
        "steps": 0,
        "by_outcome": {},
        "by_error_kind": {},
    }
    closes: list[tuple[float | None, str | None, str | None]] = [
        (1.0, None, None),
        (0.0, None, None),
        (0.5, None, None),
        (None, "crashed", None),  # an error without a kind: the agent's, counted as 0
        (None, None, None),  # unscored
        (2.0, None, None),
        (None, "slow", "timeout"),  # the agent's too: 0
        (1.0, "rate limited", "infrastructure"),  # left out
        (None, "ctrl-c", "cancelled"),  # left out
    ]
    for reward, error, kind in closes:
        async with await hud.gym.make("g", job=job) as env:
            await env.record_step(observation_text="o")
            await env.close(reward=reward, error=error, error_kind=kind)
    summary = await job.summary()
    assert (summary.trajectories, summary.counted, summary.excluded, summary.scored) == (9, 7, 2, 6)
    assert summary.steps == 9
    assert summary.mean_reward == (1.0 + 0.0 + 0.5 + 0.0 + 2.0 + 0.0) / 6
    assert (summary.min_reward, summary.max_reward) == (0.0, 2.0)
    assert summary.successes == 2 and summary.success_rate == 2 / 7
    assert summary.errors == 4
    assert summary.by_outcome == {"success": 2, "fail": 4, "unscored": 1, "excluded": 2}
    assert summary.by_error_kind == {"agent": 1, "cancelled": 1, "infrastructure": 1, "timeout": 1}
    lenient = await job.summary(success_threshold=0.5)
    assert lenient.successes == 3 and lenient.success_threshold == 0.5


async def test_summary_agrees_with_the_dashboard_rule_when_paging(embedded: Path) -> None:
    job = await create_job("paged")
    for i in range(7):
        async with await hud.gym.make("g", job=job) as env:
            await env.close(reward=float(i % 2))
    assert (await job.summary()).by_outcome == {"success": 3, "fail": 4}


def test_job_html_escapes_everything() -> None:
    job = hud.Job(
        id="j-1",
        name=HOSTILE,
        metadata={"k": HOSTILE},
        created_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        status="<b>odd</b>",
        error=HOSTILE,
    )
    markup = job._repr_html_()
    assert "<script" not in markup and "<img" not in markup and "<b>odd" not in markup
    shown = _visible(markup)
    assert shown.count(HOSTILE) >= 2 and "<b>odd</b>" in shown and "2024-05-01T12:00:00+00:00" in shown


def test_trajectory_html_shows_steps_escaped_and_caps_long_ones() -> None:
    steps = [
        TrajectoryStep(
            observation_text=HOSTILE,
            observation_url="javascript:alert(1)",
            actions=[{"type": "<b>click</b>"}],
            start_timestamp=datetime(2024, 1, 1, tzinfo=UTC),
            end_timestamp=datetime(2024, 1, 1, 0, 0, 1, 500000, tzinfo=UTC),
        )
    ] + [TrajectoryStep(observation_text=f"obs-{i}") for i in range(1, 60)]
    t = Trajectory(id="t-1", reward=0.25, error=HOSTILE, logs="<i>logs</i>", trajectory=steps)
    markup = t._repr_html_()
    assert "<script" not in markup and "<b>click" not in markup and "<i>logs" not in markup
    assert 'href="javascript' not in markup and "<a " not in markup
    shown = _visible(markup)
    assert HOSTILE in shown and "1500 ms" in shown and '{"type": "<b>click</b>"}' in shown
    assert "obs-49" in shown and "obs-50" not in shown and "and 10 more steps" in shown
    # An error without a kind is the agent's; the reward it was given stands.
    assert re.search(r"outcome\s+fail\s+reward\s+0.25", shown)
    assert re.search(r"error\s+agent", shown)


def test_summary_html() -> None:
    summary = JobSummary(
        job_id="<j>",
        success_threshold=1.0,
        trajectories=5,
        counted=4,
        excluded=1,
        scored=3,
        mean_reward=0.5,
        min_reward=0.0,
        max_reward=1.0,
        successes=1,
        success_rate=0.25,
        errors=2,
        steps=9,
        by_outcome={"success": 1, "fail": 2, "unscored": 1, "excluded": 1},
        by_error_kind={"agent": 1, "<k>": 1},
    )
    shown = _visible(summary._repr_html_())
    assert "<j>" in shown and "25.0%" in shown and "fail: 2" in shown and "<k>: 1" in shown
    assert "5 (4 counted, 1 excluded, 3 scored, 9 steps)" in shown
    assert "<j>" not in summary._repr_html_()


@given(name=st.text(min_size=1, max_size=50))
def test_any_name_is_escaped(name: str) -> None:
    job = hud.Job(id="j", name=name, created_at=datetime(2024, 1, 1, tzinfo=UTC), status="created")
    markup = job._repr_html_()
    assert markup.count("<") == markup.count(">")  # no tag opened by the data
    assert html.escape(name) in markup


def test_importing_hud_does_not_import_ipython() -> None:
    code = "import sys, hud, hud.job, hud.trajectory; sys.exit('IPython' in sys.modules or 'jinja2' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
