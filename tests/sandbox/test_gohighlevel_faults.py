"""Fault injection on the GoHighLevel stand-in: each kind, switched on at runtime through
POST /_sandbox/faults, as a client sees it over a real socket."""

from __future__ import annotations

import time

import httpx
import pytest

from lazi.sandbox.common import FaultConfig
from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import GhlClient, ghl_server

# Fixtures live in the shared module; binding them here lets pytest find them.
ghl = fx.ghl


def _faults(ghl: GhlClient, **config: float) -> None:
    response = ghl.http.post("/_sandbox/faults", json=config)
    assert response.status_code == 200, response.text


def _list(ghl: GhlClient) -> httpx.Response:
    return ghl.http.get("/contacts/", params={"locationId": ghl.location, "limit": 5})


def test_injected_429_has_ghl_shape(ghl: GhlClient) -> None:
    _faults(ghl, rate_429=1.0)
    response = _list(ghl)
    assert response.status_code == 429
    assert response.json()["message"] == "Too Many Requests"
    assert response.headers["X-RateLimit-Max"] == "100"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_injected_server_errors(status: int) -> None:
    with ghl_server(faults=FaultConfig(rate_5xx=1.0, seed=status)) as ghl:
        seen = {_list(ghl).status_code for _ in range(30)}
    assert seen == {500, 502, 503}


def test_gateway_errors_are_html_500_is_json(ghl: GhlClient) -> None:
    _faults(ghl, rate_5xx=1.0)
    bodies = {}
    for _ in range(30):
        response = _list(ghl)
        bodies[response.status_code] = response
    assert bodies[500].json()["statusCode"] == 500
    assert bodies[502].headers["content-type"].startswith("text/html")
    assert b"502 Bad Gateway" in bodies[502].content


def test_slow_responses(ghl: GhlClient) -> None:
    _faults(ghl, rate_slow=1.0, slow_s=0.4)
    started = time.monotonic()
    assert _list(ghl).status_code == 200
    assert time.monotonic() - started >= 0.4


def test_dropped_connection(ghl: GhlClient) -> None:
    _faults(ghl, rate_drop=1.0)
    with pytest.raises(httpx.TransportError):
        _list(ghl)


def test_truncated_body(ghl: GhlClient) -> None:
    _faults(ghl, rate_truncate=1.0)
    with pytest.raises(httpx.TransportError):
        _list(ghl)


def test_truncated_write_still_applies(ghl: GhlClient) -> None:
    """The dangerous case for reverse ETL: the write happened, the answer got lost."""
    _faults(ghl, rate_truncate=1.0)
    with pytest.raises(httpx.TransportError):
        ghl.http.post(
            "/contacts/upsert", json={"locationId": ghl.location, "email": "lost@example.com"}
        )
    _faults(ghl)
    assert len(ghl.http.get("/_sandbox/writes").json()) == 1
    again = ghl.http.post(
        "/contacts/upsert", json={"locationId": ghl.location, "email": "lost@example.com"}
    )
    assert again.json()["new"] is False


def test_schema_drift(ghl: GhlClient) -> None:
    clean = _list(ghl).json()["contacts"]
    _faults(ghl, rate_schema_drift=1.0)
    drifted = _list(ghl).json()
    assert [c["id"] for c in drifted["contacts"]] == [c["id"] for c in clean]
    assert all("attributionScore" in c for c in drifted["contacts"])
    assert all(c["dnd"] in ("true", "false") for c in drifted["contacts"])
    assert drifted["meta"]["total"] == len(ghl.live_ids("contacts"))  # envelope intact
    opp = ghl.http.get("/opportunities/search", params={"location_id": ghl.location}).json()
    assert all(isinstance(o["monetaryValue"], str) for o in opp["opportunities"])


def test_control_endpoints_are_never_faulted(ghl: GhlClient) -> None:
    _faults(ghl, rate_drop=1.0)
    assert ghl.http.get("/_sandbox/faults").json()["rate_drop"] == 1.0
    assert ghl.http.post("/_sandbox/faults", json={"bogus": 1}).status_code == 400


def test_mixed_faults_are_deterministic_per_seed() -> None:
    config = FaultConfig(rate_429=0.2, rate_5xx=0.2, seed=11)
    runs = []
    for _ in range(2):
        with ghl_server(faults=config, limits_enabled=False) as ghl:
            runs.append([_list(ghl).status_code for _ in range(25)])
    assert runs[0] == runs[1] and set(runs[0]) > {200}
