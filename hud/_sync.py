"""`hud.sync`: copy jobs from one store to another with their ids: exactly once, resumable, incremental.

Per job, what the target already has is read first (the job, and its environments' states and step
counts), and only the rest is sent: new environments in the source's order, the steps the target
lacks, then the closes in the source's closing order, then the job's own fields when they changed.
Everything goes through the import extension (`POST /v2/import`, batched by `_sync_batches`), which
keeps ids and times and writes nothing twice, so a run stopped anywhere (Ctrl-C, kill -9, a lost
connection, a restarted server) is finished by running it again, and a run with nothing new copies
nothing. Memory holds one page of the source and two batches, plus the states of one job's
environments.
"""

from __future__ import annotations

from typing import Any

from hud._sync_report import SyncReport
from hud._syncer import Syncer
from hud.errors import ConfigurationError, HudError
from hud.settings import Settings, get_settings

__all__ = ["sync", "sync_settings"]


def sync_settings(
    to_base_url: str, to_api_key: str | None, from_base_url: str | None, from_api_key: str | None
) -> tuple[Settings, Settings]:
    """(source, target): the target's key from the argument or HUD_SYNC_TO_KEY; the source is `from_base_url`
    with its key (argument or HUD_SYNC_FROM_KEY), else where the SDK points now."""
    configured = get_settings()
    to_key = to_api_key or _secret(configured.sync_to_key)
    if not to_key:
        raise ConfigurationError(
            "no API key for the target: export HUD_SYNC_TO_KEY (or pass to_api_key=); a key on the command line "
            "would show in the process list"
        )
    target = _remote(configured, to_base_url, to_key, "--to")
    if from_base_url is None:
        source = configured
    else:
        from_key = from_api_key or _secret(configured.sync_from_key)
        if not from_key:
            raise ConfigurationError("no API key for the source: export HUD_SYNC_FROM_KEY (or pass from_api_key=)")
        source = _remote(configured, from_base_url, from_key, "--from")
    if source.target != "embedded" and source.resolved_base_url == target.resolved_base_url:
        raise ConfigurationError(f"the source and the target are the same server ({target.base_url}): nothing to copy")
    return source, target


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def _remote(configured: Settings, base_url: str, api_key: str, option: str) -> Settings:
    where = f"hud sync {option}"
    try:
        located = configured.with_base_url(base_url, where)
    except ValueError:
        raise ConfigurationError(f"{where}: {base_url!r} is not a server's address: give its http(s):// URL") from None
    try:
        return located.with_api_key(api_key)
    except HudError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


async def sync(
    to_base_url: str,
    to_api_key: str | None = None,
    job_ids: list[str] | None = None,
    *,
    from_base_url: str | None = None,
    from_api_key: str | None = None,
    dry_run: bool = False,
) -> SyncReport:
    """Copy jobs to another store (a `hud server`), keeping their ids: exactly once, resumable, incremental.

    The source is where the SDK points now (the embedded default when nothing is set), or
    `from_base_url`. What the target has already is skipped; a job still running is copied as far
    as it got, and a later sync adds what is new. A run stopped anywhere is finished by running it
    again; nothing is ever copied twice.

    Args:
        to_base_url: The target server.
        to_api_key: Its API key (default: HUD_SYNC_TO_KEY).
        job_ids: The jobs to copy; None: all of the source's.
        from_base_url: Another server to copy from.
        from_api_key: Its API key (default: HUD_SYNC_FROM_KEY).
        dry_run: Count what would be copied; copy nothing.

    Returns:
        What was copied, what the target had, and what could not be copied and why (`report.ok`).

    Raises:
        ConfigurationError: no key for the target, or the source is the target.
        HudError: a store could not be reached (after retries) or refused the key; run it again later.

    Example:
        >>> report = await hud.sync("https://hud.example.com")  # doctest: +SKIP
        >>> print(report.text())  # doctest: +SKIP
    """
    source, target = sync_settings(to_base_url, to_api_key, from_base_url, from_api_key)
    return await Syncer(source, target, dry_run=dry_run).run(job_ids)
