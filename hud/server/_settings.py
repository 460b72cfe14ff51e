"""The server's settings: `HUD_SERVER_*` variables (or a `.env` file), under the CLI's options.

| setting | environment | default |
| --- | --- | --- |
| database | `HUD_SERVER_DATABASE_URL` | `sqlite:///$HUD_HOME/hud.db` (chosen by the CLI) |
| database, read from a file | `HUD_SERVER_DATABASE_URL_FILE` | none (keeps a password out of the environment too) |
| auth | `HUD_SERVER_AUTH` | true |
| largest request body, bytes | `HUD_SERVER_MAX_BODY_BYTES` | 16 MiB |
| dashboard | `HUD_SERVER_DASHBOARD` | true |
| job lease, seconds | `HUD_SERVER_JOB_LEASE` | 60 |

`hud server --workers N` hands its options to each worker process through these variables.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hud._wire import DEFAULT_JOB_LEASE, DEFAULT_MAX_BODY_BYTES

__all__ = ["ServerSettings"]


class ServerSettings(BaseSettings):
    """The server's configuration, read from `HUD_SERVER_*` and `.env`; CLI options override it."""

    # hide_input_in_errors: a database URL may hold a password.
    model_config = SettingsConfigDict(
        env_prefix="HUD_SERVER_", env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    database_url: str | None = None
    database_url_file: Path | None = None
    auth: bool = True
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    dashboard: bool = True
    job_lease: float = Field(default=DEFAULT_JOB_LEASE, gt=0)
