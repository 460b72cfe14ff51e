"""The SDK's own defaults in one place (what the server must agree on is in `hud._wire`)."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_MAX_CONCURRENT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RUN_RETRIES",
    "DEFAULT_TIMEOUT",
    "ENVIRONMENT_PAGE_SIZE",
    "FINAL_STATUS_MAX_RETRIES",
    "JOB_PAGE_SIZE",
    "LEASE_POLL_INTERVAL",
    "MAX_ANSWER_BYTES",
    "MAX_DETAIL_CHARS",
    "PLATFORM_BASE_URL",
    "RETRY_AFTER_CAP",
    "RUN_BACKOFF_BASE",
    "RUN_BACKOFF_CAP",
    "TASK_PAGE_SIZE",
    "TRAJECTORY_PAGE_SIZE",
    "default_home",
]

#: Where a key without a base URL goes (the address the 0.2-era SDKs used).
PLATFORM_BASE_URL = "https://orchestration.hud.so/hud-gym/api"
DEFAULT_TIMEOUT = 30.0
#: Retries wait BACKOFF_BASE * 2**n seconds, at most BACKOFF_CAP, each jittered down by up to half:
#: 8 retries wait 20 to 40 s in all, so a call rides out a server restart (tests/reliability/test_restart.py).
DEFAULT_MAX_RETRIES = 8
#: Seconds between a running job's heartbeats (its lease on the server is several of these).
DEFAULT_HEARTBEAT_INTERVAL = 10.0
#: Retries of a job's final status update: more than ordinary calls (about a minute in all), since
#: a job left `running` only ends when its lease runs out.
FINAL_STATUS_MAX_RETRIES = 12
#: A server's Retry-After is honoured up to this many seconds, so one bad header cannot stall a run.
RETRY_AFTER_CAP = 30.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
#: Trajectories per request when paging through a job: large enough to amortise the round trip,
#: small enough that memory stays flat however large the job.
TRAJECTORY_PAGE_SIZE = 1000
JOB_PAGE_SIZE = 100
#: Per-task aggregates per request (about 120 bytes each): a job's tasks in one or a few requests.
TASK_PAGE_SIZE = 10000
#: `run_job`: attempts running at once, at most (the SDK itself sends at most 100 requests at once).
DEFAULT_MAX_CONCURRENT = 32
#: `run_job`: re-attempts of an attempt that ended in an infrastructure error.
DEFAULT_RUN_RETRIES = 3
#: `run_job` waits RUN_BACKOFF_BASE * 2**n seconds (at most RUN_BACKOFF_CAP, jittered down by up to
#: half) before the n-th re-attempt: 0.5-1, 1-2, 2-4 s..., unless the error said how long (`retry_after`).
RUN_BACKOFF_BASE = 1.0
RUN_BACKOFF_CAP = 60.0
#: `run_job(resume=...)` of a job still `running` elsewhere: seconds between looks at its lease.
LEASE_POLL_INTERVAL = 1.0
ENVIRONMENT_PAGE_SIZE = 100
#: The largest answer body the SDK reads: past it the answer is refused (a `ServerError`) instead of
#: filling memory. A page of trajectories is the largest answer a server sends.
MAX_ANSWER_BYTES = 256 * 1024 * 1024
#: A server's error detail is cut to this many characters in the exception (its message is for people).
MAX_DETAIL_CHARS = 2000


def default_home() -> Path:
    """The HUD home folder when HUD_HOME is not set."""
    return Path.home() / ".hud"
