"""The dashboard in a real headless Chromium, against a live `hud server` filled by the quickstart.

Debian's `chromium` is driven by Playwright through its executable_path (`playwright install` is never
run). Without chromium the tests skip, unless HUD_TEST_CHROMIUM is set (by .ci/chromium.sh): then they
must run. Screenshots are saved under each test's tmp_path.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _browser import chromium
from _servers import live_server

from hud._wire import counted_reward
from hud.server import create_key, dispose

pytestmark = pytest.mark.live

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"
QUICKSTART_JOB = "quickstart: guess the number"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium (Debian's), closed after the module."""
    with chromium() as launched:
        yield launched


@dataclasses.dataclass(frozen=True)
class Team:
    base_url: str
    research: str
    other: str
    job_id: str

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """A live `hud server` with auth: account `research` ran the quickstart, account `other` a job."""
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{folder / 'team.db'}"
    research, other = create_key(url, "research"), create_key(url, "other")
    try:
        with live_server(url) as base_url:
            env = {k: v for k, v in os.environ.items() if not k.startswith("HUD_")}
            env.update(HUD_BASE_URL=base_url, HUD_API_KEY=research, HUD_HOME=str(folder / "home"))
            run = subprocess.run(
                [sys.executable, str(QUICKSTART)], env=env, capture_output=True, text=True, timeout=120, check=True
            )
            found = re.search(r"hud jobs show (\S+)", run.stdout)
            assert found is not None, run.stdout
            team = Team(base_url, research, other, found.group(1))
            with team.client(other) as client:
                assert client.post("/v2/jobs", json={"name": "other-account-secret"}).status_code == 200
            yield team
    finally:
        dispose(url)


def _sign_in(browser: Any, team: Team, key: str) -> Any:
    """A browser context signed in through the login form."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(team.base_url + "/ui/")
    assert page.url == team.base_url + "/ui/login"
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(team.base_url + "/ui/")
    page.close()
    return context


def _console_errors(page: Any) -> list[str]:
    """Console errors of the page from now on: CSP violations and script errors show up here."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_job_list_to_job_to_trajectory(browser: Any, team: Team, tmp_path: Path) -> None:
    with team.client(team.research) as client:
        trajectories = client.get(f"/v2/jobs/{team.job_id}/trajectories").json()
    # The rewards the histogram counts: an agent's failure counts with reward 0 (hud._wire's rule).
    rewards = [r for t in trajectories if (r := counted_reward(t["reward"], t["error"], t["error_kind"])) is not None]
    successes = sum(r >= 1.0 for r in rewards)
    crashed = [t for t in trajectories if t["error"]]
    assert len(trajectories) == 24 and crashed  # the quickstart's own numbers

    context = _sign_in(browser, team, team.research)
    try:
        page = context.new_page()
        errors = _console_errors(page)
        page.goto(team.base_url + "/ui/")
        row = page.locator(f'tr[data-job-id="{team.job_id}"]')
        assert row.locator("a").inner_text() == QUICKSTART_JOB
        assert row.locator(".status").inner_text() == "completed"
        assert row.locator(".trajectories").inner_text() == "24"
        assert row.locator(".success-rate").inner_text() == f"{successes / 24:.1%}"
        assert row.locator(".errors").inner_text() == str(len(crashed))
        assert "other-account-secret" not in page.inner_text("body")
        # The stylesheet loaded under the CSP: the status badge has its colours.
        assert row.locator(".status").evaluate("e => getComputedStyle(e).borderRadius") == "10px"
        page.screenshot(path=str(tmp_path / "jobs.png"), full_page=True)

        row.locator("a").click()
        page.wait_for_url(f"**/ui/jobs/{team.job_id}")
        assert page.locator("h1").inner_text().startswith(QUICKSTART_JOB)
        assert page.inner_text("#stat-trajectories") == "24"
        assert page.locator("table.trajectories tbody tr").count() == 24
        bins = page.locator("g.bin").evaluate_all("gs => gs.map(g => Number(g.dataset.count))")
        # The histogram shows what counts: the agent's crashes count as reward 0.
        assert sum(bins) == len(trajectories) and bins[-1] == successes
        assert bins[0] == sum(r == 0.0 for r in rewards)
        assert page.locator("svg rect").first.bounding_box() is not None
        error_row = page.locator(f'tr[data-trajectory-id="{crashed[0]["id"]}"]')
        # The agent raised: a failure of the agent (reward 0), of error kind `agent`.
        assert error_row.locator(".status").inner_text() == "fail"
        assert error_row.locator(".kind").inner_text() == "agent"
        assert error_row.locator(".task").inner_text() == crashed[0]["task_id"]
        assert "superstitious" in error_row.locator("td.error").inner_text()
        page.screenshot(path=str(tmp_path / "job.png"), full_page=True)

        best = next(t for t in trajectories if t["reward"] == 1.0 and len(t["trajectory"]) > 2)
        page.locator(f'tr[data-trajectory-id="{best["id"]}"] a[href^="/ui/trajectories/"]').click()
        page.wait_for_url(f"**/ui/trajectories/{best['id']}")
        steps = page.locator("li.step")
        assert steps.count() == len(best["trajectory"])
        first = best["trajectory"][0]
        assert steps.first.locator(".observation-text").inner_text() == first["observation_text"]
        assert f'"value": {first["actions"][0]["value"]}' in steps.first.locator(".action").inner_text()
        assert page.inner_text("#reward") == "1"
        page.screenshot(path=str(tmp_path / "trajectory.png"), full_page=True)

        page.locator("nav a", has_text=QUICKSTART_JOB).click()
        page.wait_for_url(f"**/ui/jobs/{team.job_id}")
        assert errors == []
    finally:
        context.close()


