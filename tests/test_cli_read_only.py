"""Read-only commands (`hud jobs ...`, `hud keys list`, `hud keys revoke`, `hud ui`) never create anything.

A mistyped `--db`, or the embedded default before anything was recorded, is an error that names the
path and the fix, exit code 1, and leaves the disk (and a PostgreSQL database) exactly as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _servers import fresh_postgres_database, postgres_url
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from hud._cli import main


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["keys", "list", "--db", "sqlite:///nonexistent/x.db"], "no database at {cwd}/nonexistent/x.db: check --db"),
        (["keys", "revoke", "--db", "sqlite:///typo.db", "key_x"], "no database at {cwd}/typo.db: check --db"),
        (["ui"], "no database at {home}/hud.db: nothing has been recorded with the embedded default yet"),
        (["jobs", "list"], "no jobs to read: the embedded local server ({home}/hud.db;"),
        (["jobs", "show", "some-id"], "no jobs to read: the embedded local server ({home}/hud.db;"),
        (["jobs", "trajectories", "some-id"], "no jobs to read: the embedded local server ({home}/hud.db;"),
    ],
)
def test_a_missing_database_is_an_error_and_nothing_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], says: str
) -> None:
    home = Path(os.environ["HUD_HOME"])  # tmp_path/hud-home (conftest); the cwd is tmp_path
    before = _tree(tmp_path)

    def serve(*args: object, **kwargs: object) -> None:
        raise AssertionError("hud ui went on to serve: it must stop before, creating nothing")

    monkeypatch.setattr("uvicorn.run", serve)  # a regression fails here instead of serving forever

    code, out, err = _run(*args)

    assert (code, out) == (1, "")
    assert says.format(cwd=tmp_path, home=home) in err
    assert len(err.strip().splitlines()) == 1
    assert _tree(tmp_path) == before  # no folder, no database, no -wal/-shm


def test_a_sqlite_file_that_is_not_a_hud_database_is_refused_unchanged(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    other.write_bytes(b"")
    before = _tree(tmp_path)

    code, _, err = _run("keys", "list", "--db", f"sqlite:///{other}")

    assert code == 1
    assert f"sqlite:///{other} holds no hud tables: check --db" in err
    assert other.read_bytes() == b"" and _tree(tmp_path) == before


def test_an_existing_database_is_read(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    code, key, _ = _run("keys", "create", "--db", url, "--account", "a")
    assert code == 0

    code, out, _ = _run("keys", "list", "--db", url)

    assert code == 0 and "key_" in out and key.strip() not in out


@pytest.mark.postgres
def test_a_postgresql_database_without_hud_tables_gets_none() -> None:
    base = postgres_url()
    if base is None:
        pytest.skip("HUD_TEST_POSTGRES_URL is not set: `source .ci/postgres.sh` provides a PostgreSQL server")
    with fresh_postgres_database(base) as url:
        code, _, err = _run("keys", "list", "--db", url)

        assert code == 1
        assert "holds no hud tables: check --db" in err
        engine = create_engine(url)
        try:
            assert inspect(engine).get_table_names() == []
        finally:
            engine.dispose()
