"""The three stand-ins over one World: in-process start, description, and the CLI server loop."""

from __future__ import annotations

import io
import json
import threading
import time

import httpx
import pytest

from lazi.sandbox.server import describe, render_listing, serve_forever, start_sandbox


def test_start_sandbox_shares_one_world_and_describes_it() -> None:
    with start_sandbox(300, 7, limits=False) as sandbox:
        info = describe(sandbox)
        urls = {info[v]["base_url"] for v in ("servicetitan", "gohighlevel", "callrail")}
        assert len(urls) == 3 and all(u.startswith("http://127.0.0.1:") for u in urls)
        assert sandbox.apps["servicetitan"].state.sandbox.world is sandbox.world
        json.dumps(info)  # JSON-ready

        st = info["servicetitan"]
        tenant, creds = next(iter(st["tenants"].items()))
        token = httpx.post(
            st["auth_url"], data={"grant_type": "client_credentials", **creds}
        ).json()["access_token"]
        response = httpx.get(
            f"{st['base_url']}/crm/v2/tenant/{tenant}/export/customers",
            headers={"Authorization": f"Bearer {token}", "ST-App-Key": st["app_key"]},
        )
        assert response.status_code == 200 and response.json()["data"]

        # Advancing through any app moves the shared clock that the others serve from.
        before = sandbox.world.now
        httpx.post(f"{info['gohighlevel']['base_url']}/_sandbox/advance", params={"hours": 1})
        assert sandbox.world.now > before
    with pytest.raises(httpx.ConnectError):
        httpx.get(st["base_url"], timeout=2)


def test_listing_has_credentials_and_curl_examples() -> None:
    with start_sandbox(300, 7) as sandbox:
        text = render_listing(describe(sandbox))
    assert "ST-App-Key" in text and text.count("curl -s") >= 4
    assert sandbox.world.credentials["callrail"]["api_key"] in text


def test_serve_forever_prints_one_json_line_first_then_stops() -> None:
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(
        target=serve_forever, args=(300, 7, True), kwargs={"out": out, "stop_event": stop}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while "\n" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        first = out.getvalue().splitlines()[0]
        info = json.loads(first)
        assert set(info) >= {"servicetitan", "gohighlevel", "callrail"}
        assert httpx.get(info["servicetitan"]["base_url"] + "/_sandbox/limits").status_code == 200
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
