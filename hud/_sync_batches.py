"""The import requests of `hud sync`: records packed into batches within the target's limits, sent in order.

Each record is encoded to JSON once, as it is added, so a batch's size and its count of JSON values
are known before it is sent: a batch stays under `BATCH_BYTES` and `BATCH_VALUES`, well inside the
limits of `hud._wire` (a target configured smaller answers 413: the batch is split and later ones
are made smaller). One batch is sent while the next is filled, and batches are sent one at a time,
in the order their records were added, so an environment's steps reach the target before its close.
A record the target refuses (413 alone, 422) or reports as a conflict is a problem of the report,
and the later records of its environment (or job) are dropped.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic_core

from hud import _api
from hud._sync_report import SyncProblem, SyncReport
from hud._wire import DEFAULT_MAX_BODY_BYTES, MAX_JSON_VALUES, MAX_STEPS_PER_APPEND
from hud.errors import ConfigurationError, InvalidRequestError, NotFoundError
from hud.settings import Settings

__all__ = ["BATCH_BYTES", "BATCH_VALUES", "Batches"]

#: Bytes of one import request: a quarter of the server's default limit, so a batch parses in well
#: under a second and a target with a smaller limit rarely needs a split.
BATCH_BYTES = DEFAULT_MAX_BODY_BYTES // 4
#: JSON values of one import request (the server refuses more than MAX_JSON_VALUES).
BATCH_VALUES = MAX_JSON_VALUES // 2
#: A 413 halves the batch size, down to this.
MIN_BATCH_BYTES = 64 * 1024
_KINDS = ("jobs", "environments", "steps", "closes")
_REPORTED = {"jobs": "jobs", "environments": "environments", "steps": "steps", "closes": "trajectories"}
#: A record's kind as problems name it (as the server names its conflicts).
_PROBLEM_KIND = {"jobs": "job", "environments": "environment", "steps": "steps", "closes": "close"}
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _encode(value: Any) -> bytes:
    # Compact UTF-8 JSON, about six times faster than json.dumps on steps (the bulk of a sync). The
    # values come from a store's JSON answers: no NaN, no other types.
    return pydantic_core.to_json(value)


def _values(data: bytes) -> int:
    """At least the JSON values in `data` (each but the first follows a comma or opens a container),
    counted as the server counts them: commas and brackets inside strings are left out when it matters."""
    bound = 1 + data.count(b",") + data.count(b"[") + data.count(b"{")
    if bound <= 1024:
        return bound
    bare = _STRINGS.sub(b'""', data)
    return 1 + bare.count(b",") + bare.count(b"[") + bare.count(b"{")


@dataclass(frozen=True)
class _Record:
    kind: str
    data: bytes
    values: int
    job_id: str
    env_id: str | None
    steps: int = 0


class Batches:
    """Packs records into import requests and sends them to `settings`' server, counting into `report`.

    Args:
        settings: The target.
        report: Counts, problems and bytes are added to it as answers arrive.
        dry_run: Count what would be sent; send nothing.
        on_sent: Called after each answer (progress).
    """

    def __init__(
        self,
        settings: Settings,
        report: SyncReport,
        *,
        dry_run: bool = False,
        on_sent: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.report = report
        self.dry_run = dry_run
        self.on_sent = on_sent
        self.max_bytes = BATCH_BYTES
        self.max_values = BATCH_VALUES
        self.failed_jobs: set[str] = set()
        self.failed_envs: set[str] = set()
        self._pending: list[_Record] = []
        self._bytes = 0
        self._count = 0
        self._sending: asyncio.Task[None] | None = None

    def failed(self, job_id: str, env_id: str | None = None) -> bool:
        """Whether the job, or the environment, had a problem: its later records are not sent."""
        return job_id in self.failed_jobs or (env_id is not None and env_id in self.failed_envs)

    async def add(self, kind: str, record: dict[str, Any], *, job_id: str, env_id: str | None = None) -> None:
        """Adds a job, environment or close record (`kind`: jobs, environments, closes)."""
        if not self.failed(job_id, env_id):
            data = _encode(record)
            await self._add(_Record(kind, data, _values(data), job_id, env_id))

    async def add_steps(self, job_id: str, env_id: str, position: int, steps: list[dict[str, Any]]) -> None:
        """Adds an environment's steps from `position` on, as records that each fit a batch."""
        if self.failed(job_id, env_id):
            return
        head = b'{"env_id":' + _encode(env_id) + b',"position":'
        whole = _encode(steps)
        if (
            len(steps) <= MAX_STEPS_PER_APPEND
            and len(whole) <= self.max_bytes // 2
            and (values := _values(whole)) <= self.max_values // 2
        ):
            # The usual case: one record, encoded in one call.
            data = head + str(position).encode() + b',"steps":' + whole + b"}"
            await self._add(_Record("steps", data, values + 4, job_id, env_id, len(steps)))
            return
        chunk: list[bytes] = []
        size = values = 0
        for step in steps:
            data = _encode(step)
            count = _values(data)
            full = size + len(data) > self.max_bytes // 2 or values + count > self.max_values // 2
            if chunk and (len(chunk) >= MAX_STEPS_PER_APPEND or full):
                await self._add_chunk(head, job_id, env_id, position, chunk)
                position += len(chunk)
                chunk, size, values = [], 0, 0
            chunk.append(data)
            size += len(data) + 1
            values += count
        if chunk:
            await self._add_chunk(head, job_id, env_id, position, chunk)

    async def _add_chunk(self, head: bytes, job_id: str, env_id: str, position: int, chunk: list[bytes]) -> None:
        data = head + str(position).encode() + b',"steps":[' + b",".join(chunk) + b"]}"
        await self._add(_Record("steps", data, _values(data), job_id, env_id, len(chunk)))

    async def _add(self, record: _Record) -> None:
        full = self._bytes + len(record.data) > self.max_bytes or self._count + record.values > self.max_values
        if self._pending and full:
            await self.flush()
        self._pending.append(record)
        self._bytes += len(record.data) + 1
        self._count += record.values

    async def flush(self) -> None:
        """Starts sending what was added, once the batch before it is answered."""
        if not self._pending:
            return
        batch, self._pending, self._bytes, self._count = self._pending, [], 0, 0
        await self._wait()
        self._sending = asyncio.ensure_future(self._send(batch))

    async def close(self) -> None:
        """Sends what is left and waits for every answer; raises what stopped a request (after its retries)."""
        await self.flush()
        await self._wait()

    async def _wait(self) -> None:
        sending, self._sending = self._sending, None
        if sending is not None:
            await sending

    async def _send(self, batch: list[_Record]) -> None:
        batch = [r for r in batch if not self.failed(r.job_id, r.env_id)]
        if not batch:
            return
        if self.dry_run:
            for record in batch:
                getattr(self.report, _REPORTED[record.kind]).copied += record.steps or 1
            self.on_sent()
            return
        body = _body(batch)
        try:
            answer = await _api.import_records(self.settings, body)
        except NotFoundError as exc:
            raise ConfigurationError(
                f"{self.settings.target_description} cannot import (POST /v2/import answered 404: {exc.detail}): "
                "copy to a `hud server` of this version or later"
            ) from None
        except InvalidRequestError as exc:
            if len(batch) == 1:
                self._problem(batch[0].job_id, batch[0].kind, batch[0].env_id or batch[0].job_id, exc.detail)
                return
            if exc.status_code == 413:
                self.max_bytes = max(MIN_BATCH_BYTES, min(self.max_bytes, len(body)) // 2)
            # Halves, in order: the one record the target refuses is found, the others go through.
            half = len(batch) // 2
            await self._send(batch[:half])
            await self._send(batch[half:])
            return
        self.report.requests += 1
        self.report.bytes_sent += len(body)
        for kind in _KINDS:
            counts = getattr(self.report, _REPORTED[kind])
            counts.copied += int(answer[kind]["written"])
            counts.skipped += int(answer[kind]["unchanged"])
        jobs_of = {r.env_id: r.job_id for r in batch if r.env_id is not None}
        for conflict in answer["conflicts"]:
            object_id = str(conflict["id"])
            kind = str(conflict["kind"])
            job_id = object_id if kind == "job" else jobs_of.get(object_id, "?")
            self._problem(job_id, kind, object_id, str(conflict["detail"]))
        self.on_sent()

    def _problem(self, job_id: str, kind: str, object_id: str, detail: str) -> None:
        kind = _PROBLEM_KIND.get(kind, kind)
        self.report.problems.append(SyncProblem(job_id=job_id, kind=kind, id=object_id, detail=detail))
        if kind == "job":
            self.failed_jobs.add(job_id)
        else:
            self.failed_envs.add(object_id)


def _body(batch: list[_Record]) -> bytes:
    parts: dict[str, list[bytes]] = {kind: [] for kind in _KINDS}
    for record in batch:
        parts[record.kind].append(record.data)
    return b"{" + b",".join(b'"%s":[%s]' % (k.encode(), b",".join(v)) for k, v in parts.items() if v) + b"}"
