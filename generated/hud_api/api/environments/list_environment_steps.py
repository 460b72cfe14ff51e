# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.step_page import StepPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    env_id: str,
    *,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["offset"] = offset

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/environments/{env_id}/steps".format(
            env_id=quote(str(env_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | StepPage | None:
    if response.status_code == 200:
        response_200 = StepPage.from_dict(response.json())

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


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> StepPage:
    if response.status_code == 200:
        response_200 = StepPage.from_dict(response.json())

        return response_200

    errors.raise_for_status(client, "listEnvironmentSteps", response)


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | StepPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    env_id: str,
    *,
    client: AuthenticatedClient,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> Response[Error | StepPage]:
    """Read an environment's steps (Extension)

     **Extension.** The steps of an environment, open or closed, in order, from position `offset`
    (0 for the first step), at most `limit` of them. `step_count` says how many it has in all:
    read on from `offset` plus the steps answered while that is less.

    Args:
        env_id (str): An opaque id.
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | StepPage]
    """

    kwargs = _get_kwargs(
        env_id=env_id,
        offset=offset,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    env_id: str,
    *,
    client: AuthenticatedClient,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> StepPage:
    """Read an environment's steps (Extension)

    **Extension.** The steps of an environment, open or closed, in order, from position `offset`
    (0 for the first step), at most `limit` of them. `step_count` says how many it has in all:
    read on from `offset` plus the steps answered while that is less.

    Returns the parsed success answer; any other answer raises.

    Args:
        env_id (str): An opaque id.
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        StepPage
    """

    kwargs = _get_kwargs(
        env_id=env_id,
        offset=offset,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _parse_success(client=client, response=response)


async def asyncio_detailed(
    env_id: str,
    *,
    client: AuthenticatedClient,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> Response[Error | StepPage]:
    """Read an environment's steps (Extension)

     **Extension.** The steps of an environment, open or closed, in order, from position `offset`
    (0 for the first step), at most `limit` of them. `step_count` says how many it has in all:
    read on from `offset` plus the steps answered while that is less.

    Args:
        env_id (str): An opaque id.
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | StepPage]
    """

    kwargs = _get_kwargs(
        env_id=env_id,
        offset=offset,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    env_id: str,
    *,
    client: AuthenticatedClient,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> StepPage:
    """Read an environment's steps (Extension)

    **Extension.** The steps of an environment, open or closed, in order, from position `offset`
    (0 for the first step), at most `limit` of them. `step_count` says how many it has in all:
    read on from `offset` plus the steps answered while that is less.

    Returns the parsed success answer; any other answer raises.

    Args:
        env_id (str): An opaque id.
        offset (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        StepPage
    """

    kwargs = _get_kwargs(
        env_id=env_id,
        offset=offset,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _parse_success(client=client, response=response)


async def asyncio_raw(
    env_id: str,
    *,
    client: AuthenticatedClient,
    offset: int | Unset = 0,
    limit: int | Unset = 100,
) -> httpx.Response:
    """Send the request and return the undecoded `httpx.Response`, whatever its status code.

    For callers that validate the body themselves, straight from its bytes.
    """

    kwargs = _get_kwargs(
        env_id=env_id,
        offset=offset,
        limit=limit,
    )

    return await client.get_async_httpx_client().request(**kwargs)
