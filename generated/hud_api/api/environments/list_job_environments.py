# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.environment_page import EnvironmentPage
from ...models.error import Error
from ...models.list_job_environments_state import ListJobEnvironmentsState
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    state: ListJobEnvironmentsState | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["cursor"] = cursor

    json_state: str | Unset = UNSET
    if not isinstance(state, Unset):
        json_state = state

    params["state"] = json_state

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/jobs/{job_id}/environments".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> EnvironmentPage | Error | None:
    if response.status_code == 200:
        response_200 = EnvironmentPage.from_dict(response.json())

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


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> EnvironmentPage:
    if response.status_code == 200:
        response_200 = EnvironmentPage.from_dict(response.json())

        return response_200

    errors.raise_for_status(client, "listJobEnvironments", response)


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[EnvironmentPage | Error]:
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
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    state: ListJobEnvironmentsState | Unset = UNSET,
) -> Response[EnvironmentPage | Error]:
    """List a job's environments (Extension)

     **Extension.** The job's environments, open and closed, oldest first, a page at a time. Pass
    the `next_cursor` of one page as `cursor` to get the next; it is null on the last page.

    Args:
        job_id (str): An opaque id.
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):
        state (ListJobEnvironmentsState | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EnvironmentPage | Error]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        limit=limit,
        cursor=cursor,
        state=state,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    state: ListJobEnvironmentsState | Unset = UNSET,
) -> EnvironmentPage:
    """List a job's environments (Extension)

    **Extension.** The job's environments, open and closed, oldest first, a page at a time. Pass
    the `next_cursor` of one page as `cursor` to get the next; it is null on the last page.

    Returns the parsed success answer; any other answer raises.

    Args:
        job_id (str): An opaque id.
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):
        state (ListJobEnvironmentsState | Unset):

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EnvironmentPage
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        limit=limit,
        cursor=cursor,
        state=state,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _parse_success(client=client, response=response)


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    state: ListJobEnvironmentsState | Unset = UNSET,
) -> Response[EnvironmentPage | Error]:
    """List a job's environments (Extension)

     **Extension.** The job's environments, open and closed, oldest first, a page at a time. Pass
    the `next_cursor` of one page as `cursor` to get the next; it is null on the last page.

    Args:
        job_id (str): An opaque id.
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):
        state (ListJobEnvironmentsState | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EnvironmentPage | Error]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        limit=limit,
        cursor=cursor,
        state=state,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    state: ListJobEnvironmentsState | Unset = UNSET,
) -> EnvironmentPage:
    """List a job's environments (Extension)

    **Extension.** The job's environments, open and closed, oldest first, a page at a time. Pass
    the `next_cursor` of one page as `cursor` to get the next; it is null on the last page.

    Returns the parsed success answer; any other answer raises.

    Args:
        job_id (str): An opaque id.
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):
        state (ListJobEnvironmentsState | Unset):

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EnvironmentPage
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        limit=limit,
        cursor=cursor,
        state=state,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _parse_success(client=client, response=response)


async def asyncio_raw(
    job_id: str,
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
    state: ListJobEnvironmentsState | Unset = UNSET,
) -> httpx.Response:
    """Send the request and return the undecoded `httpx.Response`, whatever its status code.

    For callers that validate the body themselves, straight from its bytes.
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        limit=limit,
        cursor=cursor,
        state=state,
    )

    return await client.get_async_httpx_client().request(**kwargs)
