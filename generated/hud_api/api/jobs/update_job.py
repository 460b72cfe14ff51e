# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.job import Job
from ...models.job_update import JobUpdate
from ...types import Response


def _get_kwargs(
    job_id: str,
    *,
    body: JobUpdate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/v2/jobs/{job_id}".format(
            job_id=quote(str(job_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
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

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

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


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Job:
    if response.status_code == 200:
        response_200 = Job.from_dict(response.json())

        return response_200

    errors.raise_for_status(client, "updateJob", response)


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
    body: JobUpdate,
) -> Response[Error | Job]:
    """Update a job (Extension)

     **Extension.** Sets a job's status, replaces its metadata or merges keys into it
    (`metadata_merge`), and sets its error. Fields left out are unchanged.

    Args:
        job_id (str): An opaque id.
        body (JobUpdate): **Extension.** Fields to change; those left out stay as they are.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Job]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient,
    body: JobUpdate,
) -> Job:
    """Update a job (Extension)

    **Extension.** Sets a job's status, replaces its metadata or merges keys into it
    (`metadata_merge`), and sets its error. Fields left out are unchanged.

    Returns the parsed success answer; any other answer raises.

    Args:
        job_id (str): An opaque id.
        body (JobUpdate): **Extension.** Fields to change; those left out stay as they are.

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
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _parse_success(client=client, response=response)


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient,
    body: JobUpdate,
) -> Response[Error | Job]:
    """Update a job (Extension)

     **Extension.** Sets a job's status, replaces its metadata or merges keys into it
    (`metadata_merge`), and sets its error. Fields left out are unchanged.

    Args:
        job_id (str): An opaque id.
        body (JobUpdate): **Extension.** Fields to change; those left out stay as they are.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Job]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient,
    body: JobUpdate,
) -> Job:
    """Update a job (Extension)

    **Extension.** Sets a job's status, replaces its metadata or merges keys into it
    (`metadata_merge`), and sets its error. Fields left out are unchanged.

    Returns the parsed success answer; any other answer raises.

    Args:
        job_id (str): An opaque id.
        body (JobUpdate): **Extension.** Fields to change; those left out stay as they are.

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
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _parse_success(client=client, response=response)


async def asyncio_raw(
    job_id: str,
    *,
    client: AuthenticatedClient,
    body: JobUpdate,
) -> httpx.Response:
    """Send the request and return the undecoded `httpx.Response`, whatever its status code.

    For callers that validate the body themselves, straight from its bytes.
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        body=body,
    )

    return await client.get_async_httpx_client().request(**kwargs)
