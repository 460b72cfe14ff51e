"""The endpoints of a job's aggregates (extensions): `GET /v2/jobs/{job_id}/summary` and `/tasks`.

Like every read: authenticate, then parse the query, then run the operation (`_operations/analysis`,
`_operations/tasks`) in a read transaction; a job whose lease ran out is swept first, so its open
environments count as the crashed trajectories they are.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from hud._wire import DEFAULT_SUCCESS_THRESHOLD, TASK_PAGE_DEFAULT, TASK_PAGE_MAX
from hud.server._auth import Authenticator
from hud.server._errors import ApiError
from hud.server._http import JSON, check_query, error_response, unexpected
from hud.server._operations import analysis, tasks
from hud.server._requests import check_id, query_int
from hud.server._sweeper import Sweeper
from hud.server._transactions import Transactions

__all__ = ["Aggregates", "query_threshold"]

_SUMMARY_PARAMS = frozenset({"success_threshold"})
_TASK_PARAMS = frozenset({"success_threshold", "limit", "cursor"})
#: Longer text is no number anyone means.
_MAX_NUMBER_TEXT = 64


def query_threshold(raw: str | None) -> float:
    """The `success_threshold` query parameter: a finite number, 1.0 when absent; 422 otherwise."""
    if raw is None:
        return DEFAULT_SUCCESS_THRESHOLD
    try:
        value = float(raw) if len(raw) <= _MAX_NUMBER_TEXT else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ApiError(422, f"query parameter success_threshold must be a finite number, not {raw[:64]!r}")
    return value


class Aggregates:
    """The handlers of the summary and per-task endpoints over one database."""

    def __init__(self, transactions: Transactions, auth: Authenticator, sweeper: Sweeper) -> None:
        self.tx = transactions
        self.auth = auth
        self.sweeper = sweeper

    async def _answer(
        self,
        request: Request,
        allowed: frozenset[str],
        build: Callable[[str, str], Callable[[Connection], analysis.Answer]],
    ) -> Response:
        try:
            account = await self.auth.account(request)
            check_query(request, allowed)
            job_id = check_id(request.path_params["job_id"], "job_id")
            op = build(account, job_id)
            answer = await self.tx.read(op)
            if answer.expired:
                await self.sweeper.crash(account, job_id)
                answer = await self.tx.read(op)
            if answer.body is None:
                raise ApiError(503, "the job changed while it was read: retry")
            return Response(answer.body.encode(), media_type=JSON)
        except ApiError as exc:
            return error_response(exc)
        except Exception as exc:
            return unexpected(request, exc)

    async def summary(self, request: Request) -> Response:
        """`GET /v2/jobs/{job_id}/summary`."""

        def build(account: str, job_id: str) -> Callable[[Connection], analysis.Answer]:
            threshold = query_threshold(request.query_params.get("success_threshold"))
            return lambda conn: analysis.job_summary(conn, account, job_id, threshold, self.sweeper.lease)

        return await self._answer(request, _SUMMARY_PARAMS, build)

    async def tasks(self, request: Request) -> Response:
        """`GET /v2/jobs/{job_id}/tasks`."""

        def build(account: str, job_id: str) -> Callable[[Connection], analysis.Answer]:
            params = request.query_params
            limit = query_int(params, "limit", low=1, high=TASK_PAGE_MAX, default=TASK_PAGE_DEFAULT)
            assert limit is not None
            return functools.partial(
                tasks.task_page,
                account=account,
                job_id=job_id,
                threshold=query_threshold(params.get("success_threshold")),
                limit=limit,
                cursor=params.get("cursor"),
                lease=self.sweeper.lease,
            )

        return await self._answer(request, _TASK_PARAMS, build)
