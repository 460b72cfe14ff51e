"""Text from the server reaches a terminal as text: `hud jobs ...` and its errors escape control characters.

A job name, a status, an agent's exception text or a server's error detail may hold sequences that
retitle the terminal window (OSC), clear the screen or erase lines (CSI), or reorder what is shown
(bidi overrides). The human-readable outputs show them escaped; json, jsonl and csv stay exact.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import respx
from _payloads import BASE_URL, job_payload
from click.testing import CliRunner

import hud
from hud._cli import main
from hud.job import create_job
from hud.server import create_key, dispose

RETITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"
ERASE = "\r\x1b[1K"
C1_CSI = "\x9b2J"
BIDI = "\u202eevil"
HOSTILE = RETITLE + CLEAR + "name" + ERASE + C1_CSI + BIDI + "\x08\x7f"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\r", "\x08", "\x7f")


async def _fill() -> str:
    target = await create_job(HOSTILE, metadata={"k": HOSTILE})
    env = await hud.gym.make("gym", job=target)
    await env.close(reward=0.0, error="Traceback: " + HOSTILE)
    await target.update(status=("s" + CLEAR)[:60], error=HOSTILE)
    await hud.aclose()
    return target.id


@pytest.fixture
def job_id() -> str:
    return asyncio.run(_fill())


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _assert_escaped(text: str, *, whole: bool = True) -> None:
    assert not any(char in text for char in RAW), repr(text)
    assert "\\x1b]0;pwned\\x07" in text
    assert not whole or "\\u202e" in text  # a table column may cut the name before it


@pytest.mark.parametrize(
    "args", [("jobs", "list"), ("jobs", "show", "{id}"), ("jobs", "trajectories", "{id}")], ids=lambda a: a[1]
)
def test_tables_escape_control_characters(job_id: str, args: tuple[str, ...]) -> None:
    code, out, _ = _run(*(a.format(id=job_id) for a in args))
    assert code == 0
    if args[1] == "trajectories":
        out = out.replace("\\", "")  # the error column is cut at 60 characters: look for what fits
        assert not any(char in out for char in RAW), repr(out)
        assert "x1b]0;pwnedx07" in out
    else:
        _assert_escaped(out, whole=args[1] == "show")


def test_machine_formats_stay_exact(job_id: str) -> None:
    code, out, _ = _run("jobs", "show", job_id, "--format", "json")
    assert code == 0 and json.loads(out)["name"] == HOSTILE
    code, out, _ = _run("jobs", "trajectories", job_id, "--format", "jsonl")
    assert code == 0 and json.loads(out)["error"] == "Traceback: " + HOSTILE


def test_a_server_error_detail_is_escaped(remote: respx.MockRouter) -> None:
    remote.get(f"{BASE_URL}/v2/jobs/j1").mock(return_value=httpx.Response(404, json={"detail": HOSTILE}))
    code, out, err = _run("jobs", "show", "j1")
    assert code == 1 and out == ""
    _assert_escaped(err)


def test_a_job_listed_by_a_server_is_escaped(remote: respx.MockRouter) -> None:
    page = {"items": [job_payload("j1", name=HOSTILE, status=CLEAR)], "next_cursor": None}
    remote.get(f"{BASE_URL}/v2/jobs").mock(return_value=httpx.Response(200, json=page))
    # A server without summaries (the platform): the listing shows the jobs without their numbers.
    remote.get(f"{BASE_URL}/v2/jobs/j1/summary").mock(return_value=httpx.Response(404, json={"detail": "no"}))
    code, out, _ = _run("jobs", "list")
    assert code == 0
    assert not any(char in out for char in RAW) and "\\x1b[2J" in out


def test_a_job_shown_is_escaped(remote: respx.MockRouter) -> None:
    remote.get(f"{BASE_URL}/v2/jobs/j1").mock(
        return_value=httpx.Response(200, json=job_payload("j1", name=HOSTILE, status=CLEAR))
    )
    remote.get(f"{BASE_URL}/v2/jobs/j1/summary").mock(return_value=httpx.Response(404, json={"detail": "no"}))
    remote.get(f"{BASE_URL}/v2/jobs/j1/trajectories").mock(return_value=httpx.Response(200, json=[]))
    remote.get(f"{BASE_URL}/v2/jobs/j1/environments").mock(return_value=httpx.Response(404, json={"detail": "no"}))
    code, out, err = _run("jobs", "show", "j1")
    assert code == 0, err
    assert not any(char in out for char in RAW) and "\\x1b[2J" in out


def test_hud_keys_list_escapes_account_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    create_key(url, HOSTILE)
    dispose(url)
    code, out, _ = _run("keys", "list", "--db", url)
    assert code == 0
    _assert_escaped(out)
