"""`hud server` and `hud keys`: run the reference server and manage its API keys."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from hud._cli._database import (
    db_file_option,
    db_option,
    embedded_database,
    fail,
    open_database,
    redact,
    refuse_damage,
    resolve_url,
    server_settings,
)
from hud._cli._install import install_command
from hud._terminal import printable

__all__ = ["keys", "server", "ui"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@db_option
@db_file_option
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256), help="Worker processes.")
@click.option(
    "--max-body-bytes",
    default=None,
    type=click.IntRange(1),
    help="Larger request bodies answer 413. [default: HUD_SERVER_MAX_BODY_BYTES, else 16 MiB]",
)
@click.option(
    "--job-lease",
    default=None,
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="A running job without a heartbeat for this long is crashed. [default: HUD_SERVER_JOB_LEASE, else 60]",
)
@click.option(
    "--no-auth",
    is_flag=True,
    default=None,
    help="Accept requests without an API key, all as the account 'local'. [default: HUD_SERVER_AUTH=false]",
)
@click.option(
    "--dashboard/--no-dashboard",
    default=None,
    help="Serve the HTML dashboard under /ui/ (with auth, a browser signs in with an API key). "
    "[default: HUD_SERVER_DASHBOARD, else on]",
)
@click.option(
    "--check-db",
    is_flag=True,
    help="Check every page of the database for damage, say what was found, and exit (0: healthy, 1: damaged).",
)
@click.option(
    "--start-check/--no-start-check",
    default=True,
    show_default=True,
    help="Refuse to start on a damaged database (SQLite: a quick check of every page of a file up to 128 MiB; "
    "of a larger one, or PostgreSQL, reads of each table's newest rows).",
)
@click.option(
    "--allow-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Without auth, also answer requests addressed to NAME (repeatable; '*' for any); only loopback "
    "names (localhost, 127.0.0.1, [::1]) are answered otherwise. [default: HUD_SERVER_ALLOWED_HOSTS]",
)
@click.option(
    "--forwarded-allow-ips",
    metavar="IPS",
    default=None,
    help="Reverse proxies (comma-separated IPs or networks, '*' for any, '' for none) whose "
    "X-Forwarded-For and X-Forwarded-Proto are believed. [default: HUD_SERVER_FORWARDED_ALLOW_IPS, "
    "else 127.0.0.1,::1]",
)
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def server(
    host: str,
    port: int,
    database_url: str | None,
    database_file: Path | None,
    workers: int,
    max_body_bytes: int | None,
    job_lease: float | None,
    no_auth: bool | None,
    dashboard: bool | None,
    check_db: bool,
    start_check: bool,
    allowed_hosts: tuple[str, ...],
    forwarded_allow_ips: str | None,
    log_level: str,
) -> None:
    """Serve the HUD Jobs API and its dashboard over HTTP.

    The API of openapi.yaml, with uvicorn. Every request needs `Authorization: Bearer <key>` (see
    `hud keys create`) unless --no-auth. Options not given come from HUD_SERVER_* variables (or `.env`),
    as do the connection limits (timeouts, header size, connections and requests at once), whose
    defaults need no tuning.
    """
    try:
        import uvicorn
    except ImportError:
        fail(f"`hud server` needs the server extra (uvicorn): {install_command('server')}")
    from hud.server._app import app_from_settings
    from hud.server._connections import uvicorn_options

    configured = server_settings()
    if check_db:
        url = resolve_url(database_url, database_file)
        refuse_damage(url, full=True)
        click.echo(f"hud: the database {redact(url)} is healthy (every page checked)", err=True)
        return
    url = open_database(database_url, database_file, start_check=start_check)
    given = {
        "database_url": url,
        "auth": None if no_auth is None else not no_auth,
        "dashboard": dashboard,
        "max_body_bytes": max_body_bytes,
        "job_lease": job_lease,
        "allowed_hosts": allowed_hosts or None,
        "forwarded_allow_ips": forwarded_allow_ips,
    }
    settings = configured.model_copy(update={k: v for k, v in given.items() if v is not None})
    if not settings.auth and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"hud: warning: --no-auth on {host}: anyone who can reach it can read and write", err=True)
        if not settings.allowed_hosts:
            click.echo(
                "hud: without auth only requests addressed to a loopback name are answered: "
                "add --allow-host NAME for the names clients use",
                err=True,
            )
    click.echo(
        f"hud: serving {redact(url)} on http://{host}:{port} with {workers} worker(s)"
        f"{', API key required' if settings.auth else ''}",
        err=True,
    )
    if settings.dashboard:
        click.echo(f"hud: dashboard on http://{host}:{port}/ui/", err=True)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "timeout_graceful_shutdown": 30,
        "server_header": False,
        **uvicorn_options(settings, workers=workers),
    }
    if workers == 1:
        uvicorn.run(app_from_settings(url, settings), **options)
        return
    # Worker processes import the app and the connection protocol by name: hand them the settings
    # through their environment, where each reads them back through the same ServerSettings.
    os.environ.update(settings.environ())
    uvicorn.run("hud.server._app:app_from_env", factory=True, workers=workers, **options)


@click.command()
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Port on 127.0.0.1.")
@click.option("--open", "open_browser", is_flag=True, help="Open the dashboard in the default web browser.")
@click.option(
    "--log-level", default="warning", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def ui(port: int, open_browser: bool, log_level: str) -> None:
    """Show the embedded default's jobs in a web dashboard.

    Reads $HUD_HOME/hud.db (HUD_HOME defaulting to ~/.hud) and serves the same app as `hud server
    --no-auth` (the API and /ui/), on 127.0.0.1 only, as the account `local` that the embedded
    default writes to. Fails, creating nothing, when that database does not exist yet.
    """
    try:
        import uvicorn
    except ImportError:
        fail(f"`hud ui` needs the server extra (uvicorn, jinja2): {install_command('server')}")
    from hud.server._app import create_app
    from hud.server._connections import uvicorn_options

    url = open_database(f"sqlite:///{embedded_database()}", start_check=True, create=False, embedded=True)
    address = f"http://127.0.0.1:{port}/ui/"
    click.echo(f"hud: dashboard of {redact(url)} on {address} (Ctrl-C to stop)", err=True)
    if open_browser:
        import threading
        import webbrowser

        # After a moment, so uvicorn listens when the browser asks.
        threading.Timer(1.0, webbrowser.open, args=(address,)).start()
    app = create_app(url, auth=False, dashboard=True)
    limits = uvicorn_options(server_settings(), workers=1)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level=log_level, server_header=False, **limits)


@click.group()
def keys() -> None:
    """Create, revoke and list the API keys of a server's database."""


