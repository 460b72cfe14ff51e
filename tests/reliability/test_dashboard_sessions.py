"""The dashboard's sign-in is a server-side session, not a copy of the API key in a cookie.

Before: the cookie held the raw API key (a stolen cookie was a full API credential, and sign-out only
deleted the browser's copy); no `__Host-` prefix over HTTPS; no X-Frame-Options; sign-in was refused
(403) behind a reverse proxy that rewrites Host; sign-in with the database down answered a bare
text/plain 500 without the security headers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import socketserver
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from _browser import chromium
from _servers import free_port

from hud.server import create_app, create_key, dispose, revoke_key
from hud.server._db import get_engine

from ._process import ServerProcess

FORM = {"content-type": "application/x-www-form-urlencoded"}
SECURITY_HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")


class Browser:
    """An in-process client of an app with auth and the dashboard, and alice's key."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url
        self.key = create_key(url, "alice")

    async def sign_in(self) -> httpx.Response:
        self.client.cookies.clear()
        signed = await self.client.post("/ui/login", content=f"key={self.key}", headers=FORM)
        assert signed.status_code == 303, signed.text
        return signed

    def session_rows(self) -> list[str]:
        with get_engine(self.url).connect() as conn:
            return [row[0] for row in conn.execute(sa.text("SELECT id_hash FROM dashboard_sessions"))]


