"""The database options of the CLI (`--db`, `--db-file`, `HUD_SERVER_DATABASE_URL[_FILE]`) and the
checks run when a command opens a database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from hud._terminal import printable
from hud.errors import ConfigurationError
from hud.settings import get_settings

if TYPE_CHECKING:
    from hud.server._settings import ServerSettings

__all__ = [
    "check_exists",
    "db_file_option",
    "db_option",
    "default_database_url",
    "embedded_database",
    "fail",
    "first_line",
    "has_password",
    "open_database",
    "read_url_file",
    "redact",
    "refuse_damage",
    "resolve_url",
    "server_settings",
]


def default_database_url() -> str:
    """The database when neither `--db` nor `--db-file` is given: HUD_SERVER_DATABASE_URL, else the
    file HUD_SERVER_DATABASE_URL_FILE names, else the embedded default's `sqlite:///$HUD_HOME/hud.db`
    (the SDK's settings: environment, then `.env`, then `~/.hud`)."""
    configured = server_settings()
    if configured.database_url and configured.database_url_file:
        fail("HUD_SERVER_DATABASE_URL and HUD_SERVER_DATABASE_URL_FILE are both set: unset one")
    if configured.database_url:
        return configured.database_url
    if configured.database_url_file:
        return read_url_file(configured.database_url_file, "HUD_SERVER_DATABASE_URL_FILE")
    return f"sqlite:///{embedded_database()}"


def resolve_url(database_url: str | None, database_file: Path | None) -> str:
    """`--db`, else the URL in `--db-file`, else `default_database_url()`."""
    if database_url and database_file is not None:
        fail("give --db or --db-file, not both")
    if database_file is not None:
        return read_url_file(database_file, "--db-file")
    if not database_url:
        return default_database_url()
    if has_password(database_url):
        click.echo(
            "hud: warning: the --db URL holds a password, which every user of this machine can read in the "
            "process list: pass the URL in HUD_SERVER_DATABASE_URL, or in a file named by --db-file or "
            "HUD_SERVER_DATABASE_URL_FILE",
            err=True,
        )
    return database_url


def read_url_file(path: Path, where: str) -> str:
    """The database URL in a file (surrounding whitespace and the final newline dropped)."""
    try:
        url = path.expanduser().read_text("utf-8").strip()
        mode = path.expanduser().stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the database URL from {path} ({where}): {getattr(exc, 'strerror', None) or exc}")
    if not url:
        fail(f"{path} ({where}) is empty: write the database URL in it")
    if mode & 0o077 and has_password(url):
        click.echo(
            f"hud: warning: {path} holds a database password and other users can read it: chmod 600 it", err=True
        )
    return url


def has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        return bool(make_url(url).password)
    except Exception:
        return False


def server_settings() -> ServerSettings:
    """HUD_SERVER_* (environment, then `.env`); a bad value is one clear line and exit 1."""
    from pydantic import ValidationError

    from hud.server._settings import ServerSettings

    try:
        return ServerSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"HUD_SERVER_{str(error['loc'][0]).upper() if error['loc'] else '?'}: {error['msg']}"
            for error in exc.errors()
        )
        fail(f"{problems} (fix or unset it in the environment or .env)")


def embedded_database() -> Path:
    """The embedded default's SQLite file, as the SDK resolves it (HUD_HOME from the environment or `.env`).

    Nothing is created here: a command that creates the database makes its folder (0700) with it.
    """
    try:
        return get_settings().database_path.expanduser()
    except ConfigurationError as exc:
        fail(str(exc))


def fail(message: str) -> NoReturn:
    click.echo(f"hud: error: {printable(message)}", err=True)
    sys.exit(1)


def open_database(
    database_url: str | None,
    database_file: Path | None = None,
    *,
    start_check: bool = False,
    create: bool = True,
    embedded: bool = False,
) -> str:
    """Opens (creating or upgrading) the database so bad URLs fail here with one clear line.

    With `start_check`, a damaged database is refused before anything is written to it. With
    `create=False`, for commands that only read or change what is there, a database that does not
    exist, or holds no hud tables, is an error and nothing is created (a mistyped --db must not pass
    as an empty database). `embedded`: the URL is the embedded default's database.
    """
    from hud.server._db import get_engine

    url = resolve_url(database_url, database_file)
    try:
        if not create:
            check_exists(url, default=embedded or (database_url is None and database_file is None))
        if start_check:
            refuse_damage(url, full=False)
        get_engine(url)
    except Exception as exc:
        fail(f"cannot open the database {redact(url)}: {first_line(exc)}")
    return url


def check_exists(url: str, *, default: bool) -> None:
    """Fails unless `url` is a hud database already; creates nothing (no folder, file or table)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from hud.server._db import normalize_url
    from hud.server._migrations import current_version

    parsed = make_url(normalize_url(url))
    if default:
        fix = "nothing has been recorded with the embedded default yet: run a job first (python examples/quickstart.py)"
    else:
        fix = "check --db; `hud keys create --db URL` or `hud server --db URL` creates a database"
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            fail(f"an in-memory database is always empty: {fix}")
        path = Path(parsed.database).absolute()  # shows where a relative path pointed (sqlite:///x.db)
        if not path.is_file():
            fail(f"no database at {path}: {fix}")
    probe = create_engine(parsed)
    try:
        if current_version(probe) == 0:
            fail(f"{redact(url)} holds no hud tables: {fix}")
    finally:
        probe.dispose()


def refuse_damage(url: str, *, full: bool) -> None:
    from hud.server._check import check

    try:
        problems = check(url, full=full)
    except Exception as exc:
        fail(f"cannot check the database {redact(url)}: {first_line(exc)}")
    if problems:
        shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        fail(
            f"the database {redact(url)} is damaged: {shown}. Stop using it: restore it from a backup, or "
            "for SQLite copy out what is still readable with `sqlite3 FILE .recover | sqlite3 NEW_FILE` "
            "(see 'A damaged database' in docs/guide.md)"
        )


def redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


db_option = click.option(
    "--db",
    "database_url",
    metavar="URL",
    default=None,
    help="Database URL: sqlite:///path or postgresql+psycopg://user:pass@host/db "
    "[default: HUD_SERVER_DATABASE_URL, else sqlite:///$HUD_HOME/hud.db, HUD_HOME defaulting to ~/.hud]",
)
db_file_option = click.option(
    "--db-file",
    "database_file",
    metavar="PATH",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the database URL from this file, so that a password stays out of the process list "
    "[default: HUD_SERVER_DATABASE_URL_FILE]",
)
