"""The one module that talks to the generated client (`hud_api`).

Everything the facade sends goes through `_send`: one pooled client per event loop and settings,
an explicit timeout, the retry policy, and the mapping of answers to `hud.errors`. Each operation
returns the answer parsed into the facade's pydantic models (the caller names the model, so this
module needs no import of `hud.job`), never an `httpx.Response`. When the spec changes, this is the
file that changes with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import httpx
import pydantic
from hud_api import AuthenticatedClient
from hud_api.api.environments import append_steps as _append_steps
from hud_api.api.environments import close_environment as _close_environment
from hud_api.api.environments import create_environment as _create_environment
from hud_api.api.environments import list_environment_steps as _list_environment_steps
from hud_api.api.environments import list_job_environments as _list_job_environments
from hud_api.api.jobs import create_job as _create_job
from hud_api.api.jobs import get_job as _get_job
from hud_api.api.jobs import get_job_summary as _get_job_summary
from hud_api.api.jobs import heartbeat_job as _heartbeat_job
from hud_api.api.jobs import list_job_tasks as _list_job_tasks
from hud_api.api.jobs import list_jobs as _list_jobs
from hud_api.api.jobs import update_job as _update_job
from hud_api.api.trajectories import get_trajectory as _get_trajectory
from hud_api.api.trajectories import list_job_trajectories as _list_job_trajectories
from hud_api.models import (
    EnvironmentClose,
    EnvironmentCreate,
    JobCreate,
    JobUpdate,
    JobUpdateMetadataMerge,
    MetadataType0,
    StepsAppend,
)
from hud_api.models import TrajectoryStep as WireStep
from hud_api.models import TrajectoryStepActionsItem as WireAction
from hud_api.models.error_kind import check_error_kind
from hud_api.models.list_job_environments_state import check_list_job_environments_state
from hud_api.types import UNSET, Unset

from hud import _embedded
from hud._call_errors import retry_after_seconds, status_error, unreachable
from hud._constants import BACKOFF_BASE, BACKOFF_CAP, MAX_DETAIL_CHARS, PLATFORM_BASE_URL, RETRY_AFTER_CAP
from hud._guards import IDENTITY, AnswerTooLarge, bounded, redirected, too_large, warn_plain_http
from hud._pool import LIMITS, use_lifo_pool
from hud._terminal import printable, shorten
from hud._wire import IN_FLIGHT_HEADER, NEXT_CURSOR_HEADER, SHOULD_RETRY_HEADER
from hud.errors import ConfigurationError, ServerError
from hud.settings import Settings
from hud.trajectory import Trajectory, TrajectoryStep, TrajectorySummary

__all__ = [
    "aclose",
    "append_steps",
    "close_environment",
    "create_environment",
    "create_job",
    "get_job",
    "get_job_summary",
    "get_trajectory",
    "get_trajectory_json",
    "heartbeat_job",
    "import_records",
    "list_environment_steps",
    "list_job_environments",
    "list_job_tasks",
    "list_job_trajectories",
    "list_job_trajectories_json",
    "list_jobs",
    "new_client",
    "update_job",
]

logger = logging.getLogger("hud")

#: Statuses worth another try: the request may succeed unchanged a moment later.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
M = TypeVar("M", bound=pydantic.BaseModel)
_TRAJECTORIES = pydantic.TypeAdapter(list[Trajectory])

_ClientKey = tuple[str, str | None, str | None, float]
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_ClientKey, AuthenticatedClient]] = (
    weakref.WeakKeyDictionary()
)


def new_client(settings: Settings) -> AuthenticatedClient:
    """A generated client configured from `settings` (embedded transport, base URL, key, timeout).

    Its `sync()`/`asyncio()` calls raise `hud.errors` for an answer that is not a success.
    """
    timeout = httpx.Timeout(settings.timeout)
    raise_for_status = _raiser(settings)
    hooks = {"response": [bounded]}  # answers are read at most MAX_ANSWER_BYTES far, uncompressed
    if settings.mode == "embedded":
        return AuthenticatedClient(
            base_url=_embedded.EMBEDDED_BASE_URL,
            token=_embedded.EMBEDDED_TOKEN,
            timeout=timeout,
            headers=IDENTITY,
            httpx_args={"transport": _embedded.transport(settings.database_path), "event_hooks": hooks},
            raise_for_status=raise_for_status,
        )
    base_url = settings.resolved_base_url
    if settings.api_key is None or base_url is None:
        raise ConfigurationError(
            f"HUD_BASE_URL is set ({settings.base_url}) but no API key is: set HUD_API_KEY or pass api_key= "
            "(`hud keys create --db URL --account NAME` makes one on the server's database), "
            "or unset HUD_BASE_URL to use the embedded local server"
        )
    _announce(settings)
    warn_plain_http(base_url)
    client = AuthenticatedClient(
        base_url=base_url,
        token=settings.api_key.get_secret_value(),
        timeout=timeout,
        headers=IDENTITY,
        raise_for_status=raise_for_status,
        httpx_args={"limits": LIMITS, "event_hooks": hooks},
    )
    use_lifo_pool(client.get_async_httpx_client())  # see hud/_pool.py: per-call cost after a burst
    return client


_announced: set[str] = set()


def _announce(settings: Settings) -> None:
    """Say once per process, in the log, that a key without a base URL sends everything to the platform."""
    if settings.target == "platform" and PLATFORM_BASE_URL not in _announced:
        _announced.add(PLATFORM_BASE_URL)
        logger.info(
            "hud: HUD_API_KEY is set without HUD_BASE_URL: calls go to the HUD platform at %s "
            "(set HUD_BASE_URL to use your own `hud server`)",
            PLATFORM_BASE_URL,
        )


def _client_key(settings: Settings) -> _ClientKey:
    key = settings.api_key.get_secret_value() if settings.api_key is not None else None
    where = str(settings.database_path) if settings.mode == "embedded" else settings.resolved_base_url
    return (settings.mode, where, key, settings.timeout)


#: Requests in flight per event loop, httpx's default pool size: beyond it requests would queue inside
#: httpcore, whose queue handling grows quadratic in its length (thousands of concurrent environments).
MAX_CONCURRENT_REQUESTS = 100
_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _limit() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    limit = _limits.get(loop)
    if limit is None:
        limit = _limits[loop] = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)
    return limit


def _pooled_client(settings: Settings) -> AuthenticatedClient:
    # One client per event loop: an httpx.AsyncClient's connections belong to the loop that opened them.
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = {}
    key = _client_key(settings)
    client = pool.get(key)
    if client is None:
        client = pool[key] = new_client(settings)
    return client


async def aclose() -> None:
    """Close the pooled connections of the running event loop (they reopen on the next call)."""
    pool = _pools.pop(asyncio.get_running_loop(), {})
    for client in pool.values():
        await client.get_async_httpx_client().aclose()


def _in_flight(response: httpx.Response) -> bool:
    # Such a 409 means only that the same Idempotency-Key is still being processed: a retry gets the
    # first answer. Any other 409 is about the object's state and is never retried.
    return response.status_code == 409 and response.headers.get(IN_FLIGHT_HEADER, "").strip().lower() == "true"


def _never_retry(response: httpx.Response) -> bool:
    # The server knows no retry can fix this one (its database is damaged): raise at once.
    value: str = response.headers.get(SHOULD_RETRY_HEADER, "")
    return value.strip().lower() == "false"


def _backoff(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, RETRY_AFTER_CAP)
    # Jittered down by up to half: concurrent clients that failed together do not come back together,
    # and the retries still add up to a known minimum (HUD_MAX_RETRIES=8: 20 to 40 s), enough to
    # outlast a server restart. Full jitter could add up to almost nothing.
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
    return random.uniform(delay / 2, delay)  # noqa: S311


def _raiser(settings: Settings) -> Callable[[str, httpx.Response], NoReturn]:
    """The generated client's `raise_for_status`: the facade's errors for the raw client too."""

    def raise_for_status(operation: str, response: httpx.Response) -> NoReturn:
        raise status_error(settings, operation, response)

    return raise_for_status


async def _send(
    operation: str, settings: Settings, call: Callable[[AuthenticatedClient], Awaitable[httpx.Response]]
) -> httpx.Response:
    """Send one logical request, retrying what may succeed later; a 2xx answer, or a `HudError`.

    A POST's `call` carries one Idempotency-Key across its retries, so a retry of a request whose
    answer was lost replays the first answer instead of repeating the write. A call that needs
    retries logs one warning (the first retry); the others go to DEBUG.
    """
    client = _pooled_client(settings)
    attempt = 0
    started = time.monotonic()
    while True:
        retry_after: float | None = None
        try:
            async with _limit():
                response = await call(client)
        except AnswerTooLarge as exc:
            raise too_large(operation, exc) from None
        except httpx.TransportError as exc:
            if attempt >= settings.max_retries:
                raise unreachable(settings, operation, exc, attempt + 1, time.monotonic() - started) from None
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            if 300 <= response.status_code < 400:
                raise redirected(operation, response)
            if response.status_code < 400:
                if attempt:
                    logger.info("hud: %s succeeded after %d retries", operation, attempt)
                return response
            error = status_error(settings, operation, response)
            retry_after = retry_after_seconds(response)
            retryable = response.status_code in RETRYABLE_STATUSES or _in_flight(response)
            if attempt >= settings.max_retries or not retryable or _never_retry(response):
                raise error
            reason = f"HTTP {response.status_code}: {error.detail}"
        delay = _backoff(attempt, retry_after)
        attempt += 1
        # One warning per call that needs retries, not one per retry: 24 environments waiting for a
        # restarting server would otherwise print 200 lines.
        log = logger.warning if attempt == 1 else logger.debug
        log(
            "hud: %s failed at %s (%s); retry %d of %d in %.2f s",
            operation,
            settings.target_description,
            reason,
            attempt,
            settings.max_retries,
            delay,
        )
        await asyncio.sleep(delay)


def _metadata(value: dict[str, Any] | None) -> MetadataType0 | None:
    return None if value is None else MetadataType0.from_dict(value)


def _idempotency_key() -> str:
    return str(uuid.uuid4())


def _parse(model: type[M], response: httpx.Response, operation: str) -> M:
    """An answer's raw bytes validated straight into `model`; an unreadable answer is a `ServerError`."""
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        problem = printable(shorten(str(exc), MAX_DETAIL_CHARS))
        raise ServerError(200, f"the answer is not a valid {model.__name__}: {problem}", operation=operation) from None


