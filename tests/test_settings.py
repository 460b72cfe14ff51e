"""Settings precedence, modes and secret masking."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hud import errors
from hud.settings import Settings, get_settings


def test_nothing_set_means_the_embedded_default_in_hud_home(tmp_path: Path) -> None:
    settings = get_settings()

    assert settings.mode == "embedded"
    assert settings.resolved_base_url is None
    assert settings.database_path == tmp_path / "hud-home" / "hud.db"


def test_a_key_alone_means_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUD_API_KEY", "k")

    settings = Settings()

    assert settings.mode == "remote"
    assert settings.resolved_base_url == "https://orchestration.hud.so/hud-gym/api"


def test_the_environment_beats_the_dotenv_file_and_arguments_beat_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("HUD_BASE_URL=http://from-dotenv:1/\nHUD_TIMEOUT=5\nHUD_API_KEY=dotenv-key\n")

    assert Settings().base_url == "http://from-dotenv:1"
    assert Settings().timeout == 5.0
    monkeypatch.setenv("HUD_BASE_URL", "http://from-env:2")
    assert Settings().base_url == "http://from-env:2"
    assert Settings(base_url="http://from-arg:3").base_url == "http://from-arg:3"
    assert Settings().with_api_key("per-call").api_key.get_secret_value() == "per-call"  # type: ignore[union-attr]
    assert Settings().with_api_key(None).api_key.get_secret_value() == "dotenv-key"  # type: ignore[union-attr]


def test_get_settings_is_read_once_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    monkeypatch.setenv("HUD_TIMEOUT", "9")

    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().timeout == 9.0


def test_the_key_is_masked_in_repr_and_str() -> None:
    settings = Settings(api_key="super-secret-key")

    assert "super-secret-key" not in repr(settings)
    assert "super-secret-key" not in str(settings)
    assert settings.api_key is not None and settings.api_key.get_secret_value() == "super-secret-key"


def test_a_blank_key_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUD_API_KEY", "   ")

    assert Settings().mode == "embedded"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("base_url", "ftp://x", "must start with http:// or https://"),
        ("timeout", 0, "greater than 0"),
        ("max_retries", -1, "greater than or equal to 0"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**{field: value})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HUD_BASE_URL", "ftp://x", "HUD_BASE_URL: Value error, HUD_BASE_URL must start with http:// or https://"),
        ("HUD_TIMEOUT", "0", "HUD_TIMEOUT: Input should be greater than 0"),
        ("HUD_TIMEOUT", "soon", "HUD_TIMEOUT: Input should be a valid number"),
        ("HUD_MAX_RETRIES", "-1", "HUD_MAX_RETRIES: Input should be greater than or equal to 0"),
        ("HUD_API_KEY", "hud_secret with-a-space", "HUD_API_KEY: Value error, the API key"),
    ],
)
def test_bad_environment_values_raise_configuration_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()

    with pytest.raises(errors.ConfigurationError) as caught:
        get_settings()

    assert message in str(caught.value)
    assert "environment or .env" in str(caught.value)
    assert "hud_secret" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        get_settings().timeout = 1  # type: ignore[misc]
