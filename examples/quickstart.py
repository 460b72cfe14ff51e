"""Quickstart: an evaluation of a scripted agent on a toy problem, recorded as one HUD job.

The toy problem: guess a hidden number from 0 to 99, told "higher" or "lower" after each guess, within a
step budget. The agent bisects; tight budgets make some runs fail, and the agent crashes on one kind of
task, so the summary shows rewards, failures and errors.

Run it with nothing configured and it uses the embedded local server (data in ~/.hud); set HUD_BASE_URL
and HUD_API_KEY to record the job on a `hud server` or the HUD platform instead.

    python examples/quickstart.py
"""

from __future__ import annotations

import asyncio
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import hud
from hud.job import job, load_job

N_TASKS = 24


@dataclass(frozen=True)
class Task:
    """One run: the hidden number and the guesses allowed."""

    id: str
    secret: int
    budget: int


class CrashingAgentError(RuntimeError):
    """The scripted agent's deliberate bug."""


async def solve(task: Task) -> float:
    """Play one task in its own environment; the reward is 1 when the number is found in budget."""
    async with await hud.gym.make("guess-the-number", task_id=task.id, metadata={"budget": task.budget}) as env:
        low, high = 0, 99
        for _ in range(task.budget):
            guess = (low + high) // 2
            if task.secret == 13 and guess < 20:
                raise CrashingAgentError("the agent is superstitious about 13")  # recorded as the error
            answer = "correct" if guess == task.secret else ("higher" if guess < task.secret else "lower")
            await env.record_step(
                observation_text=f"range {low}-{high}; guessed {guess}: {answer}",
                actions=[{"type": "guess", "value": guess}],
            )
            await asyncio.sleep(0.01)  # the agent "thinks"; other environments run meanwhile
            if answer == "correct":
                await env.close(reward=1.0, logs=f"found {task.secret}")
                return 1.0
            low, high = (guess + 1, high) if answer == "higher" else (low, guess - 1)
        await env.close(reward=0.0, logs=f"out of guesses; it was {task.secret}")
        return 0.0


@job("quickstart: guess the number", metadata={"agent": "bisect", "tasks": N_TASKS})
async def evaluate(tasks: list[Task]) -> str:
    """Run every task concurrently as environments of one job; returns the job's id."""
    active = hud.current_job()
    assert active is not None
    print(f"job {active.id}: running {len(tasks)} environments concurrently ...")
    done = 0

    async def solve_and_count(task: Task) -> float:
        nonlocal done
        try:
            return await solve(task)
        finally:
            done += 1
            if sys.stderr.isatty():  # one line, redrawn; nothing when the output goes to a file or pipe
                print(f"\r  {done}/{len(tasks)} environments done", end="", file=sys.stderr, flush=True)

    results = await asyncio.gather(*(solve_and_count(task) for task in tasks), return_exceptions=True)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    crashed = sum(isinstance(r, Exception) for r in results)
    print(f"job {active.id}: done ({crashed} environments crashed, their errors recorded)")
    return active.id


async def main() -> None:
    rng = random.Random(7)
    tasks = [
        Task(id=f"task-{i:02d}", secret=rng.randrange(100), budget=rng.choice([4, 6, 7, 8])) for i in range(N_TASKS)
    ]
    tasks[3] = Task(id="task-03", secret=13, budget=7)

    job_id = await evaluate(tasks)

    loaded = await load_job(job_id)
    summary = await loaded.summary()  # the scoring rule: an agent's crash counts as a failure (reward 0)
    print()
    print(f"job:           {loaded.name} ({loaded.id})")
    print(f"status:        {loaded.status}")
    print(f"trajectories:  {summary.trajectories} ({summary.counted} counted, {summary.steps} steps)")
    print(f"mean reward:   {summary.mean_reward or 0.0:.3f}{interval(summary.mean_reward_ci, '.3f')}")
    print(f"success rate:  {summary.success_rate or 0.0:.1%}{interval(summary.success_rate_ci, '.1%')}")
    if summary.confidence is not None:
        print(f"               (intervals at {summary.confidence:.0%} over {summary.tasks} tasks)")
    print(f"errors:        {summary.errors} {summary.by_error_kind}")
    async for t in loaded.iter_trajectories():
        if t.error:
            print(f"  {t.task_id} ({t.id}): [{t.error_kind}] {t.error}")
    print(f"recorded on:   {hud.get_settings().target_description}")
    print(f"\nsee it again:  {hud_command()} jobs show {loaded.id}")


def interval(ci: tuple[float, float] | None, spec: str) -> str:
    """`  (CI 0.214 to 0.619)`, or nothing when there is none (fewer than two tasks)."""
    return "" if ci is None else f"  (CI {ci[0]:{spec}} to {ci[1]:{spec}})"


def hud_command() -> str:
    """How to run this environment's `hud` from here: `hud` when it is on PATH, else its path (.venv/bin/hud)."""
    beside = Path(sys.executable).parent / "hud"
    if not beside.exists():
        return "hud"
    found = shutil.which("hud")
    if found is not None and Path(found).resolve() == beside.resolve():
        return "hud"
    try:
        return str(beside.relative_to(Path.cwd()))
    except ValueError:
        return str(beside)


if __name__ == "__main__":
    asyncio.run(main())
