# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.health import Health
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/health",
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | Health | None:
    if response.status_code == 200:
        response_200 = Health.from_dict(response.json())

        return response_200

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Error.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Health:
    if response.status_code == 200:
        response_200 = Health.from_dict(response.json())

        return response_200

    errors.raise_for_status(client, "health", response)


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | Health]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[Error | Health]:
    """Health check (Extension)

     **Extension.** Answers 200 while the server can read its database (it reads the newest rows of
    every table). No key needed. Answers 500 with `X-Should-Retry: false` once the server has
    found its database damaged, and 503 while the database cannot be reached.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Health]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> Health:
    """Health check (Extension)

    **Extension.** Answers 200 while the server can read its database (it reads the newest rows of
    every table). No key needed. Answers 500 with `X-Should-Retry: false` once the server has
    found its database damaged, and 503 while the database cannot be reached.

    Returns the parsed success answer; any other answer raises.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Health
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _parse_success(client=client, response=response)


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[Error | Health]:
    """Health check (Extension)

     **Extension.** Answers 200 while the server can read its database (it reads the newest rows of
    every table). No key needed. Answers 500 with `X-Should-Retry: false` once the server has
    found its database damaged, and 503 while the database cannot be reached.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Health]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> Health:
    """Health check (Extension)

    **Extension.** Answers 200 while the server can read its database (it reads the newest rows of
    every table). No key needed. Answers 500 with `X-Should-Retry: false` once the server has
    found its database damaged, and 503 while the database cannot be reached.

    Returns the parsed success answer; any other answer raises.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Health
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _parse_success(client=client, response=response)


async def asyncio_raw(
    *,
    client: AuthenticatedClient,
) -> httpx.Response:
    """Send the request and return the undecoded `httpx.Response`, whatever its status code.

    For callers that validate the body themselves, straight from its bytes.
    """

    kwargs = _get_kwargs()

    return await client.get_async_httpx_client().request(**kwargs)
