"""What the SDK and the reference server must agree on, in one place: standard library only.

Header names, the limits `openapi.yaml` states, job statuses and the success rule. The facade
(`hud.job`, `hud._api`, ...) and the server (`hud.server`) both import this module and nothing of
each other; `tests/test_wire.py` checks every limit here against the spec.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence

__all__ = [
    "CLIENT_ID_PATTERN",
    "DEFAULT_JOB_LEASE",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_SUCCESS_THRESHOLD",
    "DURATION_QUANTILES",
    "ENVIRONMENT_PAGE_MAX",
    "ERROR_KINDS",
    "FINAL_STATUSES",
    "IDEMPOTENCY_KEY_HEADER",
    "IN_FLIGHT_HEADER",
    "JOB_PAGE_DEFAULT",
    "JOB_PAGE_MAX",
    "JOB_PAGE_MAX_BYTES",
    "JOB_STATUSES",
    "MAX_ACTION_DEPTH",
    "MAX_CURSOR_LENGTH",
    "MAX_ENVIRONMENT_BYTES",
    "MAX_ENVIRONMENT_STEPS",
    "MAX_ERROR_LENGTH",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_JSON_VALUES",
    "MAX_LOGS_LENGTH",
    "MAX_METADATA_BYTES",
    "MAX_METADATA_DEPTH",
    "MAX_NAME_LENGTH",
    "MAX_STATUS_LENGTH",
    "MAX_STEPS_PER_APPEND",
    "MAX_STEP_BYTES",
    "NEXT_CURSOR_HEADER",
    "NOT_COUNTED_KINDS",
    "OUTCOMES",
    "REPLAYED_HEADER",
    "SHOULD_RETRY_HEADER",
    "STEP_PAGE_MAX",
    "TASK_PAGE_DEFAULT",
    "TASK_PAGE_MAX",
    "TRAJECTORY_PAGE_MAX",
    "TRAJECTORY_PAGE_MAX_BYTES",
    "counted_reward",
    "counts",
    "effective_error_kind",
    "is_loopback_host",
    "nearest_rank",
    "succeeded",
    "trajectory_outcome",
]

# -- headers ---------------------------------------------------------------------------------------

#: One key per logical POST; a retry with the same key replays the first answer.
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
#: `true` on a 409 that only means "the same Idempotency-Key is still being processed": clients retry
#: that one, never a 409 about an object's state.
IN_FLIGHT_HEADER = "Idempotency-In-Flight"
#: `true` on an answer replayed from the idempotency store.
REPLAYED_HEADER = "Idempotency-Replayed"
#: `false` on an error answer that no retry can fix (the server's database is damaged), whatever its
#: status; clients then raise at once. (The header OpenAI's and Stripe's APIs send for the same.)
SHOULD_RETRY_HEADER = "X-Should-Retry"
#: The cursor of the next page of a job's trajectories (the body stays a bare array).
NEXT_CURSOR_HEADER = "X-Next-Cursor"

# -- limits (each is stated in openapi.yaml) ---------------------------------------------------------

MAX_NAME_LENGTH = 256
MAX_ID_LENGTH = 128
MAX_STATUS_LENGTH = 64
MAX_ERROR_LENGTH = 65536
MAX_CURSOR_LENGTH = 512
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_STEPS_PER_APPEND = 1000
#: Steps per page when reading an environment's steps.
STEP_PAGE_MAX = 1000
#: An id a client chooses (job, environment): URL-safe, so it stays the same in every path.
CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
JOB_PAGE_MAX = 1000
JOB_PAGE_DEFAULT = 100
TRAJECTORY_PAGE_MAX = 10000
ENVIRONMENT_PAGE_MAX = 1000
#: A page of jobs ends early once their metadata and errors hold about this many characters (a
#: page always holds at least one job).
JOB_PAGE_MAX_BYTES = 8 * 1024 * 1024
#: A page of a job's trajectories ends early once it holds about this many bytes of them (a page
#: always holds at least one trajectory, however large).
TRAJECTORY_PAGE_MAX_BYTES = 8 * 1024 * 1024
#: Per-task aggregates (`GET /v2/jobs/{job_id}/tasks`) per page.
TASK_PAGE_MAX = 10000
TASK_PAGE_DEFAULT = 1000
#: Compact UTF-8 JSON.
MAX_METADATA_BYTES = 1024 * 1024
#: One step, as compact UTF-8 JSON (an inline screenshot as a data: URL fits; bulkier data belongs
#: elsewhere, behind its URL).
MAX_STEP_BYTES = 4 * 1024 * 1024
#: An environment's steps, together (compact UTF-8 JSON), and how many.
MAX_ENVIRONMENT_BYTES = 512 * 1024 * 1024
MAX_ENVIRONMENT_STEPS = 100_000
#: The `logs` of a closed environment (its `error` has MAX_ERROR_LENGTH, like a job's).
MAX_LOGS_LENGTH = 4 * 1024 * 1024
#: Objects and arrays, the body itself being the first level.
MAX_JSON_DEPTH = 64
#: Metadata sits at level 2 of a body, so it has 63 levels left.
MAX_METADATA_DEPTH = MAX_JSON_DEPTH - 1
#: An action sits at level 5 of an appendSteps body (body, steps, step, actions, action).
MAX_ACTION_DEPTH = MAX_JSON_DEPTH - 4
#: Values (scalars, objects, arrays) in one request body: what parsing a body may allocate is bounded
#: by this, not by the body's size alone (16 MiB of `0,` would be eight million values).
MAX_JSON_VALUES = 250_000
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024

# -- job statuses ----------------------------------------------------------------------------------

#: The statuses the SDK and the server set. `status` is a free string on the wire: a client must
#: accept any other value the platform adds. `crashed`: the process running the job stopped sending
#: heartbeats for longer than the job's lease (a heartbeat makes it `running` again).
JOB_STATUSES = ("created", "running", "completed", "failed", "cancelled", "crashed")
#: Statuses after which a job changes no more by itself.
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
#: Seconds without a heartbeat after which the server calls a `running` job `crashed`.
DEFAULT_JOB_LEASE = 60.0

# -- scoring -----------------------------------------------------------------------------------------

#: Why a trajectory ended in error. `agent`: the agent's code raised; `timeout`: its time ran out;
#: `infrastructure`: creating or talking to the environment or the server failed (or an exception
#: the user declared as such); `cancelled`: the run was cancelled (Ctrl-C, SIGTERM, a cancelled job);
#: `crashed`: the process running it died (its job's lease ran out).
ERROR_KINDS = ("agent", "timeout", "infrastructure", "cancelled", "crashed")
#: Error kinds that say nothing about the agent: excluded from means and success rates, and what a
#: resume runs again. `agent` and `timeout` count as failures of the agent.
NOT_COUNTED_KINDS = frozenset({"infrastructure", "cancelled", "crashed"})
#: How a trajectory counts (`trajectory_outcome`).
OUTCOMES = ("success", "fail", "unscored", "excluded")

#: A trajectory succeeded when its reward is at least this, unless a caller says otherwise.
DEFAULT_SUCCESS_THRESHOLD = 1.0


def effective_error_kind(error: str | None, error_kind: str | None) -> str | None:
    """The error kind a trajectory counts with: its own, else `agent` when it has an error (a
    trajectory recorded without kinds, by an older client or the platform), else None."""
    if error_kind is not None:
        return error_kind
    return "agent" if error else None


def counts(error: str | None, error_kind: str | None) -> bool:
    """Whether a trajectory counts in means and success rates (its error kind says something about
    the agent, or it has none)."""
    return effective_error_kind(error, error_kind) not in NOT_COUNTED_KINDS


def counted_reward(reward: float | None, error: str | None, error_kind: str | None) -> float | None:
    """The reward a trajectory counts with: None when it does not count or was never scored; 0 for
    a failure of the agent (`agent`, `timeout`) that was given no reward."""
    kind = effective_error_kind(error, error_kind)
    if kind in NOT_COUNTED_KINDS:
        return None
    if reward is None and kind is not None:
        return 0.0
    return reward


def succeeded(reward: float | None, threshold: float = DEFAULT_SUCCESS_THRESHOLD) -> bool:
    """The success rule: a reward of at least `threshold` (an unscored trajectory did not succeed).

    The server's SQL aggregates apply the same comparison (`reward >= threshold`); tests check that
    both agree on the same data.
    """
    return reward is not None and reward >= threshold


def trajectory_outcome(
    reward: float | None,
    error: str | None,
    error_kind: str | None = None,
    threshold: float = DEFAULT_SUCCESS_THRESHOLD,
) -> str:
    """How a trajectory counts: `excluded` (an error kind that says nothing about the agent),
    `unscored` (counted, but no reward and no error), `success` or `fail` (of `OUTCOMES`)."""
    if not counts(error, error_kind):
        return "excluded"
    value = counted_reward(reward, error, error_kind)
    if value is None:
        return "unscored"
    return "success" if succeeded(value, threshold) else "fail"


#: The quantiles of trajectory durations in a summary.
DURATION_QUANTILES = {"duration_median": 0.5, "duration_p90": 0.9}


def nearest_rank(q: float, n: int) -> int:
    """The 0-based index, in `n` sorted values, of their `q` quantile by nearest rank: the smallest
    value with at least a share `q` of the values at or below it (PostgreSQL's `percentile_disc`),
    so a quantile is always one of the values. The server's SQL and the SDK's fallback both use it."""
    return max(1, math.ceil(q * n)) - 1


def nearest_rank_value(q: float, ordered: Sequence[float]) -> float | None:
    """The `q` quantile of values already sorted, by `nearest_rank` (None for no values)."""
    return ordered[nearest_rank(q, len(ordered))] if ordered else None


# -- addresses -------------------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """Whether a host name or IP address (IPv6 without brackets) can only mean this machine.

    `localhost` and its subdomains (browsers resolve `*.localhost` to loopback themselves, RFC 6761),
    127.0.0.0/8 and ::1. The SDK warns before sending a key in clear to any other host; a server
    without keys answers only requests addressed to these (DNS rebinding sends another name).
    """
    host = host.strip().lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)