def _json(response: httpx.Response, operation: str) -> Any:
    """An answer's JSON as plain values, for callers that pass it on unchanged (`hud sync`)."""
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise ServerError(200, f"the answer is not JSON: {exc}", operation=operation) from None


async def create_job(
    settings: Settings,
    model: type[M],
    *,
    name: str,
    metadata: dict[str, Any] | None,
    gym_id: str | None,
    evalset_id: str | None,
    job_id: str | None = None,
) -> M:
    """POST /v2/jobs; the new job as `model` (`job_id`: the id the client chose, an extension)."""
    body = JobCreate(
        name=name,
        metadata=_metadata(metadata),
        gym_id=gym_id,
        evalset_id=evalset_id,
        id=UNSET if job_id is None else job_id,
    )
    key = _idempotency_key()
    response = await _send(
        "createJob", settings, lambda c: _create_job.asyncio_raw(client=c, body=body, idempotency_key=key)
    )
    return _parse(model, response, "createJob")


async def get_job(settings: Settings, model: type[M], job_id: str) -> M:
    """GET /v2/jobs/{job_id}; the job as `model`."""
    response = await _send("getJob", settings, lambda c: _get_job.asyncio_raw(job_id, client=c))
    return _parse(model, response, "getJob")


async def update_job(
    settings: Settings,
    model: type[M],
    job_id: str,
    *,
    status: str | Unset = UNSET,
    metadata: dict[str, Any] | Unset | None = UNSET,
    error: str | Unset | None = UNSET,
    metadata_merge: dict[str, Any] | Unset = UNSET,
) -> M:
    """PATCH /v2/jobs/{job_id}; fields left UNSET are not sent. The updated job as `model`."""
    body = JobUpdate(
        status=status,
        metadata=metadata if isinstance(metadata, Unset) else _metadata(metadata),
        error=error,
        metadata_merge=metadata_merge
        if isinstance(metadata_merge, Unset)
        else JobUpdateMetadataMerge.from_dict(metadata_merge),
    )
    response = await _send("updateJob", settings, lambda c: _update_job.asyncio_raw(job_id, client=c, body=body))
    return _parse(model, response, "updateJob")


