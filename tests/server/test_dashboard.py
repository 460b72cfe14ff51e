"""The dashboard (/ui/) in-process: access per account, escaping, aggregates, paging, query counts.

The browser tests (test_dashboard_browser.py) check what a person sees; these check the HTTP contract
fast, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servers import free_port, live_server
from scipy import stats
from sqlalchemy import event

from hud.server import create_app, create_key, dispose, revoke_key
from hud.server._dashboard import COOKIE
from hud.server._dashboard_pages import HISTOGRAM_BINS, JOBS_PER_PAGE, TRAJECTORIES_PER_PAGE
from hud.server._db import get_engine

BASE = "http://hud.test"
LOCAL = "http://localhost"  # apps without keys answer loopback names only
FORM = {"content-type": "application/x-www-form-urlencoded"}


class Ui:
    """An in-process client of an app with auth and the dashboard, with keys of alice and bob."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url
        self.alice = create_key(url, "alice")
        self.bob = create_key(url, "bob")
        self._sessions: dict[str, str] = {}

    async def api(self, method: str, path: str, who: str = "alice", **kwargs: Any) -> Any:
        key = self.alice if who == "alice" else self.bob
        response = await self.client.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    async def trajectory(
        self, job_id: str, who: str = "alice", steps: list[dict[str, Any]] | None = None, **close: Any
    ) -> Any:
        env = await self.api("POST", "/v2/create_environment", who, json={"run_id": job_id, "gym_id": "g"})
        if steps:
            await self.api("POST", f"/v2/environments/{env['id']}/steps", who, json={"steps": steps})
        return await self.api("POST", f"/v2/environments/{env['id']}/close", who, json=close)

    async def session(self, who: str) -> str:
        """The session id of `who`, signed in through the form once."""
        if who not in self._sessions:
            self.client.cookies.clear()
            key = self.alice if who == "alice" else self.bob
            signed = await self.client.post("/ui/login", content=f"key={key}", headers=FORM)
            assert signed.status_code == 303, signed.text
            self._sessions[who] = signed.cookies[COOKIE]
        return self._sessions[who]

    async def page(self, path: str, who: str | None = "alice") -> httpx.Response:
        headers = {} if who is None else {"cookie": f"{COOKIE}={await self.session(who)}"}
        self.client.cookies.clear()
        return await self.client.get(path, headers=headers)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def ui(request: pytest.FixtureRequest) -> AsyncIterator[Ui]:
    url = request.getfixturevalue("postgres_db" if request.param == "postgres" else "db_url")
    app = create_app(url, dashboard=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield Ui(client, url)


def _text(response: httpx.Response) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", response.text))


async def test_anonymous_is_sent_to_sign_in_and_sees_no_data(ui: Ui) -> None:
    job = await ui.api("POST", "/v2/jobs", json={"name": "alice-private"})
    for path in ("/ui/", f"/ui/jobs/{job['id']}", "/ui/trajectories/x"):
        response = await ui.page(path, who=None)
        assert response.status_code == 303 and response.headers["location"] == "/ui/login"
        assert "alice-private" not in response.text
    bad = await ui.client.get("/ui/", headers={"cookie": f"{COOKIE}=hud_not_a_key"})
    assert bad.status_code == 303 and bad.headers["location"] == "/ui/login"
    assert f"{COOKIE}=" in bad.headers["set-cookie"] and "Max-Age=0" in bad.headers["set-cookie"]


async def test_sign_in_sets_an_httponly_cookie_and_never_echoes_a_wrong_key(ui: Ui) -> None:
    wrong = "hud_wrong-key-that-must-not-be-echoed"
    refused = await ui.client.post("/ui/login", content=f"key={wrong}", headers=FORM)
    assert refused.status_code == 401 and "unknown or revoked" in refused.text
    assert wrong not in refused.text and f"{COOKIE}=" not in refused.headers.get("set-cookie", "")
    signed = await ui.client.post("/ui/login", content=f"key={ui.alice}", headers=FORM)
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/"
    (cookie,) = [
        c for c in signed.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=") and "Max-Age=0" not in c
    ]
    assert ui.alice not in signed.headers["set-cookie"]  # a session id, never the key
    assert "HttpOnly" in cookie and "Path=/ui" in cookie and "SameSite=lax" in cookie
    # The key never appears in a page once signed in.
    assert ui.alice not in (await ui.page("/ui/")).text


def _cookie_attributes(response: httpx.Response) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in response.headers["set-cookie"].split(";")[1:]}


