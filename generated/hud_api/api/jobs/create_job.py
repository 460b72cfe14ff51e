# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.job import Job
from ...models.job_create import JobCreate
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: JobCreate,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/jobs",
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

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

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

    errors.raise_for_status(client, "createJob", response)


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | Job]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: JobCreate,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | Job]:
    """Create a job

     Creates a job, status `created`.

    **Extension:** a client may choose the job's `id` (`hud sync` does, so a job keeps its id in
    every store it is copied to). A second create with the same `id` and the same name, metadata,
    gym and evalset is a replay: it answers the job as it is now and creates nothing. The same `id`
    with anything else, or an `id` already used by another account, answers 409.

    Args:
        idempotency_key (str | Unset):
        body (JobCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Job]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: JobCreate,
    idempotency_key: str | Unset = UNSET,
) -> Job:
    """Create a job

    Creates a job, status `created`.

    **Extension:** a client may choose the job's `id` (`hud sync` does, so a job keeps its id in
    every store it is copied to). A second create with the same `id` and the same name, metadata,
    gym and evalset is a replay: it answers the job as it is now and creates nothing. The same `id`
    with anything else, or an `id` already used by another account, answers 409.

    Returns the parsed success answer; any other answer raises.

    Args:
        idempotency_key (str | Unset):
        body (JobCreate):

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _parse_success(client=client, response=response)


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: JobCreate,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | Job]:
    """Create a job

     Creates a job, status `created`.

    **Extension:** a client may choose the job's `id` (`hud sync` does, so a job keeps its id in
    every store it is copied to). A second create with the same `id` and the same name, metadata,
    gym and evalset is a replay: it answers the job as it is now and creates nothing. The same `id`
    with anything else, or an `id` already used by another account, answers 409.

    Args:
        idempotency_key (str | Unset):
        body (JobCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Job]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: JobCreate,
    idempotency_key: str | Unset = UNSET,
) -> Job:
    """Create a job

    Creates a job, status `created`.

    **Extension:** a client may choose the job's `id` (`hud sync` does, so a job keeps its id in
    every store it is copied to). A second create with the same `id` and the same name, metadata,
    gym and evalset is a replay: it answers the job as it is now and creates nothing. The same `id`
    with anything else, or an `id` already used by another account, answers 409.

    Returns the parsed success answer; any other answer raises.

    Args:
        idempotency_key (str | Unset):
        body (JobCreate):

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Job
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _parse_success(client=client, response=response)


async def asyncio_raw(
    *,
    client: AuthenticatedClient,
    body: JobCreate,
    idempotency_key: str | Unset = UNSET,
) -> httpx.Response:
    """Send the request and return the undecoded `httpx.Response`, whatever its status code.

    For callers that validate the body themselves, straight from its bytes.
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    return await client.get_async_httpx_client().request(**kwargs)