@pytest.fixture
async def browser(database_url: str) -> AsyncIterator[Browser]:
    app = create_app(database_url, dashboard=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hud.test") as client:
        yield Browser(client, database_url)


async def test_the_cookie_holds_a_session_not_the_key(browser: Browser) -> None:
    signed = await browser.sign_in()
    assert browser.key not in signed.headers["set-cookie"]
    (session,) = [c.value for c in browser.client.cookies.jar if c.name == "hud_session"]
    assert session and session != browser.key
    # Stored as its SHA-256 only.
    assert browser.session_rows() == [hashlib.sha256(session.encode()).hexdigest()]
    assert (await browser.client.get("/ui/")).status_code == 200
    # The cookie is no API credential.
    api = await browser.client.get("/v2/jobs", headers={"Authorization": f"Bearer {session}"})
    assert api.status_code == 401


async def test_sign_out_ends_the_session_on_the_server(browser: Browser) -> None:
    await browser.sign_in()
    stolen = dict(browser.client.cookies)
    out = await browser.client.post("/ui/logout", headers={"origin": "http://hud.test"})
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    assert browser.session_rows() == []
    browser.client.cookies.clear()
    browser.client.cookies.update(stolen)
    replayed = await browser.client.get("/ui/")
    assert replayed.status_code == 303 and replayed.headers["location"] == "/ui/login"


async def test_revoking_the_key_ends_its_sessions(browser: Browser) -> None:
    await browser.sign_in()
    assert (await browser.client.get("/ui/")).status_code == 200
    revoke_key(browser.url, browser.key)
    assert browser.session_rows() == []
    page = await browser.client.get("/ui/")
    assert page.status_code == 303 and page.headers["location"] == "/ui/login"


async def test_over_https_the_cookie_is_host_prefixed_and_pages_refuse_frames(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'https.db'}"
    key = create_key(url, "alice")
    app = create_app(url, dashboard=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://hud.test") as client:
        signed = await client.post("/ui/login", content=f"key={key}", headers=FORM)
        assert signed.status_code == 303
        cookie = signed.headers.get_list("set-cookie")[-1]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert cookie.startswith("__Host-hud_session=")
        assert {"secure", "httponly", "path", "samesite"} <= attributes and "domain" not in attributes
        assert "Path=/;" in cookie or cookie.endswith("Path=/")
        for path in ("/ui/", "/ui/login", "/ui/jobs/nope", "/ui/static/dashboard.css"):
            page = await client.get(path)
            assert page.headers["x-frame-options"] == "DENY", path
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"], path
    dispose(url)


async def test_the_database_down_answers_the_error_page(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    key = create_key(url, "alice")
    app = create_app(url, dashboard=True)
    # The database file becomes unopenable: a folder where it was, the pooled connections closed.
    get_engine(url).dispose()
    os.rename(tmp_path / "down.db", tmp_path / "moved.db")
    os.mkdir(tmp_path / "down.db")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hud.test") as client:
        client.cookies.set("hud_session", "a-session-id", path="/ui")
        for method, path, content in (("POST", "/ui/login", f"key={key}"), ("GET", "/ui/", None)):
            answer = await client.request(method, path, content=content, headers=FORM if content else None)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["content-type"].startswith("text/html"), path
            assert all(header in answer.headers for header in SECURITY_HEADERS), answer.headers
            assert "database is unavailable" in answer.text and "<html" in answer.text.lower()
    dispose(url)


class _HostRewriter(socketserver.ThreadingTCPServer):
    """A reverse proxy on 127.0.0.1 that sends every request on with `Host: 127.0.0.1:<upstream>`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        super().__init__(("127.0.0.1", free_port()), _Relay)


class _Relay(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, _HostRewriter)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        kept = [line for line in lines[1:] if not line.lower().startswith((b"host:", b"connection:"))]
        length = next((int(line.split(b":")[1]) for line in kept if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            rest += self.request.recv(65536)
        upstream_host = f"127.0.0.1:{server.upstream}".encode()
        request = b"\r\n".join([lines[0], b"Host: " + upstream_host, b"Connection: close", *kept]) + b"\r\n\r\n"
        with socket.create_connection(("127.0.0.1", server.upstream)) as upstream:
            upstream.sendall(request + rest)
            while chunk := upstream.recv(65536):
                self.request.sendall(chunk)


@contextlib.contextmanager
def _proxy(upstream: int) -> Iterator[int]:
    proxy = _HostRewriter(upstream)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy.server_address[1]
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.live
def test_sign_in_works_behind_a_proxy_that_rewrites_host(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'proxied.db'}"
    key = create_key(url, "alice")
    server = ServerProcess(url, tmp_path / "server.log")
    server.start()
    try:
        with _proxy(server.port) as port, chromium("--host-resolver-rules=MAP hud.example 127.0.0.1") as launched:
            page = launched.new_page()
            page.goto(f"http://hud.example:{port}/ui/")
            assert page.url.endswith("/ui/login")
            page.fill("#key", key)
            page.click("button[type=submit]")
            page.wait_for_url(f"http://hud.example:{port}/ui/")
            assert page.locator("form.logout").count() == 1  # signed in
            page.click("text=Sign out")
            page.wait_for_url("**/ui/login")
        # Over plain HTTP the browser sends no Sec-Fetch-Site, and its Origin is not the Host the server
        # sees: the form's own token let it through. Without the token, the origin decides: the
        # browser's Sec-Fetch-Site (sent over HTTPS), else an Origin matching the proxy's X-Forwarded-Host.
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            fetch = {"origin": "https://hud.example", "sec-fetch-site": "same-origin"}
            assert client.post("/ui/login", content=f"key={key}", headers={**FORM, **fetch}).status_code == 303
            plain = {"origin": "http://hud.example"}
            assert client.post("/ui/login", content=f"key={key}", headers={**FORM, **plain}).status_code == 403
            origin = {"origin": "https://hud.example", "x-forwarded-host": "hud.example"}
            assert client.post("/ui/login", content=f"key={key}", headers={**FORM, **origin}).status_code == 303
            foreign = {"origin": "https://evil.example", "x-forwarded-host": "hud.example"}
            assert client.post("/ui/login", content=f"key={key}", headers={**FORM, **foreign}).status_code == 403
    finally:
        server.stop()
        dispose(url)


@pytest.mark.live
@pytest.mark.parametrize(("trusted", "secure"), [(None, True), ("", False), ("10.9.8.7", False)])
def test_forwarded_proto_counts_only_from_trusted_proxies(tmp_path: Path, trusted: str | None, secure: bool) -> None:
    url = f"sqlite:///{tmp_path / 'forwarded.db'}"
    key = create_key(url, "alice")
    extra = [] if trusted is None else ["--forwarded-allow-ips", trusted]
    server = ServerProcess(url, tmp_path / "server.log", extra=extra)
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            headers = {**FORM, "X-Forwarded-Proto": "https"}
            signed = client.post("/ui/login", content=f"key={key}", headers=headers)
            assert signed.status_code == 303
            (session,) = [c for c in signed.headers.get_list("set-cookie") if "Max-Age=0" not in c]
            assert session.startswith("__Host-hud_session=" if secure else "hud_session="), session
    finally:
        server.stop()
        dispose(url)