async def test_the_cookie_is_secure_over_https_only(db_url: str) -> None:
    app = create_app(db_url, dashboard=True)
    key = create_key(db_url, "alice")
    for base_url, secure in (("https://hud.test", True), ("http://hud.test", False)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client:
            signed = await client.post("/ui/login", content=f"key={key}", headers=FORM)
            assert signed.status_code == 303
            assert ("secure" in _cookie_attributes(signed)) == secure, base_url


@pytest.mark.live
def test_the_cookie_is_secure_behind_a_reverse_proxy_that_terminates_https(tmp_path: Path) -> None:
    # A proxy on the same machine (uvicorn trusts 127.0.0.1's forwarded headers) says the browser's
    # connection is HTTPS; without the header, plain HTTP.
    url = f"sqlite:///{tmp_path / 'proxied.db'}"
    key = create_key(url, "alice")
    with live_server(url) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        for headers, secure in (({"X-Forwarded-Proto": "https"}, True), ({}, False)):
            signed = client.post("/ui/login", content=f"key={key}", headers={**FORM, **headers})
            assert signed.status_code == 303
            assert ("secure" in _cookie_attributes(signed)) == secure, headers
    dispose(url)


async def test_cross_site_sign_in_and_out_are_refused(ui: Ui) -> None:
    foreign = {**FORM, "origin": "https://evil.example"}
    assert (await ui.client.post("/ui/login", content=f"key={ui.alice}", headers=foreign)).status_code == 403
    fetch = {**FORM, "sec-fetch-site": "cross-site"}
    assert (await ui.client.post("/ui/login", content=f"key={ui.alice}", headers=fetch)).status_code == 403
    assert (await ui.client.post("/ui/logout", headers=foreign)).status_code == 403
    out = await ui.client.post("/ui/logout", headers={"origin": BASE})
    assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]


async def test_accounts_see_only_their_own_jobs_and_trajectories(ui: Ui) -> None:
    mine = await ui.api("POST", "/v2/jobs", json={"name": "alice-job"})
    theirs = await ui.api("POST", "/v2/jobs", "bob", json={"name": "bob-job"})
    their_trajectory = await ui.trajectory(theirs["id"], "bob", reward=1.0, logs="bob's logs")
    listing = _text(await ui.page("/ui/"))
    assert "alice-job" in listing and "bob-job" not in listing
    assert (await ui.page(f"/ui/jobs/{theirs['id']}")).status_code == 404
    response = await ui.page(f"/ui/trajectories/{their_trajectory['id']}")
    assert response.status_code == 404 and "bob's logs" not in response.text
    assert "bob-job" in _text(await ui.page("/ui/", who="bob"))
    assert (await ui.page(f"/ui/jobs/{mine['id']}", who="bob")).status_code == 404


async def test_the_api_never_accepts_the_dashboard_cookie(ui: Ui) -> None:
    response = await ui.client.post("/v2/jobs", json={"name": "csrf"}, headers={"cookie": f"{COOKIE}={ui.alice}"})
    assert response.status_code == 401


async def test_a_revoked_key_signs_the_browser_out(ui: Ui) -> None:
    assert (await ui.page("/ui/")).status_code == 200
    revoke_key(ui.url, ui.alice)
    response = await ui.page("/ui/")
    assert response.status_code == 303 and response.headers["location"] == "/ui/login"


