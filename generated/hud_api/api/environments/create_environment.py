# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.environment import Environment
from ...models.environment_create import EnvironmentCreate
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: EnvironmentCreate,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/create_environment",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Environment | Error | None:
    if response.status_code == 200:
        response_200 = Environment.from_dict(response.json())

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


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Environment:
    if response.status_code == 200:
        response_200 = Environment.from_dict(response.json())

        return response_200

    errors.raise_for_status(client, "createEnvironment", response)


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Environment | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: EnvironmentCreate,
    idempotency_key: str | Unset = UNSET,
) -> Response[Environment | Error]:
    """Create an environment

     Creates an environment of a gym, linked to the job `run_id` when it is given. Closing the
    environment leaves its trajectory on that job.

    **Extension:** a client may choose the environment's `id` (which is also its trajectory's). A
    second create with the same `id`, job, gym, task and metadata is a replay: it answers the
    environment and creates nothing. The same `id` with anything else, or an `id` already used by
    another account, answers 409.

    Args:
        idempotency_key (str | Unset):
        body (EnvironmentCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Environment | Error]
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
    body: EnvironmentCreate,
    idempotency_key: str | Unset = UNSET,
) -> Environment:
    """Create an environment

    Creates an environment of a gym, linked to the job `run_id` when it is given. Closing the
    environment leaves its trajectory on that job.

    **Extension:** a client may choose the environment's `id` (which is also its trajectory's). A
    second create with the same `id`, job, gym, task and metadata is a replay: it answers the
    environment and creates nothing. The same `id` with anything else, or an `id` already used by
    another account, answers 409.

    Returns the parsed success answer; any other answer raises.

    Args:
        idempotency_key (str | Unset):
        body (EnvironmentCreate):

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Environment
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
    body: EnvironmentCreate,
    idempotency_key: str | Unset = UNSET,
) -> Response[Environment | Error]:
    """Create an environment

     Creates an environment of a gym, linked to the job `run_id` when it is given. Closing the
    environment leaves its trajectory on that job.

    **Extension:** a client may choose the environment's `id` (which is also its trajectory's). A
    second create with the same `id`, job, gym, task and metadata is a replay: it answers the
    environment and creates nothing. The same `id` with anything else, or an `id` already used by
    another account, answers 409.

    Args:
        idempotency_key (str | Unset):
        body (EnvironmentCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Environment | Error]
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
    body: EnvironmentCreate,
    idempotency_key: str | Unset = UNSET,
) -> Environment:
    """Create an environment

    Creates an environment of a gym, linked to the job `run_id` when it is given. Closing the
    environment leaves its trajectory on that job.

    **Extension:** a client may choose the environment's `id` (which is also its trajectory's). A
    second create with the same `id`, job, gym, task and metadata is a replay: it answers the
    environment and creates nothing. The same `id` with anything else, or an `id` already used by
    another account, answers 409.

    Returns the parsed success answer; any other answer raises.

    Args:
        idempotency_key (str | Unset):
        body (EnvironmentCreate):

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Environment
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
    body: EnvironmentCreate,
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
