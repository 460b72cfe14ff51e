# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.job_page import JobPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    status: str | Unset = UNSET,
    name: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["cursor"] = cursor

    params["status"] = status

    params["name"] = name

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/jobs",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | JobPage | None:
    if response.status_code == 200:
        response_200 = JobPage.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

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


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> JobPage:
    if response.status_code == 200:
        response_200 = JobPage.from_dict(response.json())

        return response_200

    errors.raise_for_status(client, "listJobs", response)


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | JobPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    status: str | Unset = UNSET,
    name: str | Unset = UNSET,
) -> Response[Error | JobPage]:
    """List jobs (Extension)

     **Extension.** The jobs of the caller's account, newest first, a page at a time. Pass the
    `next_cursor` of one page as `cursor` to get the next; it is null on the last page. A page
    holds at most `limit` jobs, and fewer once their metadata and errors hold about 8 MiB
    (8,388,608 characters; a page always holds at least one job).

    Args:
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):
        status (str | Unset):
        name (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | JobPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
        name=name,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    status: str | Unset = UNSET,
    name: str | Unset = UNSET,
) -> JobPage:
    """List jobs (Extension)

    **Extension.** The jobs of the caller's account, newest first, a page at a time. Pass the
    `next_cursor` of one page as `cursor` to get the next; it is null on the last page. A page
    holds at most `limit` jobs, and fewer once their metadata and errors hold about 8 MiB
    (8,388,608 characters; a page always holds at least one job).

    Returns the parsed success answer; any other answer raises.

    Args:
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):
        status (str | Unset):
        name (str | Unset):

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobPage
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
        name=name,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _parse_success(client=client, response=response)


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    status: str | Unset = UNSET,
    name: str | Unset = UNSET,
) -> Response[Error | JobPage]:
    """List jobs (Extension)

     **Extension.** The jobs of the caller's account, newest first, a page at a time. Pass the
    `next_cursor` of one page as `cursor` to get the next; it is null on the last page. A page
    holds at most `limit` jobs, and fewer once their metadata and errors hold about 8 MiB
    (8,388,608 characters; a page always holds at least one job).

    Args:
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):
        status (str | Unset):
        name (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | JobPage]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
        name=name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    status: str | Unset = UNSET,
    name: str | Unset = UNSET,
) -> JobPage:
    """List jobs (Extension)

    **Extension.** The jobs of the caller's account, newest first, a page at a time. Pass the
    `next_cursor` of one page as `cursor` to get the next; it is null on the last page. A page
    holds at most `limit` jobs, and fewer once their metadata and errors hold about 8 MiB
    (8,388,608 characters; a page always holds at least one job).

    Returns the parsed success answer; any other answer raises.

    Args:
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):
        status (str | Unset):
        name (str | Unset):

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobPage
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
        name=name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _parse_success(client=client, response=response)


async def asyncio_raw(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    status: str | Unset = UNSET,
    name: str | Unset = UNSET,
) -> httpx.Response:
    """Send the request and return the undecoded `httpx.Response`, whatever its status code.

    For callers that validate the body themselves, straight from its bytes.
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        status=status,
        name=name,
    )

    return await client.get_async_httpx_client().request(**kwargs)
