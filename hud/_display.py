"""Notebook display: escaped HTML for `Job`, `Trajectory` and `JobSummary` (`_repr_html_`).

Plain strings built with `html.escape`: no IPython import, no template engine, and every value the
user or an agent wrote (names, metadata, errors, observations) is escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hud._summary import JobSummary
    from hud.job import Job
    from hud.trajectory import Trajectory

__all__ = ["job_html", "summary_html", "trajectory_html"]

#: Steps shown inline; a long trajectory says how many more there are.
MAX_STEPS = 50
MAX_TEXT = 500

_STYLE = "border-collapse:collapse;text-align:left"
_CELL = "padding:2px 10px 2px 0;vertical-align:top;text-align:left"


def _short(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rows(title: str, rows: list[tuple[str, str]]) -> str:
    """A titled two-column table; values are already HTML."""
    body = "".join(f'<tr><th style="{_CELL}">{escape(k)}</th><td style="{_CELL}">{v}</td></tr>' for k, v in rows)
    return f'<div class="hud-repr"><strong>{title}</strong><table style="{_STYLE}">{body}</table></div>'


def _pre(text: str) -> str:
    return f'<pre style="margin:0;white-space:pre-wrap">{escape(_short(text))}</pre>'


def _reward(value: float | None) -> str:
    return "–" if value is None else escape(f"{value:.3g}")


def job_html(job: Job) -> str:
    """The job's fields as an HTML table."""
    rows = [
        ("id", f"<code>{escape(job.id)}</code>"),
        ("name", escape(job.name)),
        ("status", escape(job.status)),
        ("created", escape(job.created_at.isoformat(timespec="seconds"))),
    ]
    if job.metadata is not None:
        rows.append(("metadata", _pre(json.dumps(job.metadata, indent=2, ensure_ascii=False, default=str))))
    if job.error:
        rows.append(("error", _pre(job.error)))
    return _rows(f"Job {escape(job.name)}", rows)


def summary_html(summary: JobSummary) -> str:
    """The summary's numbers as an HTML table."""
    rate = "–" if summary.success_rate is None else f"{summary.success_rate:.1%}"
    outcomes = ", ".join(f"{escape(k)}: {v}" for k, v in summary.by_outcome.items()) or "–"
    kinds = ", ".join(f"{escape(k)}: {v}" for k, v in summary.by_error_kind.items()) or "–"
    rows = [
        (
            "trajectories",
            f"{summary.trajectories} ({summary.counted} counted, {summary.excluded} excluded, "
            f"{summary.scored} scored, {summary.steps} steps)",
        ),
        ("mean reward", _reward(summary.mean_reward)),
        ("reward range", f"{_reward(summary.min_reward)} to {_reward(summary.max_reward)}"),
        ("success rate", f"{rate} ({summary.successes}; reward ≥ {summary.success_threshold:g})"),
        ("errors", f"{summary.errors} ({kinds})"),
        ("by outcome", outcomes),
    ]
    return _rows(f"Summary of job <code>{escape(summary.job_id)}</code>", rows)


def _step_row(number: int, step: Any) -> str:
    observation = ""
    if step.observation_url:
        observation += f"<div><code>{escape(_short(step.observation_url, 200))}</code></div>"
    if step.observation_text is not None:
        observation += _pre(step.observation_text)
    actions = "".join(_pre(json.dumps(a, ensure_ascii=False, default=str)) for a in step.actions)
    timing = ""
    if step.start_timestamp is not None and step.end_timestamp is not None:
        try:
            timing = f"{(step.end_timestamp - step.start_timestamp).total_seconds() * 1000:.0f} ms"
        except TypeError:  # one aware, one naive: no duration to show
            timing = ""
    cells = [str(number), observation, actions, escape(timing)]
    return "<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>"


def trajectory_html(trajectory: Trajectory) -> str:
    """The trajectory's outcome and its first steps as HTML."""
    rows = [
        ("id", f"<code>{escape(trajectory.id)}</code>"),
        ("outcome", escape(trajectory.outcome())),
        ("reward", _reward(trajectory.reward)),
        ("steps", str(len(trajectory.trajectory))),
    ]
    if trajectory.task_id is not None:
        rows.append(("task", escape(trajectory.task_id)))
    if trajectory.duration is not None:
        rows.append(("duration", f"{trajectory.duration:.1f} s"))
    if trajectory.error:
        rows.append(("error", f"{escape(trajectory.effective_error_kind or '')} " + _pre(trajectory.error)))
    if trajectory.logs:
        rows.append(("logs", _pre(trajectory.logs)))
    head = "".join(f'<th style="{_CELL}">{h}</th>' for h in ("#", "observation", "actions", "time"))
    shown = trajectory.trajectory[:MAX_STEPS]
    steps = "".join(_step_row(i + 1, s) for i, s in enumerate(shown))
    more = len(trajectory.trajectory) - len(shown)
    table = f'<table style="{_STYLE}"><tr>{head}</tr>{steps}</table>' if shown else ""
    note = f"<p>… and {more} more steps</p>" if more else ""
    return _rows("Trajectory", rows)[: -len("</div>")] + table + note + "</div>"
