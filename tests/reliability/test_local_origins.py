"""Other web pages cannot drive a server without keys (`hud ui`, `hud server --no-auth`), nor read it.

Before: a page on another origin POSTed `new Blob([json])` with `mode: "no-cors"` (no Content-Type, so
no CORS preflight) and created a job; and the Host header was not checked, so a page whose domain was
rebound to 127.0.0.1 (DNS rebinding) could read everything. Checked with real sockets against a live
`hud server --no-auth`, and in a real Chromium.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _browser import chromium
from _servers import free_port

from hud.server import dispose

from ._process import ServerProcess

pytestmark = pytest.mark.live

ATTACKER = "attacker.test"
REBOUND = "rebind.test"


@pytest.fixture(scope="module")
def keyless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("keyless")
    url = f"sqlite:///{folder / 'local.db'}"
    server = ServerProcess(url, folder / "server.log", extra=["--no-auth"])
    server.start()
    try:
        yield server
    finally:
        server.stop()
        dispose(url)


def _job_names(server: ServerProcess) -> list[str]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        answer = client.get("/v2/jobs", params={"limit": 1000})
        assert answer.status_code == 200, answer.text
        return [job["name"] for job in answer.json()["items"]]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}],
    ids=["no-type", "text-plain", "form"],
)
def test_a_body_not_declared_json_is_refused(keyless: ServerProcess, headers: dict[str, str]) -> None:
    name = f"untyped-{len(headers)}-{headers.get('Content-Type', '')}"
    with httpx.Client(base_url=keyless.base_url, timeout=30) as client:
        answer = client.post("/v2/jobs", content=json.dumps({"name": name}).encode(), headers=headers)
    assert answer.status_code == 415, answer.text
    assert "application/json" in answer.json()["detail"]
    assert name not in _job_names(keyless)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "192.168.1.7:{port}", "localhost.evil.test"])
@pytest.mark.parametrize("path", ["/v2/jobs", "/v2/health", "/ui/"])
def test_only_loopback_hosts_are_answered(keyless: ServerProcess, host: str, path: str) -> None:
    with httpx.Client(base_url=keyless.base_url, timeout=30) as client:
        refused = client.get(path, headers={"Host": host.format(port=keyless.port)})
        assert refused.status_code == 400, refused.text
        assert "--allow-host" in refused.json()["detail"]
        for good in ("localhost", "127.0.0.1", "[::1]", "hud.localhost", "LOCALHOST."):
            answer = client.get(path, headers={"Host": f"{good}:{keyless.port}"})
            assert answer.status_code == 200, (good, answer.text)


def test_allowed_hosts_and_servers_with_keys_answer_other_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'allowed.db'}"
    allowed = ServerProcess(url, tmp_path / "allowed.log", extra=["--no-auth", "--allow-host", "hud.lan"])
    allowed.start()
    try:
        with httpx.Client(base_url=allowed.base_url, timeout=30) as client:
            assert client.get("/v2/jobs", headers={"Host": "hud.lan:8000"}).status_code == 200
            assert client.get("/v2/jobs", headers={"Host": "evil.example"}).status_code == 400
    finally:
        allowed.stop()
    with_keys = ServerProcess(url, tmp_path / "keys.log")
    with_keys.start()
    try:
        with httpx.Client(base_url=with_keys.base_url, timeout=30) as client:
            assert client.get("/v2/jobs", headers={"Host": "hud.example.com"}).status_code == 401
    finally:
        with_keys.stop()
        dispose(url)


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "http://evil.example"}],
    ids=["cross-site", "same-site", "foreign-origin"],
)
def test_a_browsers_cross_site_write_is_refused(keyless: ServerProcess, headers: dict[str, str]) -> None:
    name = f"cross-{sorted(headers.items())}"
    with httpx.Client(base_url=keyless.base_url, timeout=30) as client:
        answer = client.post("/v2/jobs", json={"name": name}, headers=headers)
        assert answer.status_code == 403, answer.text
        env = client.post("/v2/create_environment", json={"gym_id": "g"}).json()["id"]
        # An empty body needs no Content-Type: the close is refused for where it comes from.
        assert client.post(f"/v2/environments/{env}/close", headers=headers).status_code == 403
        assert client.post(f"/v2/environments/{env}/steps", json={"steps": [{}]}).status_code == 200
        same = {"Sec-Fetch-Site": "same-origin", "Origin": keyless.base_url}
        assert client.post("/v2/jobs", json={"name": "from its own pages"}, headers=same).status_code == 200
    assert name not in _job_names(keyless)


class _Pages(http.server.BaseHTTPRequestHandler):
    """Serves the attacker's page (any path) on its own port."""

    html = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *_args: object) -> None:
        pass


