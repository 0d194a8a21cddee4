"""Swagger UI as it stands is usable: its page and assets load (also in a real browser), no
request id is prefilled, and writes carry the session's CSRF token without pasting it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from portal.web.swagger_ui import TEMPLATE_DIR
from tests.integration.web.test_cors_browser import chromium_or_skip, dump_dom
from tests.support.servers import running_server, server_env
from tests.support.spec import resolved

INTERCEPTOR = re.search(r"const WRITES.*?\n    }\n", (TEMPLATE_DIR / "index.j2").read_text(), re.S)


def test_the_page_reads_the_published_spec_and_its_assets_load(client):
    page = client.get("/api/ui/")
    assert page.status_code == 200
    assert '"/api/openapi.json"' in page.text and "requestInterceptor" in page.text
    assets = re.findall(r'(?:src|href)="(/api/ui-assets/[^"]+)"', page.text)
    assert len(assets) == 4
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 500
    assert client.get("/api/ui-assets/../../etc/passwd").status_code == 404
    assert client.get("/api/ui-assets/missing.js").status_code == 404


def test_no_header_parameter_has_an_example_to_prefill():
    prefilled = [
        (path, parameter["name"])
        for path, item in resolved()["paths"].items()
        for holder in [item, *(v for v in item.values() if isinstance(v, dict))]
        for parameter in holder.get("parameters", [])
        if parameter["in"] == "header" and ("example" in parameter or "examples" in parameter)
    ]
    assert prefilled == []


def _run_interceptor(requests: list[dict], csrf_status: int = 200) -> dict:
    """The page's interceptor in node, against a fake `fetch` that counts its calls."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is missing")
    assert INTERCEPTOR, "the interceptor was not found in index.j2"
    script = f"""
let calls = [];
globalThis.fetch = async (url, init) => {{
  calls.push([url, init.headers.Authorization]);
  const csrfToken = "tok-" + init.headers.Authorization;
  return {{ok: {str(csrf_status == 200).lower()}, json: async () => ({{csrfToken}})}};
}};
{INTERCEPTOR.group(0)}
(async () => {{
  const out = [];
  for (const request of {json.dumps(requests)}) out.push((await withCsrfToken(request)).headers);
  console.log(JSON.stringify({{out, calls}}));
}})();
"""
    done = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_writes_get_the_sessions_csrf_token_once_per_bearer():
    result = _run_interceptor(
        [
            {"method": "POST", "headers": {"Authorization": "Bearer a"}},
            {"method": "delete", "headers": {"Authorization": "Bearer a"}},
            {"method": "PUT", "headers": {"Authorization": "Bearer b"}},
            {"method": "GET", "headers": {"Authorization": "Bearer a"}},
            {"method": "POST", "headers": {"Authorization": "Bearer a", "X-CSRF-Token": "typed"}},
            {"method": "POST", "headers": {}},
        ]
    )
    assert [h.get("X-CSRF-Token") for h in result["out"]] == [
        "tok-Bearer a", "tok-Bearer a", "tok-Bearer b", None, "typed", None,
    ]  # fmt: skip
    assert result["calls"] == [
        ["/api/auth/csrf-token", "Bearer a"],
        ["/api/auth/csrf-token", "Bearer b"],
    ]


def test_a_refused_token_request_leaves_the_write_to_the_api():
    result = _run_interceptor(
        [{"method": "POST", "headers": {"Authorization": "Bearer expired"}}], csrf_status=401
    )
    assert result["out"] == [{"Authorization": "Bearer expired"}]


def test_swagger_ui_renders_the_operations_in_a_real_browser(app, backend, tmp_path: Path):
    chromium = chromium_or_skip()
    with running_server(server_env(backend.url)) as url:
        completed = dump_dom(chromium, f"{url}/api/ui/", tmp_path)
    dom = completed.stdout
    assert 'class="swagger-ui' in dom, completed.stderr[-2000:]
    assert "opblock" in dom and "/api/appointments/search-providers" in dom