async def test_user_data_is_escaped_and_scripts_are_locked_down(ui: Ui) -> None:
    evil = '<script>alert("name")</script><img src=x onerror=alert(1)>'
    job = await ui.api("POST", "/v2/jobs", json={"name": evil, "metadata": {"k": "</pre><script>m</script>"}})
    step = {
        "observation_text": "<svg onload=alert(2)>",
        "observation_url": "javascript:alert(3)",
        "actions": [{"type": "<b>click</b>"}],
    }
    t = await ui.trajectory(job["id"], steps=[step], error="<iframe src=//evil>", logs="<script>l</script>")
    pages = [
        await ui.page("/ui/"),
        await ui.page(f"/ui/jobs/{job['id']}"),
        await ui.page(f"/ui/trajectories/{t['id']}"),
    ]
    for response in pages:
        assert response.status_code == 200
        body = response.text
        for raw in ("<script>alert", "<img src=x", "<svg onload", "<iframe", "<script>m", "<script>l", "<b>click"):
            assert raw not in body
        assert 'src="javascript:' not in body and 'href="javascript:' not in body
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
    assert evil in _text(pages[0]) and evil in _text(pages[1])
    trajectory_text = _text(pages[2])
    for shown in ("<svg onload=alert(2)>", "javascript:alert(3)", "<iframe src=//evil>", "<script>l</script>"):
        assert shown in trajectory_text


async def test_job_list_aggregates_match_the_trajectories(ui: Ui) -> None:
    job = await ui.api("POST", "/v2/jobs", json={"name": "agg"})
    empty = await ui.api("POST", "/v2/jobs", json={"name": "empty"})
    rewards: list[float | None] = [1.0, 0.0, 0.25, 1.0, None]
    for i, reward in enumerate(rewards):
        await ui.trajectory(job["id"], reward=reward, error="crash" if i == 4 else None)
    await ui.trajectory(job["id"], reward=1.0, error="rate limited", error_kind="infrastructure")
    body = (await ui.page("/ui/")).text
    row = re.search(rf'<tr data-job-id="{job["id"]}">(.*?)</tr>', body, re.S)
    assert row is not None
    cells = dict(re.findall(r'class="num ([a-z-]+)">([^<]*)<', row.group(1)))
    # The agent's error without a reward counts as 0; the infrastructure failure is left out.
    counted = [1.0, 0.0, 0.25, 1.0, 0.0]
    assert cells == {
        "trajectories": "6",
        "mean-reward": f"{statistics.fmean(counted):.3g}",
        "success-rate": "40.0%",
        "errors": "2",
    }
    empty_row = re.search(rf'<tr data-job-id="{empty["id"]}">(.*?)</tr>', body, re.S)
    assert empty_row is not None and "–" in empty_row.group(1)


async def test_sql_success_rule_is_the_wire_modules(ui: Ui) -> None:
    from hud._wire import counted_reward, counts, succeeded

    job = await ui.api("POST", "/v2/jobs", json={"name": "edge"})
    closes: list[dict[str, Any]] = [
        {"reward": r} for r in (1.0, 0.9999999999, 1.0000000001, -1.0, 2.5, 0.0, None, 1.0)
    ] + [
        {"reward": 1.0, "error": "boom"},
        {"reward": None, "error": "boom", "error_kind": "timeout"},
        {"reward": 1.0, "error": "down", "error_kind": "infrastructure"},
        {"reward": None, "error": "killed", "error_kind": "crashed"},
        {"reward": 0.5, "error": "stop", "error_kind": "cancelled"},
    ]
    for close in closes:
        await ui.trajectory(job["id"], **close)
    row = re.search(rf'<tr data-job-id="{job["id"]}">(.*?)</tr>', (await ui.page("/ui/")).text, re.S)
    assert row is not None
    cells = dict(re.findall(r'class="num ([a-z-]+)">([^<]*)<', row.group(1)))
    rewards = [counted_reward(c["reward"], c.get("error"), c.get("error_kind")) for c in closes]
    counted = [c for c in closes if counts(c.get("error"), c.get("error_kind"))]
    assert cells["success-rate"] == f"{sum(succeeded(r) for r in rewards) / len(counted):.1%}"
    scored = [r for r in rewards if r is not None]
    assert cells["mean-reward"] == f"{statistics.fmean(scored):.3g}"


