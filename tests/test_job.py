"""hud.job against a mocked server (respx): requests sent, answers read, errors raised."""

from __future__ import annotations

import gc
import json
import logging
import weakref
from datetime import UTC, datetime

import httpx
import pytest
import respx
from _payloads import API_KEY, job_payload, trajectory_payload

import hud
from hud import errors
from hud.job import Job, create_job, iter_jobs, load_job
from hud.trajectory import Trajectory


async def test_create_job_sends_the_wire_body_and_returns_a_job(remote: respx.MockRouter) -> None:
    route = remote.post("/v2/jobs").respond(200, json=job_payload("j-1", name="my-eval"))

    created = await create_job("my-eval", gym_id="gym-a", evalset_id="set-b", metadata={"agent": "v2"})

    assert created == Job(
        id="j-1",
        name="my-eval",
        metadata={"agent": "v2"},
        created_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        status="created",
    )
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "name": "my-eval",
        "metadata": {"agent": "v2"},
        "gym_id": "gym-a",
        "evalset_id": "set-b",
    }
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert 1 <= len(request.headers["Idempotency-Key"]) <= 255  # openapi.yaml's IdempotencyKey


async def test_load_job_reads_the_job(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/j-7").respond(200, json=job_payload("j-7", status="running"))

    loaded = await load_job("j-7")

    assert (loaded.id, loaded.status, loaded.name) == ("j-7", "running", "eval")


async def test_unknown_status_and_extra_fields_are_accepted(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/j-1").respond(200, json=job_payload(status="paused-by-ops", shiny_new_field={"x": 1}))

    loaded = await load_job("j-1")

    assert loaded.status == "paused-by-ops"
    assert not hasattr(loaded, "shiny_new_field")


async def test_load_job_of_unknown_id_raises_not_found_with_the_detail(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/nope").respond(404, json={"detail": "job nope not found"})

    with pytest.raises(errors.NotFoundError) as caught:
        await load_job("nope")

    assert caught.value.status_code == 404
    assert caught.value.detail == "job nope not found"
    assert caught.value.operation == "getJob"


@pytest.mark.parametrize(
    ("status", "error_class", "retried"),
    [
        (400, errors.InvalidRequestError, False),
        (401, errors.AuthenticationError, False),
        (403, errors.AuthenticationError, False),
        (404, errors.NotFoundError, False),
        (409, errors.ConflictError, False),
        (413, errors.InvalidRequestError, False),
        (422, errors.InvalidRequestError, False),
        (408, errors.InvalidRequestError, True),
        (429, errors.RateLimitError, True),
        (500, errors.ServerError, True),
        (502, errors.ServerError, True),
        (503, errors.ServerError, True),
    ],
)
async def test_every_error_status_maps_to_its_typed_error(
    remote: respx.MockRouter, status: int, error_class: type[errors.APIStatusError], retried: bool
) -> None:
    route = remote.get("/v2/jobs/j-1").respond(status, json={"detail": f"because {status}"})

    with pytest.raises(error_class) as caught:
        await load_job("j-1")

    assert caught.value.status_code == status
    assert caught.value.detail == f"because {status}"
    assert isinstance(caught.value, errors.HudError)
    # HUD_MAX_RETRIES=2 in the `remote` fixture: three attempts for what may succeed later, else one.
    assert route.call_count == (3 if retried else 1)


async def test_an_error_without_json_detail_keeps_the_body_text(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/j-1").respond(400, text="<html>bad gateway thing</html>")

    with pytest.raises(errors.InvalidRequestError, match="bad gateway thing"):
        await load_job("j-1")


@pytest.mark.parametrize(
    ("body", "start"),
    [
        ("<html>" + "proxy page " * 100_000 + "</html>", "<html>proxy page"),
        ({"detail": [{"loc": ["body", i], "msg": "x" * 100} for i in range(10_000)]}, '[{"loc": ["body", 0]'),
    ],
    ids=["html-page", "structured-detail"],
)
async def test_a_huge_error_body_gives_a_short_message(remote: respx.MockRouter, body: object, start: str) -> None:
    # A proxy's error page or a framework's list of validation errors must not become a megabyte message.
    route = remote.get("/v2/jobs/j-1")
    if isinstance(body, str):
        route.respond(400, text=body)
    else:
        route.respond(400, json=body)

    with pytest.raises(errors.InvalidRequestError) as caught:
        await load_job("j-1")

    assert caught.value.detail.startswith(start)
    assert len(caught.value.detail) <= 2000
    assert len(str(caught.value)) <= 2100


async def test_a_retry_after_503_succeeds_and_keeps_the_idempotency_key(remote: respx.MockRouter) -> None:
    route = remote.post("/v2/jobs")
    route.side_effect = [
        httpx.Response(503, json={"detail": "busy"}),
        httpx.ConnectError("connection reset"),
        httpx.Response(200, json=job_payload("j-9")),
    ]

    created = await create_job("eval")

    assert created.id == "j-9"
    keys = {call.request.headers["Idempotency-Key"] for call in route.calls}
    assert route.call_count == 3
    assert len(keys) == 1


async def test_each_logical_create_gets_its_own_idempotency_key(remote: respx.MockRouter) -> None:
    route = remote.post("/v2/jobs").respond(200, json=job_payload())

    await create_job("a")
    await create_job("b")

    assert route.calls[0].request.headers["Idempotency-Key"] != route.calls[1].request.headers["Idempotency-Key"]


async def test_retry_after_is_honoured(remote: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = __import__("asyncio").sleep

    async def record_sleep(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr("hud._api.asyncio.sleep", record_sleep)
    route = remote.get("/v2/jobs/j-1")
    route.side_effect = [
        httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "7"}),
        httpx.Response(429, json={"detail": "slow down"}, headers={"Retry-After": "3600"}),
        httpx.Response(200, json=job_payload()),
    ]

    await load_job("j-1")

    assert slept == [7.0, 30.0]  # the second is capped


async def test_rate_limit_error_carries_retry_after(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/j-1").respond(429, json={"detail": "slow down"}, headers={"Retry-After": "0"})

    with pytest.raises(errors.RateLimitError) as caught:
        await load_job("j-1")

    assert caught.value.retry_after == 0.0


async def test_connection_errors_become_api_connection_error_after_retries(remote: respx.MockRouter) -> None:
    route = remote.get("/v2/jobs/j-1").mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(errors.APIConnectionError) as caught:
        await load_job("j-1")

    assert not isinstance(caught.value, errors.APITimeoutError)
    assert route.call_count == 3


async def test_timeouts_become_api_timeout_error(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/j-1").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(errors.APITimeoutError, match="no answer within 30 s"):
        await load_job("j-1")


async def test_an_unreadable_success_body_is_a_server_error(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/j-1").respond(200, json={"id": "j-1"})

    with pytest.raises(errors.ServerError, match="not a valid Job"):
        await load_job("j-1")


async def test_load_trajectories_pages_through_the_job(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/j-1").respond(200, json=job_payload("j-1"))
    route = remote.get("/v2/jobs/j-1/trajectories")
    route.side_effect = [
        httpx.Response(
            200, json=[trajectory_payload("t-1"), trajectory_payload("t-2")], headers={"X-Next-Cursor": "c2"}
        ),
        httpx.Response(200, json=[trajectory_payload("t-3", reward=None, steps=3)]),
    ]

    loaded = await load_job("j-1")
    trajectories = await loaded.load_trajectories()

    assert [t.id for t in trajectories] == ["t-1", "t-2", "t-3"]
    assert trajectories[2].reward is None
    assert [s.observation_text for s in trajectories[2].trajectory] == ["step 0", "step 1", "step 2"]
    assert trajectories[0].trajectory[0].actions == [{"type": "click", "x": 0}]
    first, second = (call.request.url.params for call in route.calls)
    assert "cursor" not in first
    assert second["cursor"] == "c2"
    assert first["limit"] == second["limit"] == "1000"


async def test_iter_trajectories_yields_page_by_page(remote: respx.MockRouter) -> None:
    route = remote.get("/v2/jobs/j-1/trajectories")
    route.side_effect = [
        httpx.Response(200, json=[trajectory_payload("t-1")], headers={"X-Next-Cursor": "c2"}),
        httpx.Response(200, json=[trajectory_payload("t-2")]),
    ]
    target = Job.model_validate(job_payload("j-1"))

    seen = []
    async for trajectory in target.iter_trajectories(page_size=1):
        seen.append((trajectory.id, route.call_count))

    assert seen == [("t-1", 1), ("t-2", 2)]


async def test_iter_trajectories_holds_one_page_at_a_time(remote: respx.MockRouter) -> None:
    # What keeps iterating 100,000 trajectories flat: a page the caller let go of is garbage
    # before the next page is requested, not kept alive while it downloads and validates.
    first_page: list[weakref.ref[Trajectory]] = []
    alive_at_second_request: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if "cursor" not in request.url.params:
            return httpx.Response(
                200, json=[trajectory_payload(f"t-{i}") for i in range(3)], headers={"X-Next-Cursor": "c2"}
            )
        gc.collect()
        alive_at_second_request.append(sum(ref() is not None for ref in first_page))
        return httpx.Response(200, json=[trajectory_payload("t-3")])

    remote.get("/v2/jobs/j-1/trajectories").mock(side_effect=answer)
    target = Job.model_validate(job_payload("j-1"))

    ids = []
    async for trajectory in target.iter_trajectories(page_size=3):
        ids.append(trajectory.id)
        if len(first_page) < 3:
            first_page.append(weakref.ref(trajectory))
        del trajectory

    assert ids == ["t-0", "t-1", "t-2", "t-3"]
    assert alive_at_second_request == [0]


async def test_a_malformed_trajectories_body_raises_instead_of_returning_empty(remote: respx.MockRouter) -> None:
    remote.get("/v2/jobs/j-1/trajectories").respond(200, json={"not": "a list"})
    target = Job.model_validate(job_payload("j-1"))

    with pytest.raises(errors.ServerError, match="not a list of trajectories"):
        await target.load_trajectories()


async def test_per_call_api_key_wins_and_the_job_reuses_it(remote: respx.MockRouter) -> None:
    job_route = remote.get("/v2/jobs/j-1").respond(200, json=job_payload("j-1"))
    traj_route = remote.get("/v2/jobs/j-1/trajectories").respond(200, json=[])

    loaded = await load_job("j-1", api_key="other-key")
    assert await loaded.load_trajectories() == []

    assert job_route.calls.last.request.headers["Authorization"] == "Bearer other-key"
    assert traj_route.calls.last.request.headers["Authorization"] == "Bearer other-key"
    assert "other-key" not in repr(loaded)


async def test_job_update_sends_only_given_fields(remote: respx.MockRouter) -> None:
    route = remote.patch("/v2/jobs/j-1").respond(200, json=job_payload("j-1", status="paused"))
    target = Job.model_validate(job_payload("j-1"))

    updated = await target.update(status="paused")

    assert json.loads(route.calls.last.request.content) == {"status": "paused"}
    assert updated.status == "paused"
    assert target.status == "created"


async def test_iter_jobs_follows_next_cursor_and_filters(remote: respx.MockRouter) -> None:
    route = remote.get("/v2/jobs")
    route.side_effect = [
        httpx.Response(200, json={"items": [job_payload("j-2")], "next_cursor": "n1"}),
        httpx.Response(200, json={"items": [job_payload("j-1")], "next_cursor": None}),
    ]

    found = [j.id async for j in iter_jobs(status="completed", page_size=1)]

    assert found == ["j-2", "j-1"]
    assert route.calls[0].request.url.params["status"] == "completed"
    assert route.calls[1].request.url.params["cursor"] == "n1"


async def test_ids_are_quoted_into_the_path(remote: respx.MockRouter) -> None:
    route = remote.get(url__regex=r".*/v2/jobs/.*").respond(404, json={"detail": "no"})

    with pytest.raises(errors.NotFoundError):
        await load_job("a%2Fb?c#d")

    assert route.calls.last.request.url.raw_path == b"/v2/jobs/a%252Fb%3Fc%23d"
    # Servers decode %2F before routing, so a "/" would reach another path: refused before sending.
    with pytest.raises(errors.InvalidInputError, match="must not contain '/'"):
        await load_job("a/b")
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: create_job(""), "name must not be empty"),
        (lambda: create_job("x" * 257), "257 characters long; the limit is 256"),
        (lambda: create_job(42), "name must be a string"),  # type: ignore[arg-type]
        (lambda: create_job("n", metadata={"x": object()}), "JSON-serialisable"),
        (lambda: create_job("n", metadata={"x": float("nan")}), "JSON-serialisable"),
        (lambda: create_job("n", metadata={1: "x"}), "keys must be strings"),  # type: ignore[dict-item]
        (lambda: create_job("n", metadata=["x"]), "must be a dict"),  # type: ignore[arg-type]
        (lambda: create_job("n\x00"), "NUL"),
        (lambda: create_job("\ud800"), "UTF-8"),
        (lambda: create_job("n", gym_id=""), "gym_id must not be empty"),
        (lambda: load_job(""), "job_id must not be empty"),
        (lambda: load_job("."), "job_id must not be '.'"),
        (lambda: load_job(".."), "job_id must not be '..'"),
        (lambda: load_job("x" * 129), "the limit is 128"),
        (lambda: load_job("j", api_key=""), "api_key must be a non-empty string"),
    ],
)
async def test_bad_input_is_refused_before_any_request(remote: respx.MockRouter, call, message: str) -> None:  # type: ignore[no-untyped-def]
    catch_all = remote.route().respond(500)

    with pytest.raises(errors.InvalidInputError, match=message):
        await call()

    assert catch_all.call_count == 0


async def test_the_api_key_never_reaches_reprs_errors_or_logs(
    remote: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    remote.get("/v2/jobs/j-1").respond(503, json={"detail": "down"})
    caplog.set_level(logging.DEBUG)

    with pytest.raises(errors.ServerError) as caught:
        await load_job("j-1")
    generated = hud.client()
    generated.get_async_httpx_client()  # puts the Authorization header in place

    for text in (repr(hud.get_settings()), str(hud.get_settings()), repr(generated), str(caught.value), caplog.text):
        assert API_KEY not in text
    assert "retry 1 of 2" in caplog.text
    await generated.get_async_httpx_client().aclose()


async def test_a_base_url_without_a_key_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUD_BASE_URL", "http://127.0.0.1:9")
    hud.get_settings.cache_clear()

    with pytest.raises(errors.ConfigurationError, match="HUD_API_KEY"):
        await load_job("j-1")


@pytest.mark.parametrize("page_size", [0, -1, 10001, True, 2.5])
async def test_bad_trajectory_page_sizes_are_refused_before_any_request(
    remote: respx.MockRouter, page_size: object
) -> None:
    catch_all = remote.route().respond(500)
    target = Job.model_validate(job_payload("j-1"))

    with pytest.raises(errors.InvalidInputError, match="page_size must be an int from 1 to 10000"):
        await anext(target.iter_trajectories(page_size=page_size))  # type: ignore[arg-type]

    assert catch_all.call_count == 0


async def test_bad_job_page_sizes_are_refused_before_any_request(remote: respx.MockRouter) -> None:
    catch_all = remote.route().respond(500)

    with pytest.raises(errors.InvalidInputError, match="page_size must be an int from 1 to 1000"):
        await anext(iter_jobs(page_size=1001))

    assert catch_all.call_count == 0
