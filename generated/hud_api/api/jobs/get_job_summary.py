# generated from openapi.yaml by codegen.sh — do not edit
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.job_summary import JobSummary
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    success_threshold: float | Unset = 1.0,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["success_threshold"] = success_threshold

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v2/jobs/{job_id}/summary".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | JobSummary | None:
    if response.status_code == 200:
        response_200 = JobSummary.from_dict(response.json())

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


def _parse_success(*, client: AuthenticatedClient | Client, response: httpx.Response) -> JobSummary:
    if response.status_code == 200:
        response_200 = JobSummary.from_dict(response.json())

        return response_200

    errors.raise_for_status(client, "getJobSummary", response)


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | JobSummary]:
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
    success_threshold: float | Unset = 1.0,
) -> Response[Error | JobSummary]:
    """A job's aggregates (Extension)

     **Extension.** What the job's trajectories add up to, computed by the server: counts by outcome
    and by error kind, the mean, lowest and highest reward, successes, steps, open environments and
    the median and 90th percentile of trajectory durations. `infrastructure`, `cancelled` and
    `crashed` trajectories are `excluded`; `agent` and `timeout` errors count as failures (reward 0
    when none was given). A trajectory succeeded when its reward is at least `success_threshold`.

    Args:
        job_id (str): An opaque id.
        success_threshold (float | Unset):  Default: 1.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | JobSummary]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        success_threshold=success_threshold,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient,
    success_threshold: float | Unset = 1.0,
) -> JobSummary:
    """A job's aggregates (Extension)

    **Extension.** What the job's trajectories add up to, computed by the server: counts by outcome
    and by error kind, the mean, lowest and highest reward, successes, steps, open environments and
    the median and 90th percentile of trajectory durations. `infrastructure`, `cancelled` and
    `crashed` trajectories are `excluded`; `agent` and `timeout` errors count as failures (reward 0
    when none was given). A trajectory succeeded when its reward is at least `success_threshold`.

    Returns the parsed success answer; any other answer raises.

    Args:
        job_id (str): An opaque id.
        success_threshold (float | Unset):  Default: 1.0.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobSummary
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        success_threshold=success_threshold,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _parse_success(client=client, response=response)


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient,
    success_threshold: float | Unset = 1.0,
) -> Response[Error | JobSummary]:
    """A job's aggregates (Extension)

     **Extension.** What the job's trajectories add up to, computed by the server: counts by outcome
    and by error kind, the mean, lowest and highest reward, successes, steps, open environments and
    the median and 90th percentile of trajectory durations. `infrastructure`, `cancelled` and
    `crashed` trajectories are `excluded`; `agent` and `timeout` errors count as failures (reward 0
    when none was given). A trajectory succeeded when its reward is at least `success_threshold`.

    Args:
        job_id (str): An opaque id.
        success_threshold (float | Unset):  Default: 1.0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | JobSummary]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        success_threshold=success_threshold,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient,
    success_threshold: float | Unset = 1.0,
) -> JobSummary:
    """A job's aggregates (Extension)

    **Extension.** What the job's trajectories add up to, computed by the server: counts by outcome
    and by error kind, the mean, lowest and highest reward, successes, steps, open environments and
    the median and 90th percentile of trajectory durations. `infrastructure`, `cancelled` and
    `crashed` trajectories are `excluded`; `agent` and `timeout` errors count as failures (reward 0
    when none was given). A trajectory succeeded when its reward is at least `success_threshold`.

    Returns the parsed success answer; any other answer raises.

    Args:
        job_id (str): An opaque id.
        success_threshold (float | Unset):  Default: 1.0.

    Raises:
        Exception: What the client's `raise_for_status` raises for an answer that is not a success
            (`hud.client()` sets it: `hud.errors.NotFoundError`, `AuthenticationError`, ...), else
            `errors.UnexpectedStatus`.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobSummary
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        success_threshold=success_threshold,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _parse_success(client=client, response=response)


async def asyncio_raw(
    job_id: str,
    *,
    client: AuthenticatedClient,
    success_threshold: float | Unset = 1.0,
) -> httpx.Response:
    """Send the request and return the undecoded `httpx.Response`, whatever its status code.

    For callers that validate the body themselves, straight from its bytes.
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        success_threshold=success_threshold,
    )

    return await client.get_async_httpx_client().request(**kwargs)
