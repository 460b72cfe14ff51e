"""The API's endpoints: every request authenticates, then parses, then runs its operation.

Authentication (`_auth`) comes first, then what the request carries is read and parsed (`_http`,
`_requests`), then its operation (`_operations`) runs in a transaction (`_transactions`), through
the idempotency store for a POST with an Idempotency-Key (`_idempotency`). Nothing reaches the
database writer before the caller is known and the request is valid.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import itertools
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hud._wire import (
    ENVIRONMENT_PAGE_MAX,
    IDEMPOTENCY_KEY_HEADER,
    JOB_PAGE_DEFAULT,
    JOB_PAGE_MAX,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_STATUS_LENGTH,
    NEXT_CURSOR_HEADER,
    REPLAYED_HEADER,
    STEP_PAGE_MAX,
    TRAJECTORY_PAGE_MAX,
)
from hud.server._auth import Authenticator
from hud.server._check import is_damage
from hud.server._errors import ApiError
from hud.server._http import JSON, check_query, damaged, error_response, read_body, unexpected
from hud.server._idempotency import Idempotency, InFlight, Purger, Replay, request_hash
from hud.server._import_body import ImportBatch
from hud.server._operations import environments, imports, jobs, trajectories
from hud.server._render import dumps
from hud.server._requests import (
    EnvironmentClose,
    EnvironmentCreate,
    JobCreate,
    JobUpdate,
    StepsAppend,
    check_id,
    parse_body,
    query_int,
    query_str,
)
from hud.server._sweeper import Sweeper
from hud.server._transactions import Transactions

__all__ = ["Endpoints"]

try:
    VERSION = importlib.metadata.version("hud")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    VERSION = "0+unknown"

#: An operation bound to its request's arguments: `op(conn, account) -> JSON text`.
Op = Callable[[Connection, str], str]

_NO_PARAMS: frozenset[str] = frozenset()
#: The Idempotency-Key format of openapi.yaml (`^[!-~]+$`): what travels in a header unchanged.
_VISIBLE_ASCII = re.compile(r"[!-~]+")
_PAGE_PARAMS = frozenset({"limit", "cursor"})
_LIST_JOBS_PARAMS = frozenset({"limit", "cursor", "status", "name"})
_LIST_ENVIRONMENTS_PARAMS = frozenset({"limit", "cursor", "state"})
_STEP_PAGE_PARAMS = frozenset({"offset", "limit"})


class Endpoints:
    """The handlers of openapi.yaml's operations over one database."""

    def __init__(
        self, transactions: Transactions, auth: Authenticator, *, max_body_bytes: int, job_lease: float
    ) -> None:
        self.tx = transactions
        self.auth = auth
        self.max_body_bytes = max_body_bytes
        self.lease = job_lease
        self.sweeper = Sweeper(transactions, job_lease)
        self.idempotency = Idempotency(postgres=transactions.postgres)
        self.in_flight = InFlight()
        self.purger = Purger(transactions)
        self._spec: bytes | None = None

    # -- the request path --------------------------------------------------------------------------

    def _failed(self, request: Request, exc: Exception) -> Response:
        if is_damage(exc) and self.tx.damage is None:
            self.tx.damage = damaged(exc)
        return unexpected(request, exc)

    async def _write(
        self, request: Request, parse: Callable[[bytes], Awaitable[Op]], replay: Replay | None = None
    ) -> Response:
        try:
            account = await self.auth.account(request)
            if self.tx.damage is not None:
                raise self.tx.damage  # writing into damaged pages can only spread the damage
            check_query(request, _NO_PARAMS)
            raw = await read_body(request, self.max_body_bytes)
            op = await parse(raw)
            key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
            if key is None:
                body = await self.tx.write(lambda conn: op(conn, account))
                return Response(body.encode(), media_type=JSON)
            if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH or not _VISIBLE_ASCII.fullmatch(key):
                raise ApiError(
                    422,
                    f"the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII "
                    "characters, no spaces (use a UUID)",
                )
            # scope["path"] is request.url.path without building the whole URL.
            digest = request_hash(request.method, request.scope["path"], raw)
            with self.in_flight.claim(account, key):
                body, replayed = await self.tx.write(
                    lambda conn: self.idempotency.run(conn, account, key, digest, lambda c: op(c, account), replay)
                )
            self.purger.poke()
            return Response(body.encode(), media_type=JSON, headers={REPLAYED_HEADER: "true"} if replayed else None)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            return self._failed(request, exc)

    async def _read(self, request: Request, build: Callable[[], Op], allowed: frozenset[str] = _NO_PARAMS) -> Response:
        try:
            account = await self.auth.account(request)
            check_query(request, allowed)
            op = build()
            body = await self.tx.read(lambda conn: op(conn, account))
            return Response(body.encode(), media_type=JSON)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            return self._failed(request, exc)

    # -- endpoints ---------------------------------------------------------------------------------

    async def create_job(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            return functools.partial(jobs.create_job, body=await parse_body(JobCreate, raw), lease=self.lease)

        return await self._write(request, parse, self._job_replay)

    def _job_replay(self, conn: Connection, account: str, job_id: str) -> str:
        # A replayed job answer shows the job as it is now (its stored answer was only its id).
        return jobs.get_job(conn, account, job_id, self.lease)

    async def list_jobs(self, request: Request) -> Response:
        def build() -> Op:
            params = request.query_params
            limit = query_int(params, "limit", low=1, high=JOB_PAGE_MAX, default=JOB_PAGE_DEFAULT)
            assert limit is not None
            return functools.partial(
                jobs.list_jobs,
                limit=limit,
                cursor=params.get("cursor"),
                status=query_str(params, "status", max_length=MAX_STATUS_LENGTH),
                name=query_str(params, "name", max_length=MAX_NAME_LENGTH),
                lease=self.lease,
            )

        return await self._read(request, build, _LIST_JOBS_PARAMS)

    async def get_job(self, request: Request) -> Response:
        return await self._read(
            request,
            lambda: functools.partial(
                jobs.get_job, job_id=check_id(request.path_params["job_id"], "job_id"), lease=self.lease
            ),
        )

    async def update_job(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            job_id = check_id(request.path_params["job_id"], "job_id")
            body = await parse_body(JobUpdate, raw)
            return functools.partial(jobs.update_job, job_id=job_id, body=body, lease=self.lease)

        return await self._write(request, parse, self._job_replay)

    async def heartbeat_job(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            if raw.strip():
                raise ApiError(422, "a heartbeat takes no body: send none")
            job_id = check_id(request.path_params["job_id"], "job_id")
            return functools.partial(jobs.heartbeat, job_id=job_id, lease=self.lease)

        return await self._write(request, parse)

    async def list_environments(self, request: Request) -> Response:
        try:
            account = await self.auth.account(request)
            check_query(request, _LIST_ENVIRONMENTS_PARAMS)
            job_id = check_id(request.path_params["job_id"], "job_id")
            params = request.query_params
            limit = query_int(params, "limit", low=1, high=ENVIRONMENT_PAGE_MAX, default=JOB_PAGE_DEFAULT)
            assert limit is not None
            state = params.get("state")
            if state not in (None, "open", "closed"):
                raise ApiError(422, "query parameter state must be open or closed")
            op = functools.partial(
                environments.list_environments,
                account=account,
                job_id=job_id,
                limit=limit,
                cursor=params.get("cursor"),
                state=state,
                lease=self.lease,
            )
            page = await self.tx.read(op)
            if page.expired:
                await self.sweeper.crash(account, job_id)
                page = await self.tx.read(op)
            assert page.body is not None
            return Response(page.body.encode(), media_type=JSON)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            return self._failed(request, exc)

    async def list_trajectories(self, request: Request) -> Response:
        try:
            account = await self.auth.account(request)
            check_query(request, _PAGE_PARAMS)
            job_id = check_id(request.path_params["job_id"], "job_id")
            limit = query_int(request.query_params, "limit", low=1, high=TRAJECTORY_PAGE_MAX, default=None)
            cursor = request.query_params.get("cursor")
            read = functools.partial(
                trajectories.first_page, account=account, job_id=job_id, limit=limit, cursor=cursor, lease=self.lease
            )
            first = await self.tx.read(read)
            if first.expired:
                # The job's lease ran out: its open environments become crashed trajectories first.
                await self.sweeper.crash(account, job_id)
                first = await self.tx.read(read)
            headers = {NEXT_CURSOR_HEADER: first.next_cursor} if first.next_cursor else None
            rest: Iterable[list[trajectories.Meta]] = ()
            if limit is None and first.more:
                rest = trajectories.later_batches(self.tx.read_now, account, job_id, first.metas[-1].seq)
            elif first.body is not None:
                return Response(f"[{first.body}]".encode(), media_type=JSON, headers=headers)
            return StreamingResponse(self._array(account, job_id, first, rest), media_type=JSON, headers=headers)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            return self._failed(request, exc)

    def _array(
        self, account: str, job_id: str, first: trajectories.FirstPage, rest: Iterable[list[trajectories.Meta]]
    ) -> Iterator[bytes]:
        # Each piece comes from its own short read transaction (never a pinned snapshot) and holds
        # at most about READ_BYTES of stored data, however large the page or a trajectory.
        yield b"["
        if first.body is not None:
            yield first.body.encode()
            items = trajectories.array_items(self.tx.read_now, account, job_id, rest, after_first=bool(first.body))
        else:
            items = trajectories.array_items(self.tx.read_now, account, job_id, itertools.chain([first.metas], rest))
        for piece in items:
            yield piece.encode()
        yield b"]"

    async def get_trajectory(self, request: Request) -> Response:
        try:
            account = await self.auth.account(request)
            check_query(request, _NO_PARAMS)
            trajectory_id = check_id(request.path_params["trajectory_id"], "trajectory_id")
            meta, body = await self.tx.read(lambda conn: trajectories.open_trajectory(conn, account, trajectory_id))
            if body is not None:
                return Response(body.encode(), media_type=JSON)
            pieces = trajectories.trajectory_pieces(self.tx.read_now, meta)
            return StreamingResponse((piece.encode() for piece in pieces), media_type=JSON)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            return self._failed(request, exc)

    async def create_environment(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            return functools.partial(environments.create_environment, body=await parse_body(EnvironmentCreate, raw))

        return await self._write(request, parse, environments.environment_answer)

    async def append_steps(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            env_id = check_id(request.path_params["env_id"], "env_id")
            texts = environments.step_texts(await parse_body(StepsAppend, raw))
            return functools.partial(environments.append_steps, env_id=env_id, steps=texts)

        return await self._write(request, parse)

    async def list_steps(self, request: Request) -> Response:
        def build() -> Op:
            params = request.query_params
            offset = query_int(params, "offset", low=0, high=2**31 - 1, default=0)
            limit = query_int(params, "limit", low=1, high=STEP_PAGE_MAX, default=JOB_PAGE_DEFAULT)
            assert offset is not None and limit is not None
            env_id = check_id(request.path_params["env_id"], "env_id")
            return functools.partial(environments.list_steps, env_id=env_id, offset=offset, limit=limit)

        return await self._read(request, build, _STEP_PAGE_PARAMS)

    async def import_records(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            return functools.partial(imports.import_batch, body=await parse_body(ImportBatch, raw))

        return await self._write(request, parse)

    async def close_environment(self, request: Request) -> Response:
        async def parse(raw: bytes) -> Op:
            env_id = check_id(request.path_params["env_id"], "env_id")
            body = await parse_body(EnvironmentClose, raw, optional=True)
            return functools.partial(environments.close_environment, env_id=env_id, body=body)

        return await self._write(request, parse, environments.closed_answer)

    async def health(self, request: Request) -> Response:
        if self.tx.damage is not None:
            return error_response(self.tx.damage)
        try:
            await self.tx.health()
        except Exception as exc:
            return self._failed(request, exc)
        return Response(dumps({"status": "ok", "version": VERSION}).encode(), media_type=JSON)

    async def openapi(self, _request: Request) -> Response:
        if self._spec is None:
            self._spec = (importlib.resources.files("hud_api") / "openapi.yaml").read_bytes()
        return Response(self._spec, media_type="application/yaml")