def test_a_session_in_an_httponly_cookie_and_accounts_stay_apart(browser: Any, team: Team) -> None:
    anonymous = browser.new_context()
    try:
        page = anonymous.new_page()
        page.goto(f"{team.base_url}/ui/jobs/{team.job_id}")
        assert page.url.endswith("/ui/login") and QUICKSTART_JOB not in page.content()
        page.fill("#key", "hud_not-a-real-key")
        page.click("button[type=submit]")
        assert "unknown or revoked" in page.inner_text("[role=alert]")
        assert "hud_not-a-real-key" not in page.content()
    finally:
        anonymous.close()

    context = _sign_in(browser, team, team.other)
    try:
        cookie = next(c for c in context.cookies() if c["name"] == "hud_session")
        assert cookie["httpOnly"] and cookie["path"] == "/ui" and cookie["sameSite"] == "Lax"
        assert team.other not in {c["value"] for c in context.cookies()}  # a session id, never the key
        page = context.new_page()
        page.goto(team.base_url + "/ui/")
        assert page.evaluate("document.cookie") == ""
        assert "other-account-secret" in page.inner_text("table.jobs")
        assert QUICKSTART_JOB not in page.inner_text("body")
        response = page.goto(f"{team.base_url}/ui/jobs/{team.job_id}")
        assert response is not None and response.status == 404
        assert QUICKSTART_JOB not in page.content()
        page.goto(team.base_url + "/ui/")
        page.click("text=Sign out")
        page.wait_for_url("**/ui/login")
        page.goto(team.base_url + "/ui/")
        assert page.url.endswith("/ui/login")
    finally:
        context.close()


