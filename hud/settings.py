"""SDK settings: keyword argument, then environment variable (or `.env`), then default.

| setting | environment | default |
| --- | --- | --- |
| `api_key` | `HUD_API_KEY` | none |
| `base_url` | `HUD_BASE_URL` | none |
| `timeout` (seconds) | `HUD_TIMEOUT` | 30 |
| `max_retries` | `HUD_MAX_RETRIES` | 8 |
| `home` | `HUD_HOME` | `~/.hud` |
| `heartbeat_interval` (seconds) | `HUD_HEARTBEAT_INTERVAL` | 10 |
| `sync_to_key` | `HUD_SYNC_TO_KEY` | none: the API key of `hud sync --to` |
| `sync_from_key` | `HUD_SYNC_FROM_KEY` | none: the API key of `hud sync --from` |

With neither a key nor a base URL the SDK runs the reference server in-process on a SQLite file in
`home` (the embedded default). A key without a base URL means the HUD platform; both, your server
(`target` says which). Settings are frozen:
no caller can change them under another's feet; pass `api_key=` per call to override the key.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hud._constants import (
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    PLATFORM_BASE_URL,
    default_home,
)

__all__ = ["Settings", "get_settings", "settings_for"]


class Settings(BaseSettings):
    """The SDK's configuration; read once from the environment by `get_settings()`.

    The API key is a `SecretStr`: it shows as `**********` in every repr and log.

    Example:
        >>> Settings(api_key="hud_...", base_url="http://127.0.0.1:8000").mode
        'remote'
    """

    # hide_input_in_errors: a refused HUD_API_KEY must not be echoed in the ValidationError.
    model_config = SettingsConfigDict(
        env_prefix="HUD_", env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    api_key: SecretStr | None = None
    base_url: str | None = None
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0)
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0, le=20)
    home: Path = Field(default_factory=default_home)
    heartbeat_interval: float = Field(default=DEFAULT_HEARTBEAT_INTERVAL, gt=0)
    sync_to_key: SecretStr | None = None
    sync_from_key: SecretStr | None = None
    # What messages name as the origin of `base_url` (`with_base_url` changes it; `hud sync --to`).
    _base_url_from: str = PrivateAttr(default="HUD_BASE_URL")

    @field_validator("api_key", "sync_to_key", "sync_from_key", mode="before")
    @classmethod
    def _blank_key_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str):
            return _check_key(value.strip())
        return value

    @field_validator("base_url", mode="before")
    @classmethod
    def _check_base_url(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise ValueError(f"HUD_BASE_URL must start with http:// or https://, got {value!r}")
        return value.strip().rstrip("/")

    @property
    def mode(self) -> Literal["embedded", "remote"]:
        """`embedded` (in-process server) when neither key nor base URL is set, else `remote`."""
        return "embedded" if self.api_key is None and self.base_url is None else "remote"

    @property
    def target(self) -> Literal["embedded", "server", "platform"]:
        """Where calls go: `embedded` (neither key nor base URL), `platform` (a key alone), else `server`."""
        if self.mode == "embedded":
            return "embedded"
        return "server" if self.base_url is not None else "platform"

    @property
    def target_description(self) -> str:
        """Where calls go, in words for messages: the mode, the address, and the setting that chose it.

        Example:
            >>> Settings(api_key="hud_...", base_url="http://127.0.0.1:8000").target_description
            'the server at http://127.0.0.1:8000 (HUD_BASE_URL)'
        """
        if self.target == "embedded":
            return f"the embedded local server ({self.database_path}; no HUD_API_KEY or HUD_BASE_URL set)"
        if self.target == "platform":
            return f"the HUD platform at {PLATFORM_BASE_URL} (HUD_API_KEY set without HUD_BASE_URL)"
        return f"the server at {self.base_url} ({self._base_url_from})"

    @property
    def base_url_from(self) -> str:
        """What chose the base URL, for messages: `HUD_BASE_URL`, or what `with_base_url` named."""
        return self._base_url_from

    @property
    def resolved_base_url(self) -> str | None:
        """The server to call: the base URL, the platform's for a key alone, None when embedded."""
        if self.base_url is not None:
            return self.base_url
        return PLATFORM_BASE_URL if self.api_key is not None else None

    @property
    def database_path(self) -> Path:
        """The embedded default's SQLite file."""
        return self.home / "hud.db"

    def with_base_url(self, base_url: str, named: str) -> Settings:
        """These settings calling the server at `base_url` (checked as HUD_BASE_URL is), which messages
        attribute to `named` (an option such as `hud sync --to`).

        Raises:
            ValueError: `base_url` is not an http(s) URL.
        """
        copy = self.model_copy(update={"base_url": self._check_base_url(base_url)})
        copy._base_url_from = named
        return copy

    def with_api_key(self, api_key: str | None) -> Settings:
        """These settings with `api_key` in place of the configured key; unchanged when it is None."""
        if api_key is None:
            return self
        if not isinstance(api_key, str) or not api_key.strip():
            from hud.errors import InvalidInputError

            raise InvalidInputError("api_key must be a non-empty string; leave it out to use HUD_API_KEY")
        try:
            checked = _check_key(api_key.strip())
        except ValueError as exc:
            from hud.errors import InvalidInputError

            raise InvalidInputError(str(exc)) from None
        return self.model_copy(update={"api_key": SecretStr(checked)})


def _check_key(key: str) -> str:
    # A key that cannot travel in an HTTP header would fail inside httpx with an error quoting it.
    if not all("!" <= char <= "~" for char in key):
        raise ValueError(
            "the API key (HUD_API_KEY or api_key=) must be printable ASCII without spaces: check that it "
            "was copied whole and alone"
        )
    return key


@functools.cache
def get_settings() -> Settings:
    """The settings from the environment and `.env`, read once per process.

    Call `get_settings.cache_clear()` after changing the environment to read it again.

    Raises:
        ConfigurationError: a `HUD_*` variable (or `.env` entry) has a value that cannot work; the
            message names each one and why, never the value of the key.
    """
    try:
        return Settings()
    except ValidationError as exc:
        from hud.errors import ConfigurationError

        problems = "; ".join(
            f"HUD_{str(error['loc'][0]).upper() if error['loc'] else '?'}: {error['msg']}" for error in exc.errors()
        )
        # from None: the ValidationError adds nothing the message lacks (its input is hidden anyway).
        raise ConfigurationError(f"{problems} (fix or unset it in the environment or .env)") from None


def settings_for(api_key: str | None) -> Settings:
    """The settings of one call: `get_settings()` with `api_key` in place of HUD_API_KEY when given."""
    return get_settings().with_api_key(api_key)
