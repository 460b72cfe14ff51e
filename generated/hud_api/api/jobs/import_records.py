# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.import_batch import ImportBatch
from ...models.import_result import ImportResult
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: ImportBatch,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v2/import",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | ImportResult | None:
    if response.status_code == 200:
        response_200 = ImportResult.from_dict(response.json())

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


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ImportResult:
    if response.status_code == 200:
        response_200 = ImportResult.from_dict(response.json())

        return response_200

    errors.raise_for_status(client, "importRecords", response)


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | ImportResult]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ImportBatch,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | ImportResult]:
    """Import jobs, environments, steps and closes with their ids (Extension)

     **Extension.** Writes records copied from another store (`hud sync`), keeping their ids and
    times, in one transaction: first `jobs`, then `environments`, then `steps`, then `closes`.
    Importing is idempotent: a record already here with the same content is counted `unchanged`
    and written again nowhere, so a batch can be sent again after any failure.

    - A job is created with the given fields (`created_at`, `status`, `error`, `heartbeat_at`
      included). A job already here with the same name, gym, evalset and `created_at` takes the
      given metadata, status, error and heartbeat, unless it was recorded here rather than
      imported, or its status here is final (`completed`, `failed`, `cancelled`) and differs:
      then it is a conflict. Importing sets fields only: a `cancelled` or `crashed` status closes
      nothing. `heartbeat_age` is how many seconds before the import the job's last heartbeat
      was, by the clock of the store that received it: an imported `running` job reads as
      `crashed` here once no import has brought a heartbeat for longer than this server's lease
      (nothing is closed: its heartbeats go to the store it runs against, and the next import
      brings its state).
    - An environment is created open, with no steps, for a job of the caller's account (here
      already or earlier in the same batch). One already here must have the same job, gym, task,
      metadata and `created_at`.
    - `steps` go at `position` (0 for an environment's first step): steps already stored at those
      positions must be the same, the others are appended. A position beyond the environment's
      step count, or an environment already closed, is a conflict.
    - A close closes an open environment whose step count is `step_count`, leaving its
      trajectory with the given outcome and `closed_at`. One already closed with the same outcome
      is unchanged.

    A record that conflicts is not written and is listed in `conflicts` (the records after it
    about the same environment are skipped); the others are written. An id used by another
    account is a conflict too.

    Args:
        idempotency_key (str | Unset):
        body (ImportBatch): **Extension.** Records to import, applied in this order: jobs,
            environments, steps, closes.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | ImportResult]
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
    body: ImportBatch,
    idempotency_key: str | Unset = UNSET,
) -> ImportResult:
    """Import jobs, environments, steps and closes with their ids (Extension)

    **Extension.** Writes records copied from another store (`hud sync`), keeping their ids and
    times, in one transaction: first `jobs`, then `environments`, then `steps`, then `closes`.
    Importing is idempotent: a record already here with the same content is counted `unchanged`
    and written again nowhere, so a batch can be sent again after any failure.

    - A job is created with the given fields (`created_at`, `status`, `error`, `heartbeat_at`
      included). A job already here with the same name, gym, evalset and `created_at` takes the
      given metadata, status, error and heartbeat, unless it was recorded here rather than
      imported, or its status here is final (`completed`, `failed`, `cancelled`) and differs:
      then it is a conflict. Importing sets fields only: a `cancelled` or `crashed` status closes
      nothing. `heartbeat_age` is how many seconds before the import the job's last heartbeat
      was, by the clock of the store that received it: an imported `running` job reads as
      `crashed` here once no import has brought a heartbeat for longer than this server's lease
      (nothing is closed: its heartbeats go to the store it runs against, and the next import
      brings its state).
    - An environment is created open, with no steps, for a job of the caller's account (here
      already or earlier in the same batch). One already here must have the same job, gym, task,
      metadata and `created_at`.
    - `steps` go at `position` (0 for an environment's first step): steps already stored at those
      positions must be the same, the others are appended. A position beyond the environment's
      step count, or an environment already closed, is a conflict.
    - A close closes an open environment whose step count is `step_count`, leaving its
      trajectory with the given outcome and `closed_at`. One already closed with the same outcome
      is unchanged.

    A record that conflicts is not written and is listed in `conflicts` (the records after it
    about the same environment are skipped); the others are written. An id used by another
    account is a conflict too.

    Returns the parsed success answer; any other answer raises.

    Args:
        idempotency_key (str | Unset):
        body (ImportBatch): **Extension.** Records to import, applied in this order: jobs,
            environments, steps, closes.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ImportResult
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
    body: ImportBatch,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | ImportResult]:
    """Import jobs, environments, steps and closes with their ids (Extension)

     **Extension.** Writes records copied from another store (`hud sync`), keeping their ids and
    times, in one transaction: first `jobs`, then `environments`, then `steps`, then `closes`.
    Importing is idempotent: a record already here with the same content is counted `unchanged`
    and written again nowhere, so a batch can be sent again after any failure.

    - A job is created with the given fields (`created_at`, `status`, `error`, `heartbeat_at`
      included). A job already here with the same name, gym, evalset and `created_at` takes the
      given metadata, status, error and heartbeat, unless it was recorded here rather than
      imported, or its status here is final (`completed`, `failed`, `cancelled`) and differs:
      then it is a conflict. Importing sets fields only: a `cancelled` or `crashed` status closes
      nothing. `heartbeat_age` is how many seconds before the import the job's last heartbeat
      was, by the clock of the store that received it: an imported `running` job reads as
      `crashed` here once no import has brought a heartbeat for longer than this server's lease
      (nothing is closed: its heartbeats go to the store it runs against, and the next import
      brings its state).
    - An environment is created open, with no steps, for a job of the caller's account (here
      already or earlier in the same batch). One already here must have the same job, gym, task,
      metadata and `created_at`.
    - `steps` go at `position` (0 for an environment's first step): steps already stored at those
      positions must be the same, the others are appended. A position beyond the environment's
      step count, or an environment already closed, is a conflict.
    - A close closes an open environment whose step count is `step_count`, leaving its
      trajectory with the given outcome and `closed_at`. One already closed with the same outcome
      is unchanged.

    A record that conflicts is not written and is listed in `conflicts` (the records after it
    about the same environment are skipped); the others are written. An id used by another
    account is a conflict too.

    Args:
        idempotency_key (str | Unset):
        body (ImportBatch): **Extension.** Records to import, applied in this order: jobs,
            environments, steps, closes.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | ImportResult]
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
    body: ImportBatch,
    idempotency_key: str | Unset = UNSET,
) -> ImportResult:
    """Import jobs, environments, steps and closes with their ids (Extension)

    **Extension.** Writes records copied from another store (`hud sync`), keeping their ids and
    times, in one transaction: first `jobs`, then `environments`, then `steps`, then `closes`.
    Importing is idempotent: a record already here with the same content is counted `unchanged`
    and written again nowhere, so a batch can be sent again after any failure.

    - A job is created with the given fields (`created_at`, `status`, `error`, `heartbeat_at`
      included). A job already here with the same name, gym, evalset and `created_at` takes the
      given metadata, status, error and heartbeat, unless it was recorded here rather than
      imported, or its status here is final (`completed`, `failed`, `cancelled`) and differs:
      then it is a conflict. Importing sets fields only: a `cancelled` or `crashed` status closes
      nothing. `heartbeat_age` is how many seconds before the import the job's last heartbeat
      was, by the clock of the store that received it: an imported `running` job reads as
      `crashed` here once no import has brought a heartbeat for longer than this server's lease
      (nothing is closed: its heartbeats go to the store it runs against, and the next import
      brings its state).
    - An environment is created open, with no steps, for a job of the caller's account (here
      already or earlier in the same batch). One already here must have the same job, gym, task,
      metadata and `created_at`.
    - `steps` go at `position` (0 for an environment's first step): steps already stored at those
      positions must be the same, the others are appended. A position beyond the environment's
      step count, or an environment already closed, is a conflict.
    - A close closes an open environment whose step count is `step_count`, leaving its
      trajectory with the given outcome and `closed_at`. One already closed with the same outcome
      is unchanged.

    A record that conflicts is not written and is listed in `conflicts` (the records after it
    about the same environment are skipped); the others are written. An id used by another
    account is a conflict too.

    Returns the parsed success answer; any other answer raises.

    Args:
        idempotency_key (str | Unset):
        body (ImportBatch): **Extension.** Records to import, applied in this order: jobs,
            environments, steps, closes.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ImportResult
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
    body: ImportBatch,
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