async def test_job_page_histogram_and_trajectory_statuses(ui: Ui) -> None:
    job = await ui.api("POST", "/v2/jobs", json={"name": "hist"})
    for reward in (0.0, 0.05, 0.5, 0.99, 1.0, 1.0):
        await ui.trajectory(job["id"], reward=reward)
    await ui.trajectory(job["id"], error="boom")  # the agent's failure: counts as 0
    await ui.trajectory(job["id"], reward=1.0, error="down", error_kind="infrastructure")  # left out
    body = (await ui.page(f"/ui/jobs/{job['id']}")).text
    counts = [int(c) for c in re.findall(r'<g class="bin" data-count="(\d+)">', body)]
    assert len(counts) == HISTOGRAM_BINS
    assert counts[0] == 3 and counts[5] == 1 and counts[-1] == 3 and sum(counts) == 7
    statuses = re.findall(r'<span class="status status-(\w+)">', body)[1:]  # the first is the job's
    assert statuses == ["fail", "fail", "fail", "fail", "success", "success", "fail", "excluded"]
    kinds = re.findall(r'<td class="kind">([^<]*)</td>', body)
    assert kinds == ["", "", "", "", "", "", "agent", "infrastructure"]


async def test_histogram_of_rewards_outside_zero_to_one(ui: Ui) -> None:
    job = await ui.api("POST", "/v2/jobs", json={"name": "wide"})
    for reward in (-5.0, 0.0, 15.0, 15.0):
        await ui.trajectory(job["id"], reward=reward)
    body = (await ui.page(f"/ui/jobs/{job['id']}")).text
    counts = [int(c) for c in re.findall(r'<g class="bin" data-count="(\d+)">', body)]
    assert counts[0] == 1 and counts[2] == 1 and counts[-1] == 2 and sum(counts) == 4


async def test_job_list_pages_by_keyset(ui: Ui) -> None:
    for i in range(JOBS_PER_PAGE + 3):
        await ui.api("POST", "/v2/jobs", json={"name": f"job-{i:03d}"})
    first = (await ui.page("/ui/")).text
    names = re.findall(r">(job-\d{3})</a>", first)
    assert names[0] == f"job-{JOBS_PER_PAGE + 2:03d}" and len(names) == JOBS_PER_PAGE
    link = re.search(r'<a rel="next" href="(/ui/\?before=\d+)">', first)
    assert link is not None
    second = (await ui.page(html.unescape(link.group(1)))).text
    assert re.findall(r">(job-\d{3})</a>", second) == ["job-002", "job-001", "job-000"]
    assert 'rel="next"' not in second
    assert (await ui.page("/ui/?before=abc")).status_code == 400


async def test_trajectories_and_steps_page_by_keyset(ui: Ui) -> None:
    job = await ui.api("POST", "/v2/jobs", json={"name": "long"})
    for i in range(TRAJECTORIES_PER_PAGE + 2):
        await ui.trajectory(job["id"], reward=i / 1000)
    first = (await ui.page(f"/ui/jobs/{job['id']}")).text
    assert first.count("<tr data-trajectory-id=") == TRAJECTORIES_PER_PAGE
    link = re.search(r'<a rel="next" href="([^"]+)">', first)
    assert link is not None
    second = (await ui.page(html.unescape(link.group(1)))).text
    numbers = re.findall(r'<td class="num">(\d+)</td>\s*<td><a href="/ui/trajectories', second)
    assert numbers == [str(TRAJECTORIES_PER_PAGE + 1), str(TRAJECTORIES_PER_PAGE + 2)]

    many = [{"observation_text": f"obs-{i}", "actions": [{"i": i}]} for i in range(150)]
    t = await ui.trajectory(job["id"], steps=many, reward=1.0)
    page = (await ui.page(f"/ui/trajectories/{t['id']}")).text
    assert page.count('<li class="step"') == 100 and "obs-99<" in page and "obs-100<" not in page
    more = re.search(r'<a rel="next" href="([^"]+)">', page)
    assert more is not None
    rest = (await ui.page(html.unescape(more.group(1)))).text
    assert rest.count('<li class="step"') == 50 and "obs-149<" in rest


