"""Debian's chromium, driven by Playwright through its executable_path (`playwright install` is never run).

Usage:
    from _browser import chromium

    with chromium("--host-resolver-rules=MAP rebind.test 127.0.0.1") as browser:
        page = browser.new_page()

Without chromium (or playwright) the caller's test skips, unless HUD_TEST_CHROMIUM is set (by
.ci/chromium.sh): then it fails, so CI never passes by skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["chromium"]

# Read at import, before the autouse fixture clears HUD_* variables.
_REQUIRED_CHROMIUM = os.environ.get("HUD_TEST_CHROMIUM") or None
_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if _REQUIRED_CHROMIUM:
        pytest.fail(f"HUD_TEST_CHROMIUM={_REQUIRED_CHROMIUM} is set but {reason}")
    pytest.skip(f"{reason} (`source .ci/chromium.sh` installs Debian's chromium)")


@contextlib.contextmanager
def chromium(*extra_args: str) -> Iterator[Any]:
    """A headless Chromium (Debian's) with `extra_args`, closed on exit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    path = _REQUIRED_CHROMIUM or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        _unavailable(f"no chromium at {path}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=[*_ARGS, *extra_args], headless=True)
        try:
            yield browser
        finally:
            browser.close()
