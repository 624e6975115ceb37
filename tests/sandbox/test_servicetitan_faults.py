"""Rate limiting (60/s per app key + tenant) and every kind of injected fault, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from lazi.sandbox.common import FaultConfig
from lazi.sandbox.world import World
from tests.sandbox.conftest import STClient


def _burst(st: STClient, n: int, tenant: int | None = None) -> list[httpx.Response]:
    url = st.base_url + st.path("settings/tag-types", tenant)
    headers = st.headers(tenant)
    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: http.get(url, headers=headers), range(n)))


def test_rate_limit_is_60_per_second_per_app_and_tenant(
    make_st: Callable[..., STClient], fresh_world: World
) -> None:
    st = make_st(fresh_world, limits_enabled=True)
    started = time.monotonic()
    responses = _burst(st, 150)
    elapsed = time.monotonic() - started
    ok = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert len(ok) + len(limited) == 150
    assert len(ok) <= 60 * (int(elapsed) + 1)
    assert limited, f"150 requests in {elapsed:.2f}s were never throttled"
    sample = limited[0]
    assert int(sample.headers["retry-after"]) >= 1
    body = sample.json()
    assert body["statusCode"] == 429 and "Rate limit is exceeded" in body["message"]
    limits = st.http.get("/_sandbox/limits").json()
    key = f"{st.app_key}:{st.tenant}"
    assert limits["max_in_any_window"][key] == 60  # never more, and the limit was reached

    # The other tenant has its own budget.
    other = fresh_world.tenants[1]
    assert all(r.status_code == 200 for r in _burst(st, 20, other))


def test_limits_can_be_lifted_for_benchmarks(
    make_st: Callable[..., STClient], fresh_world: World
) -> None:
    st = make_st(fresh_world, limits_enabled=True)
    st.http.post("/_sandbox/limits", params={"enabled": "false"})
    assert all(r.status_code == 200 for r in _burst(st, 120))


def _with_fault(make_st: Callable[..., STClient], world: World, **rates: float) -> STClient:
    st = make_st(world, faults=FaultConfig(**rates))
    st.token()  # the token endpoint itself is never faulted
    return st


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_errors(make_st: Callable[..., STClient], fresh_world: World, kind: str) -> None:
    st = make_st(fresh_world)
    # Half the 5xx rate picks each of 500/502/503 at random; retry until this one shows up.
    st.http.post("/_sandbox/faults", json={"rate_5xx": 1.0, "seed": 1})
    seen = {st.get("crm/customers").status_code for _ in range(40)}
    assert int(kind) in seen
    assert seen <= {500, 502, 503}


def test_injected_429_has_retry_after(make_st: Callable[..., STClient], fresh_world: World) -> None:
    st = _with_fault(make_st, fresh_world, rate_429=1.0)
    response = st.get("crm/customers")
    assert response.status_code == 429 and response.headers["retry-after"] == "1"


def test_slow_responses(make_st: Callable[..., STClient], fresh_world: World) -> None:
    st = _with_fault(make_st, fresh_world, rate_slow=1.0, slow_s=0.3)
    started = time.monotonic()
    assert st.get("crm/customers").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_dropped_connection(make_st: Callable[..., STClient], fresh_world: World) -> None:
    st = _with_fault(make_st, fresh_world, rate_drop=1.0)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        st.get("crm/customers")


def test_truncated_body(make_st: Callable[..., STClient], fresh_world: World) -> None:
    st = _with_fault(make_st, fresh_world, rate_truncate=1.0)
    with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
        st.get("crm/export/customers")


def test_schema_drift(make_st: Callable[..., STClient], fresh_world: World) -> None:
    st = _with_fault(make_st, fresh_world, rate_schema_drift=1.0)
    record = st.get("crm/locations").json()["data"][0]
    assert "sandboxDriftNote" in record
    assert isinstance(record["customerId"], str) and isinstance(record["id"], int)


def test_faults_are_set_and_counted_at_runtime(
    make_st: Callable[..., STClient], fresh_world: World
) -> None:
    st = make_st(fresh_world)
    assert st.http.post("/_sandbox/faults", json={"rate_42": 1}).status_code == 400
    st.http.post("/_sandbox/faults", json={"rate_429": 0.5, "seed": 3})
    statuses = [st.get("crm/customers").status_code for _ in range(30)]
    assert set(statuses) == {200, 429}
    state = st.http.get("/_sandbox/faults").json()
    assert state["counts"]["429"] == statuses.count(429)
    st.http.post("/_sandbox/faults", json={})
    assert st.get("crm/customers").status_code == 200
