"""CallRail auth header variants, path leniency, account scoping and the hourly/daily limits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import CrClient, cr_server

# Fixtures live in the shared module; binding them here lets pytest find them.
cr = fx.cr
cr_ro = fx.cr_ro


@pytest.mark.parametrize(
    "template",
    ['Token token="{k}"', "Token token={k}", "Token {k}", "Bearer {k}", 'Token token="{k}", x=1'],
)
def test_accepted_authorization_forms(cr_ro: CrClient, template: str) -> None:
    response = cr_ro.http.get(
        cr_ro.path("companies.json"), headers={"Authorization": template.format(k=cr_ro.api_key)}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "value", ["", "Token", 'Token token=""', "token token=KEY", "Basic KEY", "Token token=wrong"]
)
def test_rejected_authorization(cr_ro: CrClient, value: str) -> None:
    value = value.replace("KEY", cr_ro.api_key)
    response = cr_ro.http.get(cr_ro.path("companies.json"), headers={"Authorization": value})
    assert response.status_code == 401
    assert response.json() == {"error": "HTTP Token: Access denied."}
    assert response.headers["www-authenticate"] == 'Token realm="Application"'


@pytest.mark.parametrize("path", ["calls.json", "calls", "calls.json/", "calls/"])
def test_format_suffix_and_slash_are_optional(cr_ro: CrClient, path: str) -> None:
    response = cr_ro.http.get(cr_ro.path(path), params={"per_page": 1, "unknown": "x"})
    assert response.status_code == 200 and len(response.json()["calls"]) == 1


def test_other_formats_are_not_acceptable(cr_ro: CrClient) -> None:
    assert cr_ro.http.get(cr_ro.path("calls.xml")).status_code == 406


def test_repeated_parameters_last_wins(cr_ro: CrClient) -> None:
    response = cr_ro.http.get(
        cr_ro.path("calls.json"), params=[("per_page", "5"), ("per_page", "2")]
    )
    assert len(response.json()["calls"]) == 2


def test_unknown_account_and_method(cr_ro: CrClient) -> None:
    assert cr_ro.http.get("/v3/a/ACC0000/calls.json").status_code == 404
    call = cr_ro.live("calls")[0]["id"]
    response = cr_ro.http.patch(cr_ro.path(f"calls/{call}.json"), json={"note": "x"})
    assert response.status_code == 405 and response.json() == {"error": "Method Not Allowed"}


def test_hourly_limit_never_exceeded(cr: CrClient) -> None:
    def get(_: int) -> int:
        return cr.http.get(cr.path("companies.json")).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(get, range(1_010)))
    assert statuses.count(200) == 1_000 and statuses.count(429) == 10
    assert cr.app.state.limiters["hourly"].max_in_any_window(cr.account) == 1_000
    limited = cr.http.get(cr.path("companies.json"))
    assert limited.status_code == 429 and limited.json() == {"error": "Too Many Requests"}
    assert "retry-after" not in limited.headers
    other = cr.world.callrail_accounts[1]
    assert cr.http.get(f"/v3/a/{other}/companies.json").status_code == 200


def test_daily_limit(cr: CrClient) -> None:
    cr.app.state.limiters["daily"].limit = 2  # 10,000 would take too long to reach
    statuses = [cr.http.get(cr.path("companies.json")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_limits_off_for_benchmarks() -> None:
    with cr_server(limits_enabled=False) as free:
        free.app.state.limiters["hourly"].limit = 1
        assert {free.http.get(free.path("companies.json")).status_code for _ in range(5)} == {200}


def test_bad_credentials_do_not_spend_the_budget(cr: CrClient) -> None:
    cr.app.state.limiters["hourly"].limit = 1
    bad = httpx.get(cr.base_url + cr.path("companies.json"), headers={"Authorization": "Token x"})
    assert bad.status_code == 401
    assert cr.http.get(cr.path("companies.json")).status_code == 200
