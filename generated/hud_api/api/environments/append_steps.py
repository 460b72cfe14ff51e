# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.steps_append import StepsAppend
from ...models.steps_appended import StepsAppended
from ...types import UNSET, Response, Unset


def _get_kwargs(
    env_id: str,
    *,
    body: StepsAppend,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/environments/{env_id}/steps".format(
            env_id=quote(str(env_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | StepsAppended | None:
    if response.status_code == 200:
        response_200 = StepsAppended.from_dict(response.json())

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


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> StepsAppended:
    if response.status_code == 200:
        response_200 = StepsAppended.from_dict(response.json())

        return response_200

    errors.raise_for_status(client, "appendSteps", response)


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | StepsAppended]:
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
    body: StepsAppend,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | StepsAppended]:
    """Append steps to an open environment (Extension)

     **Extension.** Appends steps, in order, to the trajectory of an environment that is still open.
    A closed environment answers 409, and so does one these steps would take over its limits (see
    TrajectoryStep); a step over its own limit answers 422.

    Args:
        env_id (str): An opaque id.
        idempotency_key (str | Unset):
        body (StepsAppend): **Extension.** Steps to append, in order.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | StepsAppended]
    """

    kwargs = _get_kwargs(
        env_id=env_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    env_id: str,
    *,
    client: AuthenticatedClient,
    body: StepsAppend,
    idempotency_key: str | Unset = UNSET,
) -> StepsAppended:
    """Append steps to an open environment (Extension)

    **Extension.** Appends steps, in order, to the trajectory of an environment that is still open.
    A closed environment answers 409, and so does one these steps would take over its limits (see
    TrajectoryStep); a step over its own limit answers 422.

    Returns the parsed success answer; any other answer raises.

    Args:
        env_id (str): An opaque id.
        idempotency_key (str | Unset):
        body (StepsAppend): **Extension.** Steps to append, in order.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        StepsAppended
    """

    kwargs = _get_kwargs(
        env_id=env_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _parse_success(client=client, response=response)


async def asyncio_detailed(
    env_id: str,
    *,
    client: AuthenticatedClient,
    body: StepsAppend,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | StepsAppended]:
    """Append steps to an open environment (Extension)

     **Extension.** Appends steps, in order, to the trajectory of an environment that is still open.
    A closed environment answers 409, and so does one these steps would take over its limits (see
    TrajectoryStep); a step over its own limit answers 422.

    Args:
        env_id (str): An opaque id.
        idempotency_key (str | Unset):
        body (StepsAppend): **Extension.** Steps to append, in order.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | StepsAppended]
    """

    kwargs = _get_kwargs(
        env_id=env_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    env_id: str,
    *,
    client: AuthenticatedClient,
    body: StepsAppend,
    idempotency_key: str | Unset = UNSET,
) -> StepsAppended:
    """Append steps to an open environment (Extension)

    **Extension.** Appends steps, in order, to the trajectory of an environment that is still open.
    A closed environment answers 409, and so does one these steps would take over its limits (see
    TrajectoryStep); a step over its own limit answers 422.

    Returns the parsed success answer; any other answer raises.

    Args:
        env_id (str): An opaque id.
        idempotency_key (str | Unset):
        body (StepsAppend): **Extension.** Steps to append, in order.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        StepsAppended
    """

    kwargs = _get_kwargs(
        env_id=env_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _parse_success(client=client, response=response)


async def asyncio_raw(
    env_id: str,
    *,
    client: AuthenticatedClient,
    body: StepsAppend,
    idempotency_key: str | Unset = UNSET,
) -> httpx.Response:
    """Send the request and return the undecoded `httpx.Response`, whatever its status code.

    For callers that validate the body themselves, straight from its bytes.
    """

    kwargs = _get_kwargs(
        env_id=env_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    return await client.get_async_httpx_client().request(**kwargs)
