"""`hud keys` and `hud server` through click's runner: stdout/stderr split, exit codes, no secrets stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from hud._cli import main
from hud.server import create_app, list_keys

from .conftest import BASE, LOCAL


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


async def test_keys_create_prints_key_alone_and_stores_only_hash(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    result = runner.invoke(main, ["keys", "create", "--db", db_url, "--account", "team-a"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert result.stdout == key + "\n"
    assert key.startswith("hud_") and len(key) > 40
    assert "team-a" in result.stderr and key not in result.stderr
    from hud.server import dispose

    dispose(db_url)
    assert not _files_contain(tmp_path, key)
    # The printed key works.
    app = create_app(db_url)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        response = await client.get("/v2/jobs", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200


def _files_contain(folder: Path, secret: str) -> bool:
    files = list(folder.glob("server.db*"))
    assert files
    return any(secret.encode() in path.read_bytes() for path in files)


def test_keys_list_never_shows_keys(runner: CliRunner, db_url: str) -> None:
    keys = [runner.invoke(main, ["keys", "create", "--db", db_url, "--account", a]).stdout.strip() for a in "ab"]
    result = runner.invoke(main, ["keys", "list", "--db", db_url])
    assert result.exit_code == 0, result.output
    for key in keys:
        assert key not in result.output
    ids = [k.id for k in list_keys(db_url)]
    for key_id in ids:
        assert key_id in result.stdout
    result = runner.invoke(main, ["keys", "list", "--db", db_url, "--account", "b"])
    assert ids[1] in result.stdout and ids[0] not in result.stdout


def test_keys_revoke_by_key_and_by_id(runner: CliRunner, db_url: str) -> None:
    key = runner.invoke(main, ["keys", "create", "--db", db_url, "--account", "a"]).stdout.strip()
    other = runner.invoke(main, ["keys", "create", "--db", db_url, "--account", "a"]).stdout.strip()
    assert other
    result = runner.invoke(main, ["keys", "revoke", "--db", db_url, key])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    second_id = list_keys(db_url)[1].id
    assert runner.invoke(main, ["keys", "revoke", "--db", db_url, second_id]).exit_code == 0
    assert [k.revoked for k in list_keys(db_url)] == [True, True]
    listed = runner.invoke(main, ["keys", "list", "--db", db_url]).stdout
    assert listed.count("+00:00") == 4  # created and revoked times of both


@pytest.mark.parametrize(
    "args",
    [
        ["keys", "revoke", "--db", "{db}", "key_unknown"],
        ["keys", "create", "--db", "{db}", "--account", ""],
        ["keys", "list", "--db", "mysql://nope"],
        ["keys", "list", "--db", "not a url"],
        ["server", "--db", "oracle://x"],
    ],
)
def test_errors_are_one_line_without_traceback(runner: CliRunner, db_url: str, args: list[str]) -> None:
    result = runner.invoke(main, [a.replace("{db}", db_url) for a in args])
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hud: error:"), result.stderr
    assert "Traceback" not in result.stderr


def test_default_database_is_in_hud_home(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "custom-home"
    monkeypatch.setenv("HUD_HOME", str(home))
    result = runner.invoke(main, ["keys", "create", "--account", "a"])
    assert result.exit_code == 0, result.output
    assert (home / "hud.db").exists()
    from hud.server import dispose

    assert len(list_keys(f"sqlite:///{home / 'hud.db'}")) == 1
    dispose(f"sqlite:///{home / 'hud.db'}")


def test_server_help_lists_options(runner: CliRunner) -> None:
    result = runner.invoke(main, ["server", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--db", "--workers", "--max-body-bytes"):
        assert option in result.stdout


@pytest.fixture
def uvicorn_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """What `hud server` hands to uvicorn.run, recorded instead of served (the app is tested in-process)."""
    runs: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append((app, options)))
    return runs


async def test_no_dashboard_serves_the_api_without_the_ui(
    runner: CliRunner, db_url: str, uvicorn_runs: list[tuple[Any, dict[str, Any]]]
) -> None:
    for flag, ui_status in (("--dashboard", 200), ("--no-dashboard", 404)):
        result = runner.invoke(main, ["server", "--db", db_url, "--no-auth", flag])
        assert result.exit_code == 0, result.output
        assert ("/ui/" in result.stderr) == (flag == "--dashboard")
        app, _options = uvicorn_runs[-1]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=LOCAL) as client:
            assert (await client.get("/ui/")).status_code == ui_status
            assert (await client.post("/v2/jobs", json={"name": "api"})).status_code == 200


@pytest.mark.parametrize(
    ("host", "auth", "warned"),
    [
        ("0.0.0.0", False, True),
        ("::", False, True),
        ("192.0.2.7", False, True),
        ("127.0.0.1", False, False),
        ("localhost", False, False),
        ("::1", False, False),
        ("0.0.0.0", True, False),
    ],
)
def test_no_auth_on_a_reachable_host_warns(
    runner: CliRunner,
    db_url: str,
    uvicorn_runs: list[tuple[Any, dict[str, Any]]],
    host: str,
    auth: bool,
    warned: bool,
) -> None:
    result = runner.invoke(main, ["server", "--db", db_url, "--host", host, *([] if auth else ["--no-auth"])])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("hud: warning:")]
    assert bool(warnings) == warned, result.stderr
    if warned:
        assert "--no-auth" in warnings[0] and host in warnings[0] and "anyone" in warnings[0]
    assert uvicorn_runs[-1][1]["host"] == host
