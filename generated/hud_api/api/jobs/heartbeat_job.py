# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.job import Job
from ...types import Response


def _get_kwargs(
    job_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/jobs/{job_id}/heartbeat".format(
            job_id=quote(str(job_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | Job | None:
    if response.status_code == 200:
        response_200 = Job.from_dict(response.json())

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

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Job:
    if response.status_code == 200:
        response_200 = Job.from_dict(response.json())

        return response_200

    errors.raise_for_status(client, "heartbeatJob", response)


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | Job]:
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
) -> Response[Error | Job]:
    """Hold a running job's lease (Extension)

     **Extension.** The process running a job sends this every few seconds (the SDK: every
    `HUD_HEARTBEAT_INTERVAL` seconds, default 10). A `running` job whose last heartbeat is older
    than the server's lease (`hud server --job-lease`, default 60 s) reads as `crashed`, and its open
    environments are closed as trajectories with `error_kind: crashed`, keeping their steps. A
    heartbeat to a `crashed` job makes it `running` again. Without any heartbeat a job holds no
    lease and never crashes. Repeating a heartbeat is harmless: it takes no body and no
    Idempotency-Key.

    Args:
        job_id (str): An opaque id.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Job]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient,
) -> Job:
    """Hold a running job's lease (Extension)

    **Extension.** The process running a job sends this every few seconds (the SDK: every
    `HUD_HEARTBEAT_INTERVAL` seconds, default 10). A `running` job whose last heartbeat is older
    than the server's lease (`hud server --job-lease`, default 60 s) reads as `crashed`, and its open
    environments are closed as trajectories with `error_kind: crashed`, keeping their steps. A
    heartbeat to a `crashed` job makes it `running` again. Without any heartbeat a job holds no
    lease and never crashes. Repeating a heartbeat is harmless: it takes no body and no
    Idempotency-Key.

    Returns the parsed success answer; any other answer raises.

    Args:
        job_id (str): An opaque id.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job
    """

    kwargs = _get_kwargs(
        job_id=job_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _parse_success(client=client, response=response)


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[Error | Job]:
    """Hold a running job's lease (Extension)

     **Extension.** The process running a job sends this every few seconds (the SDK: every
    `HUD_HEARTBEAT_INTERVAL` seconds, default 10). A `running` job whose last heartbeat is older
    than the server's lease (`hud server --job-lease`, default 60 s) reads as `crashed`, and its open
    environments are closed as trajectories with `error_kind: crashed`, keeping their steps. A
    heartbeat to a `crashed` job makes it `running` again. Without any heartbeat a job holds no
    lease and never crashes. Repeating a heartbeat is harmless: it takes no body and no
    Idempotency-Key.

    Args:
        job_id (str): An opaque id.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Job]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient,
) -> Job:
    """Hold a running job's lease (Extension)

    **Extension.** The process running a job sends this every few seconds (the SDK: every
    `HUD_HEARTBEAT_INTERVAL` seconds, default 10). A `running` job whose last heartbeat is older
    than the server's lease (`hud server --job-lease`, default 60 s) reads as `crashed`, and its open
    environments are closed as trajectories with `error_kind: crashed`, keeping their steps. A
    heartbeat to a `crashed` job makes it `running` again. Without any heartbeat a job holds no
    lease and never crashes. Repeating a heartbeat is harmless: it takes no body and no
    Idempotency-Key.

    Returns the parsed success answer; any other answer raises.

    Args:
        job_id (str): An opaque id.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job
    """

    kwargs = _get_kwargs(
        job_id=job_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _parse_success(client=client, response=response)


async def asyncio_raw(
    job_id: str,
    *,
    client: AuthenticatedClient,
) -> httpx.Response:
    """Send the request and return the undecoded `httpx.Response`, whatever its status code.

    For callers that validate the body themselves, straight from its bytes.
    """

    kwargs = _get_kwargs(
        job_id=job_id,
    )

    return await client.get_async_httpx_client().request(**kwargs)
