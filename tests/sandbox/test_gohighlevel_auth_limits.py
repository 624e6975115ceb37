"""Auth, the Version header, location scoping, leniency where GHL is lenient, rate limits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import GhlClient, ghl_server

# Fixtures live in the shared module; binding them here lets pytest find them.
ghl = fx.ghl
ghl_ro = fx.ghl_ro


def _contacts(ghl: GhlClient, **headers: str) -> httpx.Response:
    return ghl.http.get("/contacts/", params={"locationId": ghl.location}, headers=headers)


def test_missing_version_header(ghl_ro: GhlClient) -> None:
    response = httpx.get(
        f"{ghl_ro.base_url}/contacts/",
        params={"locationId": ghl_ro.location},
        headers={"Authorization": f"Bearer {ghl_ro.token}"},
    )
    assert response.status_code == 401
    assert response.json()["message"] == "version header was not found."


@pytest.mark.parametrize("version", ["2021-07-28", "2021-04-15", "2023-02-21", "v3"])
def test_every_published_version_is_accepted(ghl_ro: GhlClient, version: str) -> None:
    assert _contacts(ghl_ro, Version=version).status_code == 200


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_scheme_is_case_insensitive(ghl_ro: GhlClient, scheme: str) -> None:
    response = _contacts(ghl_ro, Authorization=f"{scheme} {ghl_ro.token}")
    assert response.status_code == 200


def test_token_of_another_location_is_forbidden(ghl_ro: GhlClient) -> None:
    other = ghl_ro.world.ghl_locations[1]
    response = ghl_ro.http.get("/contacts/", params={"locationId": other})
    assert response.status_code == 403
    assert response.json()["message"] == "The token does not have access to this location."
    foreign = next(iter(ghl_ro.live_ids("contacts", other)))
    assert ghl_ro.http.get(f"/contacts/{foreign}").status_code == 403
    search = ghl_ro.http.post("/contacts/search", json={"locationId": other, "pageLimit": 1})
    assert search.status_code == 403


def test_trailing_slashes_repeats_and_extras_are_fine(ghl_ro: GhlClient) -> None:
    assert (
        ghl_ro.http.post(
            "/contacts/search/", json={"locationId": ghl_ro.location, "pageLimit": 1}
        ).status_code
        == 200
    )
    assert (
        ghl_ro.http.get(
            "/contacts", params={"locationId": ghl_ro.location, "unknownParam": "x"}
        ).status_code
        == 200
    )
    repeated = ghl_ro.http.get(
        "/opportunities/search/",
        params=[("location_id", ghl_ro.location), ("limit", "1"), ("limit", "3")],
    )
    assert repeated.status_code == 200 and len(repeated.json()["opportunities"]) == 3


def test_unknown_route_is_express_404(ghl_ro: GhlClient) -> None:
    response = ghl_ro.http.patch("/contacts/abc")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "message": "Cannot PATCH /contacts/abc",
        "error": "Not Found",
    }


def test_rate_limit_headers_count_down(ghl: GhlClient) -> None:
    first, second = _contacts(ghl), _contacts(ghl)
    assert first.headers["X-RateLimit-Max"] == "100"
    assert first.headers["X-RateLimit-Interval-Milliseconds"] == "10000"
    assert first.headers["X-RateLimit-Limit-Daily"] == "200000"
    assert (
        int(second.headers["X-RateLimit-Remaining"])
        == int(first.headers["X-RateLimit-Remaining"]) - 1
    )
    assert int(second.headers["X-RateLimit-Daily-Remaining"]) == 200_000 - 2


def test_burst_limit_never_exceeded(ghl: GhlClient) -> None:
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _contacts(ghl).status_code, range(130)))
    assert statuses.count(200) == 100 and statuses.count(429) == 30
    burst = ghl.app.state.limiters["burst"]
    assert burst.max_in_any_window(ghl.location) == 100
    limited = _contacts(ghl)
    assert limited.status_code == 429
    assert limited.json() == {
        "statusCode": 429,
        "message": "Too Many Requests",
        "error": "Too Many Requests",
    }
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert ghl.http.get("/_sandbox/limits").json()["burst"]["max_seen"] == {ghl.location: 100}
    # Another location has its own budget.
    other = ghl.world.ghl_locations[1]
    token = ghl.world.credentials["gohighlevel"]["tokens"][other]
    response = ghl.http.get(
        "/contacts/", params={"locationId": other}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def test_daily_limit(ghl: GhlClient) -> None:
    ghl.app.state.limiters["daily"].limit = 3  # 200,000 would take too long to reach
    assert [_contacts(ghl).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert _contacts(ghl).headers["X-RateLimit-Daily-Remaining"] == "0"


def test_limits_can_be_lifted_for_benchmarks() -> None:
    with ghl_server(limits_enabled=False) as free, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _contacts(free).status_code, range(150)))
    assert set(statuses) == {200}


def test_unauthenticated_requests_do_not_spend_the_budget(ghl: GhlClient) -> None:
    for _ in range(5):
        assert _contacts(ghl, Authorization="Bearer nope").status_code == 401
    assert _contacts(ghl).headers["X-RateLimit-Remaining"] == "99"