async def heartbeat_job(settings: Settings, model: type[M], job_id: str) -> M:
    """POST /v2/jobs/{job_id}/heartbeat; the job as `model`."""
    response = await _send("heartbeatJob", settings, lambda c: _heartbeat_job.asyncio_raw(job_id, client=c))
    return _parse(model, response, "heartbeatJob")


async def list_job_environments(
    settings: Settings, model: type[M], job_id: str, *, limit: int, cursor: str | None, state: str | None
) -> M:
    """GET /v2/jobs/{job_id}/environments, one page, as `model`."""
    response = await _send(
        "listJobEnvironments",
        settings,
        lambda c: _list_job_environments.asyncio_raw(
            job_id,
            client=c,
            limit=limit,
            cursor=UNSET if cursor is None else cursor,
            state=UNSET if state is None else check_list_job_environments_state(state),
        ),
    )
    return _parse(model, response, "listJobEnvironments")


async def get_job_summary(settings: Settings, model: type[M], job_id: str, *, success_threshold: float) -> M:
    """GET /v2/jobs/{job_id}/summary, as `model`."""
    response = await _send(
        "getJobSummary",
        settings,
        lambda c: _get_job_summary.asyncio_raw(job_id, client=c, success_threshold=success_threshold),
    )
    return _parse(model, response, "getJobSummary")