async def test_steps_page_by_bytes_and_long_text_is_clipped(ui: Ui, monkeypatch: pytest.MonkeyPatch) -> None:
    # 300 KB a page (8 MiB in production) over steps of about 145 KB: pages of two steps.
    monkeypatch.setattr("hud.server._dashboard_pages.PAGE_STEP_BYTES", 300_000)
    job = await ui.api("POST", "/v2/jobs", json={"name": "big", "metadata": {"m": "z" * 30_000}})
    steps = [{"observation_text": f"obs-{i}-" + "o" * 20_000, "actions": [{"k": "a" * 5_000}] * 25} for i in range(7)]
    t = await ui.trajectory(job["id"], steps=steps, reward=1.0, logs="L" * 150_000, error="E" * 20_000)
    page = (await ui.page(f"/ui/trajectories/{t['id']}")).text
    assert page.count('<li class="step"') == 2 and "obs-1-" in page and "obs-2-" not in page
    # Each text shows its start and says how much more there is, never the whole of it.
    assert "10,006 more characters not shown" in page  # the observation: 20,006 characters, 10,000 shown
    assert "50,000 more characters not shown" in page  # the logs
    assert "5 more actions not shown" in page and "L" * 100_001 not in page
    more = re.search(r'<a rel="next" href="([^"]+)">', page)
    assert more is not None
    seen = page.count('<li class="step"')
    while more is not None:
        nxt = (await ui.page(html.unescape(more.group(1)))).text
        seen += nxt.count('<li class="step"')
        more = re.search(r'<a rel="next" href="([^"]+)">', nxt)
    assert seen == 7
    job_page = (await ui.page(f"/ui/jobs/{job['id']}")).text
    assert "more characters not shown" in job_page  # the metadata, pretty-printed, clipped


@pytest.fixture
def statements(ui: Ui) -> Iterator[list[str]]:
    """The SQL statements the app runs, recorded from its engine."""
    seen: list[str] = []
    engine = get_engine(ui.url)

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


async def test_pages_run_a_fixed_number_of_queries(ui: Ui, statements: list[str]) -> None:
    async def count(path: str) -> int:
        statements.clear()
        assert (await ui.page(path)).status_code == 200
        return len(statements)

    await ui.session("alice")  # signed in before counting: a page is counted, not the sign-in
    job = await ui.api("POST", "/v2/jobs", json={"name": "q"})
    await ui.trajectory(job["id"], reward=1.0)
    small_list, small_job = await count("/ui/"), await count(f"/ui/jobs/{job['id']}")
    for _ in range(20):
        extra = await ui.api("POST", "/v2/jobs", json={"name": "q"})
        await ui.trajectory(extra["id"], reward=0.5)
        await ui.trajectory(job["id"], reward=0.5, steps=[{"observation_text": "s"}])
    assert await count("/ui/") == small_list
    assert await count(f"/ui/jobs/{job['id']}") == small_job


