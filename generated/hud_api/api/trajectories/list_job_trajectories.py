# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.trajectory import Trajectory
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/jobs/{job_id}/trajectories".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | list[Trajectory] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = Trajectory.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> list[Trajectory]:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = Trajectory.from_dict(response_200_item_data)

            response_200.append(response_200_item)

        return response_200

    errors.raise_for_status(client, "listJobTrajectories", response)


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | list[Trajectory]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[Error | list[Trajectory]]:
    """List a job's trajectories

     A JSON array of the job's trajectories, oldest first.

    **Extension:** paging. With `limit`, at most that many trajectories are answered, and fewer once
    the page holds about 8 MiB (8,388,608 bytes) of them (a page always holds at least one, however
    large); when more follow, the `X-Next-Cursor` response header holds the cursor to pass as
    `cursor` for the next page. The body stays a bare array either way; without `limit` every
    trajectory is answered. Large answers are streamed (no `Content-Length`).

    Args:
        job_id (str): An opaque id.
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[Trajectory]]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> list[Trajectory]:
    """List a job's trajectories

    A JSON array of the job's trajectories, oldest first.

    **Extension:** paging. With `limit`, at most that many trajectories are answered, and fewer once
    the page holds about 8 MiB (8,388,608 bytes) of them (a page always holds at least one, however
    large); when more follow, the `X-Next-Cursor` response header holds the cursor to pass as
    `cursor` for the next page. The body stays a bare array either way; without `limit` every
    trajectory is answered. Large answers are streamed (no `Content-Length`).

    Returns the parsed success answer; any other answer raises.

    Args:
        job_id (str): An opaque id.
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        list[Trajectory]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _parse_success(client=client, response=response)


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[Error | list[Trajectory]]:
    """List a job's trajectories

     A JSON array of the job's trajectories, oldest first.

    **Extension:** paging. With `limit`, at most that many trajectories are answered, and fewer once
    the page holds about 8 MiB (8,388,608 bytes) of them (a page always holds at least one, however
    large); when more follow, the `X-Next-Cursor` response header holds the cursor to pass as
    `cursor` for the next page. The body stays a bare array either way; without `limit` every
    trajectory is answered. Large answers are streamed (no `Content-Length`).

    Args:
        job_id (str): An opaque id.
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | list[Trajectory]]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> list[Trajectory]:
    """List a job's trajectories

    A JSON array of the job's trajectories, oldest first.

    **Extension:** paging. With `limit`, at most that many trajectories are answered, and fewer once
    the page holds about 8 MiB (8,388,608 bytes) of them (a page always holds at least one, however
    large); when more follow, the `X-Next-Cursor` response header holds the cursor to pass as
    `cursor` for the next page. The body stays a bare array either way; without `limit` every
    trajectory is answered. Large answers are streamed (no `Content-Length`).

    Returns the parsed success answer; any other answer raises.

    Args:
        job_id (str): An opaque id.
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        list[Trajectory]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _parse_success(client=client, response=response)


async def asyncio_raw(
    job_id: str,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> httpx.Response:
    """Send the request and return the undecoded `httpx.Response`, whatever its status code.

    For callers that validate the body themselves, straight from its bytes.
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        limit=limit,
        cursor=cursor,
    )

    return await client.get_async_httpx_client().request(**kwargs)