async def list_job_tasks(
    settings: Settings, model: type[M], job_id: str, *, limit: int, cursor: str | None, success_threshold: float
) -> M:
    """GET /v2/jobs/{job_id}/tasks, one page, as `model`."""
    response = await _send(
        "listJobTasks",
        settings,
        lambda c: _list_job_tasks.asyncio_raw(
            job_id,
            client=c,
            limit=limit,
            cursor=UNSET if cursor is None else cursor,
            success_threshold=success_threshold,
        ),
    )
    return _parse(model, response, "listJobTasks")


async def list_jobs(
    settings: Settings, model: type[M], *, limit: int, cursor: str | None, status: str | None, name: str | None
) -> M:
    """GET /v2/jobs, one page, as `model`."""
    response = await _send(
        "listJobs",
        settings,
        lambda c: _list_jobs.asyncio_raw(
            client=c,
            limit=limit,
            cursor=UNSET if cursor is None else cursor,
            status=UNSET if status is None else status,
            name=UNSET if name is None else name,
        ),
    )
    return _parse(model, response, "listJobs")


async def list_job_trajectories(
    settings: Settings, job_id: str, *, limit: int, cursor: str | None
) -> tuple[list[Trajectory], str | None]:
    """GET /v2/jobs/{job_id}/trajectories, one page: its trajectories and the next page's cursor."""
    response = await _send(
        "listJobTrajectories",
        settings,
        lambda c: _list_job_trajectories.asyncio_raw(
            job_id, client=c, limit=limit, cursor=UNSET if cursor is None else cursor
        ),
    )
    # Straight from bytes into pydantic: no detour through the generated attrs models and dicts.
    try:
        page = _TRAJECTORIES.validate_json(response.content)
    except pydantic.ValidationError as exc:
        problem = printable(shorten(str(exc), MAX_DETAIL_CHARS))
        raise ServerError(
            200, f"the answer is not a list of trajectories: {problem}", operation="listJobTrajectories"
        ) from None
    return page, response.headers.get(NEXT_CURSOR_HEADER) or None