async def test_without_auth_the_dashboard_shows_the_local_account(db_url: str) -> None:
    app = create_app(db_url, auth=False, dashboard=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
        await client.post("/v2/jobs", json={"name": "local-job"})
        page = await client.get("/ui/")
        assert page.status_code == 200 and "local-job" in page.text and "Sign out" not in page.text
        assert (await client.get("/ui/login")).headers["location"] == "/ui/"
        assert (await client.get("/ui")).status_code in (307, 308)


async def test_the_dashboard_leaves_the_api_alone(db_url: str) -> None:
    plain = create_app(db_url, auth=False)
    with_ui = create_app(db_url, auth=False, dashboard=True)
    for app, ui_status in ((plain, 404), (with_ui, 200)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
            assert (await client.get("/ui/")).status_code == ui_status
            missing = await client.get("/v2/nope")
            assert missing.status_code == 404 and missing.json()["detail"].startswith("no such path")
            assert (await client.get("/openapi.yaml")).text.startswith("openapi:")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=with_ui), base_url=LOCAL) as client:
        assert (await client.get("/ui/static/dashboard.js")).headers["content-type"].startswith("text/javascript")
        assert (await client.get("/ui/static/../_app.py")).status_code == 404
        assert (await client.get("/ui/no/such/page")).status_code == 404


