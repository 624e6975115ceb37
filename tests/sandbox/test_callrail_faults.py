"""Fault injection on the CallRail stand-in, switched on through POST /_sandbox/faults."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import CrClient

# Fixtures live in the shared module; binding them here lets pytest find them.
cr = fx.cr


def _faults(cr: CrClient, **config: float) -> None:
    assert cr.http.post("/_sandbox/faults", json=config).status_code == 200


def _calls(cr: CrClient) -> httpx.Response:
    return cr.http.get(cr.path("calls.json"), params={"per_page": 5})


def test_injected_429(cr: CrClient) -> None:
    _faults(cr, rate_429=1.0)
    response = _calls(cr)
    assert response.status_code == 429 and response.json() == {"error": "Too Many Requests"}


def test_injected_server_errors(cr: CrClient) -> None:
    _faults(cr, rate_5xx=1.0, seed=3)
    responses = {r.status_code: r for r in (_calls(cr) for _ in range(30))}
    assert set(responses) == {500, 502, 503}
    assert responses[500].json() == {"error": "Internal Server Error"}
    assert responses[503].headers["content-type"] == "text/html"


def test_slow(cr: CrClient) -> None:
    _faults(cr, rate_slow=1.0, slow_s=0.3)
    started = time.monotonic()
    assert _calls(cr).status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("kind", ["rate_drop", "rate_truncate"])
def test_broken_transport(cr: CrClient, kind: str) -> None:
    _faults(cr, **{kind: 1.0})
    with pytest.raises(httpx.TransportError):
        _calls(cr)


def test_schema_drift(cr: CrClient) -> None:
    _faults(cr, rate_schema_drift=1.0)
    body = _calls(cr).json()
    assert body["total_records"] == len(cr.live("calls"))  # envelope intact
    call = body["calls"][0]
    assert "conversation_intelligence" in call
    assert isinstance(call["duration"], str) and call["answered"] in ("true", "false")
    single = cr.http.get(cr.path(f"calls/{call['id']}.json")).json()
    assert "conversation_intelligence" in single
