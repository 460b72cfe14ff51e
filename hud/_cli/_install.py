"""How to install an extra of hud into the running environment, as a command to paste."""

from __future__ import annotations

import importlib.metadata
import json
import shlex
import sys
from urllib.parse import unquote, urlsplit

__all__ = ["install_command"]


def install_command(extra: str) -> str:
    """The pip command that adds `extra` to the hud this process runs, from where hud came from.

    A checkout installed with `pip install -e .` gets `-e '<checkout>[extra]'`: `hud[extra]` alone
    would fetch whatever the package index calls hud. The pip is this interpreter's, so the command
    installs into the environment that runs `hud`, whichever is active in the shell.
    """
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    source = _installed_from()
    if source is None:
        return f"{pip} {shlex.quote(f'hud[{extra}]')}"
    path, editable = source
    return f"{pip} {'-e ' if editable else ''}{shlex.quote(f'{path}[{extra}]')}"


def _installed_from() -> tuple[str, bool] | None:
    """(local folder, editable) when hud was installed from a folder on this machine (PEP 610), else None."""
    try:
        text = importlib.metadata.distribution("hud").read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return None
    url = urlsplit(str(info.get("url", "")))
    dir_info = info.get("dir_info")
    if url.scheme != "file" or not isinstance(dir_info, dict):
        return None
    return unquote(url.path), bool(dir_info.get("editable", False))