@pytest.mark.live
def test_hud_ui_serves_the_embedded_default_on_loopback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'hud.db'}"
    home.mkdir()
    app = create_app(url, auth=False)

    async def fill() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
            await client.post("/v2/jobs", json={"name": "made-by-the-embedded-default"})

    asyncio.run(fill())
    dispose(url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUD_")} | {"HUD_HOME": str(home)}
    command = [sys.executable, "-m", "hud._cli", "ui", "--port", str(port)]
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    page = httpx.get(f"http://127.0.0.1:{port}/ui/", timeout=2)
                    break
                except httpx.TransportError:
                    assert process.poll() is None and time.monotonic() < deadline, "hud ui did not start"
                    time.sleep(0.05)
            assert page.status_code == 200 and "made-by-the-embedded-default" in page.text
            assert "Sign out" not in page.text
            # Without sign-in, so on loopback only: 127.0.0.1, not 0.0.0.0 nor any IPv6 address.
            assert _listening(port) == ["0100007F"]
        finally:
            process.terminate()
            process.wait(timeout=10)


async def test_job_page_shows_open_environments_and_task_identity(ui: Ui) -> None:
    job = await ui.api("POST", "/v2/jobs", json={"name": "identity"})
    await ui.api("POST", "/v2/create_environment", json={"run_id": job["id"], "gym_id": "g", "task_id": "open-1"})
    env = await ui.api("POST", "/v2/create_environment", json={"run_id": job["id"], "gym_id": "g2", "task_id": "t-9"})
    await ui.api("POST", f"/v2/environments/{env['id']}/close", json={"error": "late", "error_kind": "timeout"})
    body = (await ui.page(f"/ui/jobs/{job['id']}")).text
    assert re.search(r'id="stat-open">1<', body)
    row = re.search(rf'<tr data-trajectory-id="{env["id"]}">(.*?)</tr>', body, re.S)
    assert row is not None
    cells = row.group(1)
    # The task links to the job's trajectories of that task.
    assert f'<td class="task"><a href="/ui/jobs/{job["id"]}?task=t-9">t-9</a></td>' in cells
    assert '<td class="gym">g2</td>' in cells
    assert '<td class="kind">timeout</td>' in cells and re.search(r'class="num duration">\d+ ms<', cells)
    page = _text(await ui.page(f"/ui/trajectories/{env['id']}"))
    assert re.search(r"Task\s+t-9", page) and re.search(r"Error kind\s+timeout", page)


def _listening(port: int) -> list[str]:
    """The local addresses (hex, as /proc writes them) of the sockets listening on `port`, IPv4 and IPv6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


async def _tasks_job(ui: Ui, name: str, rewards: dict[str, list[float]], metadata: Any = None) -> str:
    job = await ui.api("POST", "/v2/jobs", json={"name": name, "metadata": metadata})
    for task_id, values in rewards.items():
        for reward in values:
            env = await ui.api(
                "POST", "/v2/create_environment", json={"run_id": job["id"], "gym_id": "g", "task_id": task_id}
            )
            await ui.api("POST", f"/v2/environments/{env['id']}/close", json={"reward": reward})
    return str(job["id"])


async def test_job_list_shows_each_jobs_metadata(ui: Ui) -> None:
    for agent in ("v1", "v2"):
        await ui.api("POST", "/v2/jobs", json={"name": "puzzles eval", "metadata": {"agent": agent, "x": "<b>"}})
    body = (await ui.page("/ui/")).text
    cells = re.findall(r'<td class="metadata"><code>(.*?)</code></td>', body)
    assert [html.unescape(c) for c in cells] == ['{"agent": "v2", "x": "<b>"}', '{"agent": "v1", "x": "<b>"}']


async def test_job_page_intervals_are_over_tasks(ui: Ui) -> None:
    rewards = {"a": [1.0, 0.0], "b": [1.0, 1.0], "c": [0.0, 0.0], "d": [0.5, 1.0]}
    job_id = await _tasks_job(ui, "ci", rewards)
    page = _text(await ui.page(f"/ui/jobs/{job_id}"))
    means = [statistics.fmean(v) for v in rewards.values()]
    low, high = stats.ttest_1samp(means, 0.0).confidence_interval(0.95)
    assert f"95% CI {low:.3g} to {high:.3g} over 4 tasks" in page
    rates = [sum(r >= 1.0 for r in v) / 2 for v in rewards.values()]
    low, high = stats.ttest_1samp(rates, 0.0).confidence_interval(0.95)
    assert f"95% CI {max(0.0, low):.1%} to {min(1.0, high):.1%} over 4 tasks" in page


async def test_job_page_filters_and_sorts_trajectories(ui: Ui) -> None:
    job = await ui.api("POST", "/v2/jobs", json={"name": "filtered"})
    closes: list[tuple[str, dict[str, Any]]] = [
        ("t1", {"reward": 1.0}),
        ("t1", {"reward": 0.25}),
        ("t2", {"error": "slow", "error_kind": "timeout"}),
        ("t2", {"error": "down", "error_kind": "infrastructure"}),
        ("t3", {}),
        ("t3", {"reward": 0.5}),
    ]
    ids = []
    for task_id, close in closes:
        env = await ui.api(
            "POST", "/v2/create_environment", json={"run_id": job["id"], "gym_id": "g", "task_id": task_id}
        )
        ids.append((await ui.api("POST", f"/v2/environments/{env['id']}/close", json=close))["id"])

    async def rows(query: str) -> list[str]:
        response = await ui.page(f"/ui/jobs/{job['id']}?{query}")
        assert response.status_code == 200, response.text
        return re.findall(r'<tr data-trajectory-id="([^"]+)"', response.text)

    assert await rows("outcome=fail") == [ids[1], ids[2], ids[5]]  # a timeout counts as a failure
    assert await rows("outcome=excluded") == [ids[3]]
    assert await rows("outcome=unscored") == [ids[4]]
    assert await rows("outcome=success") == [ids[0]]
    assert await rows("kind=timeout") == [ids[2]]
    assert await rows("task=t3") == [ids[4], ids[5]]
    assert await rows("task=t2&outcome=fail") == [ids[2]]
    assert await rows("sort=reward-desc") == [ids[0], ids[5], ids[1], ids[2], ids[3], ids[4]]
    assert await rows("sort=reward-asc&task=t1") == [ids[1], ids[0]]
    assert "3 of 6 trajectories match." in _text(await ui.page(f"/ui/jobs/{job['id']}?outcome=fail"))
    for bad in ("outcome=won", "kind=oops", "sort=random", "offset=-1", "offset=999999999"):
        response = await ui.page(f"/ui/jobs/{job['id']}?{bad}")
        assert (response.status_code == 400 and "the page" in _text(response)) or "follow the links" in _text(response)


async def test_filtered_and_sorted_pages_page_through_every_row(ui: Ui) -> None:
    job = await ui.api("POST", "/v2/jobs", json={"name": "long"})
    for i in range(TRAJECTORIES_PER_PAGE + 30):
        await ui.trajectory(job["id"], reward=(i % 10) / 10)
    for query in ("sort=reward-desc", "outcome=fail"):
        seen: list[str] = []
        path: str | None = f"/ui/jobs/{job['id']}?{query}"
        while path is not None:
            body = (await ui.page(path)).text
            seen += re.findall(r'<tr data-trajectory-id="([^"]+)"', body)
            found = re.search(r'<a rel="next" href="([^"]+)">', body)
            path = html.unescape(found.group(1)) if found else None
        assert len(seen) == len(set(seen)) == TRAJECTORIES_PER_PAGE + 30


async def test_the_compare_page_answers_in_words(ui: Ui, statements: list[str]) -> None:
    a_rewards = {f"t{i:02d}": [float(i % 4 == 0), float(i % 3 == 0)] for i in range(30)}
    b_rewards = {f"t{i:02d}": [1.0, float(i % 3 != 1)] for i in range(1, 31)}
    a = await _tasks_job(ui, "baseline", a_rewards, {"agent": "v1"})
    b = await _tasks_job(ui, "candidate", b_rewards, {"agent": "v2"})
    job_page = (await ui.page(f"/ui/jobs/{a}")).text
    assert '<form class="compare-with" method="get" action="/ui/compare">' in job_page
    assert f'<option value="{b}">candidate' in job_page
    statements.clear()
    response = await ui.page(f"/ui/compare?a={a}&b={b}")
    assert response.status_code == 200
    queries = len(statements)
    page = _text(response)
    paired = [f"t{i:02d}" for i in range(1, 30)]
    diffs = [statistics.fmean(b_rewards[t]) - statistics.fmean(a_rewards[t]) for t in paired]
    ci = stats.ttest_1samp(diffs, 0.0).confidence_interval(0.95)
    sentence = f"B is better by {statistics.fmean(diffs):.2f} (95% CI {ci.low:.2f} to {ci.high:.2f}, p = "
    assert sentence in page
    assert "29 in both jobs, paired" in page
    assert re.search(r"Only in A \(1\):\s+t00", page) and re.search(r"Only in B \(1\):\s+t30", page)
    regressed = re.findall(r'<table class="tasks regressed">.*?</table>', response.text, re.S)
    improved = re.findall(
        r'<tr data-task-id="([^"]+)"', re.findall(r'<table class="tasks improved">.*?</table>', response.text, re.S)[0]
    )
    assert improved[0] in {t for t, d in zip(paired, diffs, strict=True) if d == max(diffs)}
    assert len(improved) == sum(d > 0 for d in diffs) and (not regressed or min(diffs) < 0)
    # The same number of queries whatever the jobs' sizes.
    more = await _tasks_job(ui, "bigger", {f"x{i}": [1.0, 0.0, 1.0] for i in range(40)})
    statements.clear()
    assert (await ui.page(f"/ui/compare?a={a}&b={more}")).status_code == 200
    assert len(statements) == queries
    assert "no detectable difference" in _text(await ui.page(f"/ui/compare?a={a}&b={a}"))
    assert "not enough tasks" in _text(await ui.page(f"/ui/compare?a={a}&b={more}"))


async def test_the_compare_page_keeps_accounts_apart(ui: Ui) -> None:
    mine = await _tasks_job(ui, "mine", {"t": [1.0]})
    theirs = (await ui.api("POST", "/v2/jobs", who="bob", json={"name": "bob-secret"}))["id"]
    response = await ui.page(f"/ui/compare?a={mine}&b={theirs}")
    assert response.status_code == 404 and "bob-secret" not in response.text
    assert "bob-secret" not in (await ui.page(f"/ui/jobs/{mine}")).text  # not offered for comparison
    response = await ui.page(f"/ui/compare?a={mine}")
    assert response.status_code == 400 and "/ui/compare?a=JOB_ID&amp;b=JOB_ID" in response.text
