"""What the SDK and the reference server must agree on, in one place: standard library only.

Header names, the limits `openapi.yaml` states, job statuses and the success rule. The facade
(`hud.job`, `hud._api`, ...) and the server (`hud.server`) both import this module and nothing of
each other; `tests/test_wire.py` checks every limit here against the spec.
"""

from __future__ import annotations

import ipaddress

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_SUCCESS_THRESHOLD",
    "FINAL_STATUSES",
    "IDEMPOTENCY_KEY_HEADER",
    "IN_FLIGHT_HEADER",
    "JOB_PAGE_DEFAULT",
    "JOB_PAGE_MAX",
    "JOB_STATUSES",
    "MAX_ACTION_DEPTH",
    "MAX_CURSOR_LENGTH",
    "MAX_ERROR_LENGTH",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_JSON_VALUES",
    "MAX_METADATA_BYTES",
    "MAX_METADATA_DEPTH",
    "MAX_NAME_LENGTH",
    "MAX_STATUS_LENGTH",
    "MAX_STEPS_PER_APPEND",
    "NEXT_CURSOR_HEADER",
    "REPLAYED_HEADER",
    "TRAJECTORY_PAGE_MAX",
    "is_loopback_host",
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
JOB_PAGE_MAX = 1000
JOB_PAGE_DEFAULT = 100
TRAJECTORY_PAGE_MAX = 10000
#: Compact UTF-8 JSON.
MAX_METADATA_BYTES = 1024 * 1024
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
#: accept any other value the platform adds.
JOB_STATUSES = ("created", "running", "completed", "failed", "cancelled")
#: Statuses after which a job changes no more by itself.
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})

# -- scoring -----------------------------------------------------------------------------------------

#: A trajectory succeeded when its reward is at least this, unless a caller says otherwise.
DEFAULT_SUCCESS_THRESHOLD = 1.0


def succeeded(reward: float | None, threshold: float = DEFAULT_SUCCESS_THRESHOLD) -> bool:
    """The success rule: a reward of at least `threshold` (an unscored trajectory did not succeed).

    The server's SQL aggregates apply the same comparison (`reward >= threshold`); tests check that
    both agree on the same data.
    """
    return reward is not None and reward >= threshold


def trajectory_outcome(reward: float | None, error: str | None, threshold: float = DEFAULT_SUCCESS_THRESHOLD) -> str:
    """How a trajectory ended: `error` (it has an error), `success`, `fail`, or `unscored` (no reward)."""
    if error:
        return "error"
    if reward is None:
        return "unscored"
    return "success" if succeeded(reward, threshold) else "fail"


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
