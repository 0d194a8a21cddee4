"""CORS in a real browser: headless Chromium loads a page from http://localhost:5173 that logs in
and lists appointments with fetch; the same page from another origin is refused by the browser.

Chromium's --host-rules sends both page origins to one local page server, so the browser sees
the real origin names while the test only binds ports of its own range.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO_PASSWORD
from tests.support.servers import free_port, running_server, server_env

CHROMIUM = "/usr/bin/chromium"
ALLOWED_ORIGIN = "http://localhost:5173"
REFUSED_ORIGIN = "http://localhost:5999"
BROWSER_TIMEOUT_SECONDS = 60

PAGE = """<!doctype html>
<html><body><pre id="result">pending</pre>
<script>
const api = __API__;
const out = {origin: location.origin, readable: {}};
// Every request carries headers the spec declares (so each one is preflighted with them).
const traced = (extra) => ({"X-Request-ID": "browser-" + Math.random().toString(16).slice(2),
                            ...extra});
function read(name, response, names) {
  out.readable[name] = Object.fromEntries(names.map((h) => [h, response.headers.get(h)]));
}
async function login(email, password) {
  return fetch(api + "/api/auth/login", {
    method: "POST", credentials: "include",
    headers: traced({"Content-Type": "application/json"}),
    body: JSON.stringify({email, password}),
  });
}
async function run() {
  try {
    const login1 = await login("patient1@example.com", __PASSWORD__);
    out.loginStatus = login1.status;
    read("login", login1, ["X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                           "X-RateLimit-Reset"]);
    const session = await login1.json();
    const bearer = {"Authorization": "Bearer " + session.accessToken};
    const list = await fetch(api + "/api/appointments", {
      credentials: "include", headers: traced(bearer),
    });
    out.listStatus = list.status;
    read("list", list, ["X-Total-Count", "X-Page", "X-Per-Page", "X-Request-ID"]);
    out.body = await list.json();

    const csrf = (await (await fetch(api + "/api/auth/csrf-token",
                                     {headers: traced(bearer)})).json()).csrfToken;
    const searchInit = (etag) => ({
      method: "POST",
      headers: traced({...bearer, "X-CSRF-Token": csrf, "Content-Type": "application/json",
                       ...(etag ? {"If-None-Match": etag} : {})}),
      body: JSON.stringify({specialty: "cardiology"}),
    });
    const search = await fetch(api + "/api/appointments/search-providers", searchInit());
    out.searchStatus = search.status;
    read("search", search, ["ETag"]);
    const again = await fetch(api + "/api/appointments/search-providers",
                              searchInit(search.headers.get("ETag")));
    out.searchAgainStatus = again.status;

    const records = await (await fetch(api + "/api/medical-records",
                                       {headers: traced(bearer)})).json();
    const file = records.data.find((r) => r.attachments.length).attachments[0];
    const download = await fetch(api + file.url, {headers: traced(bearer)});
    out.downloadStatus = download.status;
    read("download", download, ["Content-Disposition", "Content-Length"]);

    const doctor = await (await login("doctor1@example.com", __PASSWORD__)).json();
    const doctorBearer = {"Authorization": "Bearer " + doctor.accessToken};
    const doctorCsrf = (await (await fetch(api + "/api/auth/csrf-token",
                                           {headers: traced(doctorBearer)})).json()).csrfToken;
    const written = await fetch(api + "/api/medical-records", {
      method: "POST",
      headers: traced({...doctorBearer, "X-CSRF-Token": doctorCsrf,
                       "Content-Type": "application/json"}),
      body: JSON.stringify({patientId: session.user.id, type: "visit_note",
                            title: "Written from a browser", date: "2025-01-15"}),
    });
    out.writeStatus = written.status;
    read("write", written, ["Location"]);

    for (let attempt = 0; attempt < 12; attempt++) {
      const refused = await login("nobody@example.com", "wrong password 1!");
      if (refused.status === 429) {
        out.limitedStatus = 429;
        read("limited", refused, ["Retry-After", "X-RateLimit-Remaining"]);
        out.limitedCode = (await refused.json()).error.code;
        break;
      }
    }
  } catch (error) {
    out.error = String(error);
  }
  document.getElementById("result").textContent = JSON.stringify(out);
}
run();
</script></body></html>
"""


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {message}")
    pytest.skip(message)


@contextmanager
def page_server(page: str) -> Iterator[int]:
    """Serves `page` at / on a free port of the test range, whatever the Host header says."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def dump_dom(chromium: str, url: str, profile: Path, *flags: str) -> subprocess.CompletedProcess:
    """Load `url` in headless Chromium and print its DOM once the page's requests finished."""
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *flags,
            # Virtual time stands still while fetches are pending, so the DOM is dumped only
            # after the page's requests finished.
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_SECONDS,
        check=False,
    )


def run_page_in_chromium(chromium: str, origin: str, page_port: int, profile: Path) -> dict:
    """Load `origin`/ in headless Chromium (mapped to the page server); the page's findings."""
    host_port = origin.removeprefix("http://")
    rule = f"--host-rules=MAP {host_port} 127.0.0.1:{page_port}"
    completed = dump_dom(chromium, f"{origin}/", profile, rule)
    match = re.search(r'<pre id="result">(.*?)</pre>', completed.stdout, re.S)
    assert match, (
        f"no result in the page (chromium exit {completed.returncode}): {completed.stderr[-2000:]}"
    )
    assert match.group(1) != "pending", "the page's script did not finish"
    return json.loads(html.unescape(match.group(1)))


@pytest.fixture
def api_url(app, backend) -> Iterator[str]:
    """A real server on the seeded database (the `app` fixture restored it)."""
    env = server_env(
        backend.url,
        FRONTEND_URL="https://portal.example.com",
        RATE_LIMIT_AUTH_MAX="4",
        STORAGE_PATH=str(backend.storage_path),
    )
    with running_server(env) as url:
        yield url


def test_the_frontend_origin_uses_the_api_with_every_declared_and_documented_header(
    api_url, tmp_path
):
    chromium = chromium_or_skip()
    page = PAGE.replace("__API__", json.dumps(api_url)).replace(
        "__PASSWORD__", json.dumps(DEMO_PASSWORD)
    )
    with page_server(page) as port:
        allowed = run_page_in_chromium(chromium, ALLOWED_ORIGIN, port, tmp_path / "a")
        refused = run_page_in_chromium(chromium, REFUSED_ORIGIN, port, tmp_path / "b")

    assert allowed["origin"] == ALLOWED_ORIGIN
    assert "error" not in allowed, allowed
    statuses = {key: value for key, value in allowed.items() if key.endswith("Status")}
    assert statuses == {
        "loginStatus": 200, "listStatus": 200, "searchStatus": 200, "searchAgainStatus": 304,
        "downloadStatus": 200, "writeStatus": 201, "limitedStatus": 429,
    }, allowed  # fmt: skip
    assert isinstance(allowed["body"]["data"], list)
    # What the page's JavaScript could read: every header the spec documents, when sent.
    readable = allowed["readable"]
    unreadable = [
        f"{step}: {name}"
        for step, headers in readable.items()
        for name, value in headers.items()
        if value is None
    ]
    assert not unreadable, readable
    assert readable["login"]["X-Request-ID"].startswith("browser-")  # ours, echoed
    assert readable["search"]["ETag"].startswith('"')
    assert readable["download"]["Content-Disposition"].startswith("attachment")
    assert readable["write"]["Location"].startswith("/api/medical-records/")
    assert int(readable["limited"]["Retry-After"]) > 0
    assert allowed["limitedCode"] == "RATE_LIMIT_EXCEEDED"

    assert refused["origin"] == REFUSED_ORIGIN
    assert "loginStatus" not in refused
    assert refused["error"].startswith("TypeError"), refused
