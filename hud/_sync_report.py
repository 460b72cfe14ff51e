"""`SyncReport`: what `hud.sync` copied, what was there already, and what could not be copied, and why."""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field

__all__ = ["SyncCounts", "SyncProblem", "SyncReport"]


class SyncCounts(BaseModel):
    """Objects of one kind: `copied` to the target by this sync, `skipped` because the target had them."""

    copied: int = 0
    skipped: int = 0


class SyncProblem(BaseModel):
    """Something that could not be copied, and why (the rest of its job may have been).

    Attributes:
        job_id: The job it belongs to.
        kind: `job`, `environment`, `steps` or `close` (a trajectory).
        id: The job's or the environment's id.
        detail: Why, as the target (or the sync) said it.
    """

    job_id: str
    kind: str
    id: str
    detail: str


class SyncReport(BaseModel):
    """What one `hud.sync` did.

    Counts are per kind: jobs (their records: name, status, metadata, heartbeat), environments,
    trajectories (closed environments) and steps. `copied` went to the target in this run;
    `skipped` were there already (copied by an earlier run, or by this one before an interruption).
    With `dry_run`, `copied` is what a real run would copy. A run that copied everything it found
    has no `problems` and was not `stopped`: then `ok` is true.

    Example:
        >>> report = await hud.sync(to_base_url="https://hud.example.com")  # doctest: +SKIP
        >>> report.ok, report.trajectories.copied  # doctest: +SKIP
        (True, 240)
    """

    source: str
    target: str
    dry_run: bool = False
    jobs: SyncCounts = Field(default_factory=SyncCounts)
    environments: SyncCounts = Field(default_factory=SyncCounts)
    trajectories: SyncCounts = Field(default_factory=SyncCounts)
    steps: SyncCounts = Field(default_factory=SyncCounts)
    bytes_sent: int = 0
    """Bytes of import requests sent (each retry counted once)."""
    requests: int = 0
    """Import requests sent."""
    seconds: float = 0.0
    problems: list[SyncProblem] = Field(default_factory=list)
    stopped: str | None = None
    """Why the run stopped before the end (the target could not be reached, say); run it again to finish."""
    not_attempted: list[str] = Field(default_factory=list)
    """Jobs the run did not reach because it stopped."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """Whether everything found at the source is at the target now (or, dry, would be)."""
        return not self.problems and self.stopped is None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def copied_nothing(self) -> bool:
        """Whether the target had everything already."""
        return not any(c.copied for c in (self.jobs, self.environments, self.trajectories, self.steps))

    def text(self) -> str:
        """The report for people: a table of counts, then every problem and what to do."""
        verb = "would copy" if self.dry_run else "copied"
        lines = [f"hud sync: {self.source} -> {self.target}" + (" (dry run)" if self.dry_run else "")]
        rows = [("jobs", self.jobs), ("environments", self.environments)]
        rows += [("trajectories", self.trajectories), ("steps", self.steps)]
        lines.append(f"  {'':<13}{verb:>12}{'already there':>15}")
        lines += [f"  {name:<13}{c.copied:>12,}{c.skipped:>15,}" for name, c in rows]
        sent = f"{self.bytes_sent / 1e6:,.1f} MB in {self.requests:,} requests" if self.requests else "nothing"
        lines.append(f"  sent {sent}, {self.seconds:.1f} s")
        if self.copied_nothing and self.ok:
            lines.append(
                "  nothing to copy: the target is up to date" if not self.dry_run else "  nothing would be copied"
            )
        for problem in self.problems:
            lines.append(f"  not copied: {problem.kind} {problem.id} (job {problem.job_id}): {problem.detail}")
        if self.stopped is not None:
            lines.append(f"  stopped: {self.stopped}")
            if self.not_attempted:
                lines.append(f"  {len(self.not_attempted):,} job(s) not reached")
            lines.append("  run the same command again: it copies only what is missing")
        return "\n".join(lines)