def test_a_running_job_updates_in_place(browser: Any, team: Team, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with team.client(team.research) as client:
        job = client.post("/v2/jobs", json={"name": "watching it run"}).json()
        client.patch(f"/v2/jobs/{job['id']}", json={"status": "running"})
        context = _sign_in(browser, team, team.research)
        try:
            page = context.new_page()
            errors = _console_errors(page)
            page.goto(f"{team.base_url}/ui/jobs/{job['id']}")
            assert page.inner_text("#stat-trajectories") == "0"
            page.evaluate("window.__sameDocument = true")
            for reward in (1.0, 0.0, 1.0):
                env = client.post("/v2/create_environment", json={"run_id": job["id"], "gym_id": "g"}).json()
                client.post(f"/v2/environments/{env['id']}/steps", json={"steps": [{"observation_text": "o"}]})
                client.post(f"/v2/environments/{env['id']}/close", json={"reward": reward})
            # Locator assertions poll without eval, which the dashboard's CSP forbids (as it should).
            expect(page.locator("#stat-trajectories")).to_have_text("3", timeout=15000)
            assert page.inner_text("#stat-success-rate") == "66.7%"
            assert page.locator("table.trajectories tbody tr").count() == 3
            assert page.evaluate("window.__sameDocument") is True  # updated in place, not reloaded
            page.screenshot(path=str(tmp_path / "running.png"), full_page=True)

            client.patch(f"/v2/jobs/{job['id']}", json={"status": "completed"})
            expect(page.locator("#live")).to_have_attribute("data-refresh", "0", timeout=15000)
            assert page.locator("h1 .status").inner_text() == "completed"
            assert errors == []
        finally:
            context.close()


def test_hostile_data_is_shown_as_text(browser: Any, team: Team, tmp_path: Path) -> None:
    png = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAFElEQVR4nGNkYPj/n4GBgYGJAQoAHhgCAh6X"
        "Wq8AAAAASUVORK5CYII="
    )
    name = '<img src=x onerror="window.__pwned=1">'
    with team.client(team.research) as client:
        job = client.post(
            "/v2/jobs", json={"name": name, "metadata": {"k": "<script>window.__pwned=2</script>"}}
        ).json()
        env = client.post("/v2/create_environment", json={"run_id": job["id"], "gym_id": "g"}).json()
        steps = [
            {"observation_text": "<svg onload=window.__pwned=3>", "observation_url": "javascript:window.__pwned=4"},
            {"observation_url": png, "actions": [{"type": "<b>click</b>"}]},
        ]
        client.post(f"/v2/environments/{env['id']}/steps", json={"steps": steps})
        client.post(f"/v2/environments/{env['id']}/close", json={"error": "<script>window.__pwned=5</script>"})
    context = _sign_in(browser, team, team.research)
    try:
        page = context.new_page()
        page.goto(f"{team.base_url}/ui/jobs/{job['id']}")
        assert page.locator("h1").inner_text().startswith(name)
        assert page.inner_text("td.error") == "<script>window.__pwned=5</script>"
        page.click("summary")
        assert "<script>window.__pwned=2</script>" in page.inner_text("pre.metadata")
        page.locator(f'tr[data-trajectory-id="{env["id"]}"] a[href^="/ui/trajectories/"]').click()
        page.wait_for_url(f"**/ui/trajectories/{env['id']}")
        assert page.inner_text(".observation-text") == "<svg onload=window.__pwned=3>"
        assert page.inner_text(".observation .url") == "javascript:window.__pwned=4"
        images = page.locator(".observation img")
        assert images.count() == 1  # only the data: image; the javascript: URL is text
        assert images.first.evaluate("img => img.complete && img.naturalWidth") == 2
        assert page.inner_text(".action") == '{"type": "<b>click</b>"}'
        assert page.evaluate("window.__pwned") is None
        page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
    finally:
        context.close()


def test_filter_a_job_then_compare_it_with_another(browser: Any, team: Team, tmp_path: Path) -> None:
    """From the quickstart's job page: filter its failures, then "Compare with…" a second run."""
    with team.client(team.research) as client:
        trajectories = client.get(f"/v2/jobs/{team.job_id}/trajectories").json()
        candidate = client.post(
            "/v2/jobs", json={"name": "quickstart, better agent", "metadata": {"agent": "v2"}}
        ).json()
        for t in trajectories:  # the same tasks, every one solved
            env = client.post(
                "/v2/create_environment", json={"run_id": candidate["id"], "gym_id": "g", "task_id": t["task_id"]}
            ).json()
            client.post(f"/v2/environments/{env['id']}/close", json={"reward": 1.0})
    failures = [t for t in trajectories if t["reward"] is None or t["reward"] < 1.0]
    context = _sign_in(browser, team, team.research)
    try:
        page = context.new_page()
        errors = _console_errors(page)
        page.goto(f"{team.base_url}/ui/jobs/{team.job_id}")
        assert re.fullmatch(r"95% CI \S+ to \S+ over 24 tasks", page.inner_text("#stat-mean-reward-ci"))
        page.select_option("select[name=outcome]", "fail")
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**outcome=fail**")
        assert page.locator("table.trajectories tbody tr").count() == len(failures)
        assert page.inner_text("#matching") == f"{len(failures)} of 24 trajectories match."
        page.screenshot(path=str(tmp_path / "filtered.png"), full_page=True)

        page.select_option("#compare-b", candidate["id"])
        page.click("form.compare-with button[type=submit]")
        page.wait_for_url("**/ui/compare?**")
        verdict = page.inner_text("#verdict")
        assert re.fullmatch(r"B is better by \d\.\d+ \(95% CI \d\.\d+ to \d\.\d+, p = \S+\)", verdict), verdict
        assert page.inner_text("#tasks-paired").startswith("24 in both jobs, paired")
        improved = page.locator("table.improved tbody tr").evaluate_all("rows => rows.map(r => r.dataset.taskId)")
        assert sorted(improved) == sorted(t["task_id"] for t in failures)
        assert page.locator("table.regressed").count() == 0
        assert page.locator(".verdict.better").evaluate("e => getComputedStyle(e).borderLeftWidth") == "4px"
        page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
        assert errors == []
    finally:
        context.close()
