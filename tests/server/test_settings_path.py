"""One settings path: HUD_HOME (also from `.env`) reaches every command, and HUD_SERVER_* the server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

import hud
from hud._cli import main
from hud.job import create_job, iter_jobs
from hud.server import dispose, list_keys
from hud.server._app import app_from_env
from hud.settings import get_settings

from .conftest import LOCAL


@pytest.fixture
def env_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HUD_HOME set only in a `.env` file of the working folder; the real home is a temp folder."""
    home = tmp_path / "from-dotenv"
    monkeypatch.delenv("HUD_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    (tmp_path / ".env").write_text(f"HUD_HOME={home}\n")
    get_settings.cache_clear()
    return home


async def test_dotenv_home_is_where_the_sdk_and_the_cli_meet(env_home: Path) -> None:
    job = await create_job("from-the-sdk")
    await hud.aclose()
    assert (env_home / "hud.db").exists()
    url = f"sqlite:///{env_home / 'hud.db'}"
    result = CliRunner().invoke(main, ["keys", "create", "--account", "team"])  # --db left to its default
    assert result.exit_code == 0, result.output
    assert [k.account for k in list_keys(url)] == ["team"]
    assert not (Path.home() / ".hud").exists()
    # `hud ui` serves the same file: the app it would build sees the SDK's job.
    from hud._cli._database import embedded_database

    assert embedded_database() == env_home / "hud.db"
    listed = [j.id async for j in iter_jobs()]
    assert listed == [job.id]
    dispose(url)


async def test_workers_read_their_options_from_hud_server_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    (tmp_path / ".env").write_text(f"HUD_SERVER_DATABASE_URL={url}\nHUD_SERVER_MAX_BODY_BYTES=100\n")
    monkeypatch.setenv("HUD_SERVER_AUTH", "false")
    app = app_from_env()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
        assert (await client.post("/v2/jobs", json={"name": "x"})).status_code == 200  # no key needed
        too_large = await client.post("/v2/jobs", json={"name": "x" * 200})
        assert too_large.status_code == 413 and "over 100 bytes" in too_large.json()["detail"]
        assert (await client.get("/ui/")).status_code == 200  # the dashboard is on by default
    dispose(url)


def test_a_bad_server_variable_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUD_SERVER_MAX_BODY_BYTES", "lots")
    result = CliRunner().invoke(main, ["server", "--port", "0"])
    assert result.exit_code == 1
    assert "HUD_SERVER_MAX_BODY_BYTES" in result.stderr and "Traceback" not in result.output