@keys.command("create")
@db_option
@db_file_option
@click.option("--account", required=True, help="The account the key acts as; its objects are shared by its keys.")
def create_key_command(database_url: str | None, database_file: Path | None, account: str) -> None:
    """Create a key and print it once, alone on stdout.

    Only its hash is stored. Capture it with KEY=$(hud keys create --db URL --account NAME).
    """
    from hud.server import create_key

    url = open_database(database_url, database_file)
    try:
        key = create_key(url, account)
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"hud: created a key for account {account!r}; it is shown only this once", err=True)
    click.echo(key)


@keys.command("revoke")
@db_option
@db_file_option
@click.argument("key_or_id")
def revoke_key_command(database_url: str | None, database_file: Path | None, key_or_id: str) -> None:
    """Revoke a key, given the key itself or its id.

    The ids are in `hud keys list`. The database must exist already.
    """
    from hud.server import revoke_key

    url = open_database(database_url, database_file, create=False)
    try:
        info = revoke_key(url, key_or_id)
    except LookupError as exc:
        fail(str(exc))
    click.echo(f"hud: revoked key {info.id} of account {info.account!r}", err=True)


@keys.command("list")
@db_option
@db_file_option
@click.option("--account", default=None, help="Only the keys of this account.")
def list_keys_command(database_url: str | None, database_file: Path | None, account: str | None) -> None:
    """List the keys' ids and accounts, never the keys.

    Columns: id, account, created, revoked. The database must exist already: a mistyped --db fails
    and creates nothing.
    """
    from hud.server import list_keys

    url = open_database(database_url, database_file, create=False)
    rows = list_keys(url, account)
    if not rows:
        click.echo("hud: no keys", err=True)
        return
    click.echo(f"{'ID':<22} {'ACCOUNT':<20} {'CREATED':<26} REVOKED")
    for info in rows:
        revoked = info.revoked_at.isoformat(timespec="seconds") if info.revoked_at else "-"
        created = info.created_at.isoformat(timespec="seconds")
        click.echo(f"{info.id:<22} {printable(info.account):<20} {created:<26} {revoked}")