@contextlib.contextmanager
def _attacker_site(html: str) -> Iterator[int]:
    handler = type("Handler", (_Pages,), {"html": html.encode()})
    port = free_port()
    site = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        site.shutdown()
        site.server_close()


_ATTACK = """<!doctype html><script>
window.done = (async () => {
  const target = "TARGET";
  const body = (name) => JSON.stringify({name});
  const tries = [
    fetch(target + "/v2/jobs", {method: "POST", mode: "no-cors", body: new Blob([body("pwned-blob")])}),
    fetch(target + "/v2/jobs", {method: "POST", mode: "no-cors", body: body("pwned-text")}),
    fetch(target + "/v2/jobs", {method: "POST", mode: "no-cors",
                                headers: {"Content-Type": "text/plain"}, body: body("pwned-plain")}),
    fetch(target + "/v2/environments/ENV/close", {method: "POST", mode: "no-cors"}),
  ];
  for (const attempt of tries) { try { await attempt; } catch (e) {} }
  const form = document.createElement("form");
  form.method = "POST"; form.enctype = "text/plain"; form.action = target + "/v2/jobs";
  const input = document.createElement("input");
  input.name = '{"name": "pwned-form", "x": "'; input.value = '"}';
  form.appendChild(input);
  document.body.appendChild(form);
  return "sent";
})();
</script>"""


@pytest.mark.parametrize("site", [ATTACKER, "localhost"], ids=["cross-site", "same-host-other-port"])
def test_a_page_of_another_origin_cannot_write_in_chromium(keyless: ServerProcess, site: str) -> None:
    with httpx.Client(base_url=keyless.base_url, timeout=30) as client:
        env = client.post("/v2/create_environment", json={"gym_id": "g"}).json()["id"]
    html = _ATTACK.replace("TARGET", keyless.base_url).replace("ENV", env)
    with _attacker_site(html) as port, chromium(f"--host-resolver-rules=MAP {ATTACKER} 127.0.0.1") as browser:
        page = browser.new_page()
        page.goto(f"http://{site}:{port}/")
        assert page.evaluate("window.done") == "sent"
        with page.expect_navigation():
            page.evaluate("document.forms[0].submit()")
        page.close()
    names = _job_names(keyless)
    assert not [n for n in names if "pwned" in n], names
    with httpx.Client(base_url=keyless.base_url, timeout=30) as client:
        still_open = client.post(f"/v2/environments/{env}/steps", json={"steps": [{}]})
        assert still_open.status_code == 200, still_open.text


def test_dns_rebinding_reads_and_writes_nothing_in_chromium(keyless: ServerProcess) -> None:
    with httpx.Client(base_url=keyless.base_url, timeout=30) as client:
        assert client.post("/v2/jobs", json={"name": "private"}).status_code == 200
    # The attacker's domain now resolves to this machine: the page is same-origin with the server.
    with chromium(f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1") as browser:
        page = browser.new_page()
        response = page.goto(f"http://{REBOUND}:{keyless.port}/ui/")
        assert response is not None and response.status == 400
        assert "private" not in page.content()
        read = page.evaluate("fetch('/v2/jobs').then(r => r.status)")
        write = page.evaluate(
            "fetch('/v2/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({name: 'rebound'})}).then(r => r.status)"
        )
        assert (read, write) == (400, 400)
    assert "rebound" not in _job_names(keyless)
