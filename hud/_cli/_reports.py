"""`hud jobs show` and `hud jobs compare`: a job's numbers with their intervals, and two jobs compared."""

from __future__ import annotations

import json
import sys
from typing import TextIO

import click

from hud._cli._jobs import confidence_option, jobs, run_command, threshold_option
from hud._summary import JobSummary
from hud._terminal import printable
from hud.job import compare, load_job

__all__ = ["compare_jobs", "show_job"]


@jobs.command("show")
@click.argument("job_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@threshold_option
@confidence_option
@run_command
async def show_job(job_id: str, fmt: str, success_threshold: float, confidence: float) -> None:
    """Show a job and a summary of its trajectories.

    With confidence intervals over tasks (a task's repeats averaged first), open environments and
    durations; --success-threshold sets what counts as a success. The json format is the job with
    its `summary`.
    """
    loaded = await load_job(job_id)
    summary = await loaded.summary(success_threshold=success_threshold, confidence=confidence)
    out = sys.stdout
    if fmt == "json":
        shown = {**loaded.model_dump(mode="json"), "summary": summary.model_dump(mode="json")}
        out.write(json.dumps(shown, indent=2) + "\n")
        return
    shown_open = (
        "unknown (not listed by this server)" if summary.open_environments is None else str(summary.open_environments)
    )
    kinds = ", ".join(f"{kind} {n}" for kind, n in summary.by_error_kind.items())
    fields = [
        ("id", loaded.id),
        ("name", loaded.name),
        ("status", loaded.status),
        ("created", loaded.created_at.isoformat(timespec="seconds")),
        ("metadata", json.dumps(loaded.metadata) if loaded.metadata is not None else ""),
        ("open environments", shown_open),
        ("trajectories", f"{summary.trajectories} ({summary.counted} counted, {summary.excluded} excluded)"),
        ("tasks", "" if summary.tasks is None else f"{summary.tasks} (the unit of the intervals)"),
        (
            "mean reward",
            _with_interval(summary.mean_reward, summary.task_mean_reward, summary.mean_reward_ci, ".3f", summary),
        ),
        (
            "success rate",
            ""
            if summary.success_rate is None
            else f"{summary.success_rate:.1%} (reward >= {success_threshold:g})"
            + _interval_text(summary.task_success_rate, summary.success_rate_ci, ".1%", summary),
        ),
        (
            "pass@k",
            ", ".join(f"@{k} {v:.1%}" for k, v in summary.pass_at_k.items()) if len(summary.pass_at_k) > 1 else "",
        ),
        ("errors", f"{summary.errors}" + (f" ({kinds})" if kinds else "")),
        ("duration", _durations(summary.duration_median, summary.duration_p90)),
    ]
    if loaded.error:
        fields.append(("error", loaded.error))
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        if value or key in ("metadata", "mean reward", "success rate"):
            _write_field(out, key, value, width)


def _write_field(out: TextIO, key: str, value: str, width: int) -> None:
    # Every value may come from a server or an agent: control characters shown escaped, and a
    # multi-line error indented under its first line.
    shown = printable(value, keep_newlines=True).replace("\n", "\n" + " " * (width + 2))
    out.write(f"{key.ljust(width)}  {shown}".rstrip() + "\n")


def _interval_text(value: float | None, ci: tuple[float, float] | None, spec: str, summary: JobSummary) -> str:
    """`; over tasks 0.500 (95% CI 0.400 to 0.600)`, or nothing when there is no task-level number."""
    if value is None or summary.confidence is None:
        return ""
    if ci is None:
        return f"; over tasks {value:{spec}} (no interval with {summary.tasks} task{'s' if summary.tasks != 1 else ''})"
    return f"; over tasks {value:{spec}} ({summary.confidence:.0%} CI {ci[0]:{spec}} to {ci[1]:{spec}})"


def _with_interval(
    value: float | None, over_tasks: float | None, ci: tuple[float, float] | None, spec: str, summary: JobSummary
) -> str:
    return "" if value is None else f"{value:{spec}}" + _interval_text(over_tasks, ci, spec, summary)


def _durations(median: float | None, p90: float | None) -> str:
    if median is None or p90 is None:
        return ""
    return f"median {median:.3g} s, p90 {p90:.3g} s"


@jobs.command("compare")
@click.argument("job_a")
@click.argument("job_b")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@threshold_option
@confidence_option
@run_command
async def compare_jobs(job_a: str, job_b: str, fmt: str, success_threshold: float, confidence: float) -> None:
    """Compare job B with job A, paired over the tasks both ran.

    Paired over tasks: the difference in mean reward with its interval and p-value, the success
    rate difference, McNemar's test, the smallest detectable difference, and the tasks that
    improved or regressed. Needs hud[analysis].
    """
    result = await compare(job_a, job_b, success_threshold=success_threshold, confidence=confidence)
    out = sys.stdout
    if fmt == "json":
        out.write(result.model_dump_json(indent=2) + "\n")
        return
    level = f"{confidence:.0%}"

    def interval(ci: tuple[float, float] | None) -> str:
        return "" if ci is None else f" ({level} CI {ci[0]:+.3f} to {ci[1]:+.3f})"

    def number(value: float | None, spec: str = ".3f") -> str:
        return "" if value is None else format(value, spec)

    def listed(ids: list[str], limit: int = 10) -> str:
        more = len(ids) - limit
        return ", ".join(ids[:limit]) + (f" … and {more} more" if more > 0 else "")

    untasked = result.untasked_a + result.untasked_b
    p_value, mcnemar = number(result.p_value, ".2g"), number(result.mcnemar_p, ".2g")
    fields = [
        ("answer", result.verdict),
        ("A", result.job_a),
        ("B", result.job_b),
        (
            "tasks",
            f"{result.tasks_paired} paired, {len(result.only_in_a)} only in A, {len(result.only_in_b)} only in B"
            + (f", {untasked} without a task id" if untasked else ""),
        ),
        ("mean reward", f"A {number(result.mean_a)}, B {number(result.mean_b)}"),
        (
            "difference",
            number(result.mean_diff, "+.3f") + interval(result.mean_diff_ci) + f", p = {p_value}",
        ),
        ("bootstrap", interval(result.mean_diff_ci_bootstrap).strip(" ()")),
        (
            "success rate",
            number(result.success_diff, "+.3f") + interval(result.success_diff_ci) + f", McNemar p = {mcnemar}",
        ),
        ("correlation", number(result.correlation, ".2f")),
        ("detectable", "" if result.mde is None else f"{result.mde:.3f} (80% power, alpha 0.05)"),
        ("improved", f"{len(result.improved)}: {listed(result.improved)}" if result.improved else "0"),
        ("regressed", f"{len(result.regressed)}: {listed(result.regressed)}" if result.regressed else "0"),
    ]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        _write_field(out, key, value, width)