async def list_job_trajectories_json(
    settings: Settings, job_id: str, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """GET /v2/jobs/{job_id}/trajectories, one page, as plain JSON values (times as the server wrote them)."""
    response = await _send(
        "listJobTrajectories",
        settings,
        lambda c: _list_job_trajectories.asyncio_raw(
            job_id, client=c, limit=limit, cursor=UNSET if cursor is None else cursor
        ),
    )
    page = _json(response, "listJobTrajectories")
    if not isinstance(page, list):
        raise ServerError(200, "the answer is not a list of trajectories", operation="listJobTrajectories")
    return page, response.headers.get(NEXT_CURSOR_HEADER) or None


async def get_trajectory_json(settings: Settings, trajectory_id: str) -> dict[str, Any]:
    """GET /v2/trajectories/{trajectory_id}, as plain JSON values."""
    response = await _send("getTrajectory", settings, lambda c: _get_trajectory.asyncio_raw(trajectory_id, client=c))
    found: dict[str, Any] = _json(response, "getTrajectory")
    return found


async def list_environment_steps(settings: Settings, env_id: str, *, offset: int, limit: int) -> dict[str, Any]:
    """GET /v2/environments/{env_id}/steps (extension), one page, as plain JSON values."""
    response = await _send(
        "listEnvironmentSteps",
        settings,
        lambda c: _list_environment_steps.asyncio_raw(env_id, client=c, offset=offset, limit=limit),
    )
    page: dict[str, Any] = _json(response, "listEnvironmentSteps")
    return page


async def import_records(settings: Settings, body: bytes) -> dict[str, Any]:
    """POST /v2/import (extension) with a body already encoded as JSON; the answer's counts and conflicts.

    The body is sent as the bytes given, not through the generated model: `hud sync` encodes each
    record once, to keep every batch within the server's limits, and a batch holds up to
    hundreds of thousands of values that a model would copy twice more.
    """
    key = _idempotency_key()
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    response = await _send(
        "importRecords",
        settings,
        lambda c: c.get_async_httpx_client().post("/v2/import", content=body, headers=headers),
    )
    result: dict[str, Any] = _json(response, "importRecords")
    return result


async def get_trajectory(settings: Settings, trajectory_id: str) -> Trajectory:
    """GET /v2/trajectories/{trajectory_id}."""
    response = await _send("getTrajectory", settings, lambda c: _get_trajectory.asyncio_raw(trajectory_id, client=c))
    return _parse(Trajectory, response, "getTrajectory")


async def create_environment(
    settings: Settings,
    model: type[M],
    *,
    run_id: str | None,
    gym_id: str,
    task_id: str | None,
    metadata: dict[str, Any] | None,
    env_id: str | None = None,
) -> M:
    """POST /v2/create_environment (`run_id` is the job id; `env_id`: the id the client chose, an extension)."""
    body = EnvironmentCreate(
        gym_id=gym_id,
        run_id=run_id,
        task_id=task_id,
        metadata=_metadata(metadata),
        id=UNSET if env_id is None else env_id,
    )
    key = _idempotency_key()
    response = await _send(
        "createEnvironment",
        settings,
        lambda c: _create_environment.asyncio_raw(client=c, body=body, idempotency_key=key),
    )
    return _parse(model, response, "createEnvironment")


def _wire_step(step: TrajectoryStep) -> WireStep:
    return WireStep(
        observation_url=step.observation_url,
        observation_text=step.observation_text,
        actions=[WireAction.from_dict(action) for action in step.actions],
        start_timestamp=step.start_timestamp,
        end_timestamp=step.end_timestamp,
    )


async def append_steps(settings: Settings, env_id: str, steps: list[TrajectoryStep]) -> None:
    """POST /v2/environments/{env_id}/steps."""
    body = StepsAppend(steps=[_wire_step(step) for step in steps])
    key = _idempotency_key()
    await _send(
        "appendSteps", settings, lambda c: _append_steps.asyncio_raw(env_id, client=c, body=body, idempotency_key=key)
    )


async def close_environment(
    settings: Settings,
    env_id: str,
    *,
    reward: float | None,
    logs: str | None,
    error: str | None,
    error_kind: str | None = None,
) -> TrajectorySummary:
    """POST /v2/environments/{env_id}/close with the outcome; the summary of the trajectory it left."""
    body = EnvironmentClose(
        reward=reward, logs=logs, error=error, error_kind=UNSET if error_kind is None else check_error_kind(error_kind)
    )
    key = _idempotency_key()
    response = await _send(
        "closeEnvironment",
        settings,
        lambda c: _close_environment.asyncio_raw(env_id, client=c, body=body, idempotency_key=key),
    )
    return _parse(TrajectorySummary, response, "closeEnvironment")
