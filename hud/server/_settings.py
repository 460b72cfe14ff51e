"""The server's settings: `HUD_SERVER_*` variables (or a `.env` file), under the CLI's options.

| setting | environment | default |
| --- | --- | --- |
| database | `HUD_SERVER_DATABASE_URL` | `sqlite:///$HUD_HOME/hud.db` (chosen by the CLI) |
| database, read from a file | `HUD_SERVER_DATABASE_URL_FILE` | none (keeps a password out of the environment too) |
| auth | `HUD_SERVER_AUTH` | true |
| largest request body, bytes | `HUD_SERVER_MAX_BODY_BYTES` | 16 MiB |
| dashboard | `HUD_SERVER_DASHBOARD` | true |
| job lease, seconds | `HUD_SERVER_JOB_LEASE` | 60 |
| Host names answered besides loopback ones (without auth) | `HUD_SERVER_ALLOWED_HOSTS` (a,b) | none |
| proxies whose X-Forwarded-For/-Proto count | `HUD_SERVER_FORWARDED_ALLOW_IPS` (a,b or `*`) | `127.0.0.1,::1` |
| requests in progress per worker (one more: 503) | `HUD_SERVER_MAX_CONCURRENT_REQUESTS` | 256 |
| open connections per worker | `HUD_SERVER_MAX_CONNECTIONS` | 0: from the open-file limit |
| seconds a connection may wait for a request | `HUD_SERVER_IDLE_TIMEOUT` | 10 |
| seconds to send a request's line and headers | `HUD_SERVER_HEADER_TIMEOUT` | 20 |
| seconds a body or an answer may stall | `HUD_SERVER_STALL_TIMEOUT` | 60 |
| largest request line and headers, bytes | `HUD_SERVER_MAX_HEADER_BYTES` | 64 KiB |

The connection limits (`_connections.py`) need no tuning: an idle or slow connection costs the server a
file descriptor, so it is closed when it sends nothing, trickles, or stalls, and when the process nears
its open-file limit the connection idle the longest makes room for a new one.

`hud server --workers N` hands its options to each worker process through these variables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    forwarded_allow_ips: str = "127.0.0.1,::1"
    max_concurrent_requests: int = Field(default=256, ge=1)
    max_connections: int = Field(default=0, ge=0)
    idle_timeout: float = Field(default=10.0, gt=0)
    header_timeout: float = Field(default=20.0, gt=0)
    stall_timeout: float = Field(default=60.0, gt=0)
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    def environ(self) -> dict[str, str]:
        """These settings as `HUD_SERVER_*` variables, for worker processes to read back."""
        variables: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, tuple):
                text = ",".join(value)
            else:
                text = str(value)
            variables[f"HUD_SERVER_{name.upper()}"] = text
        return variables
