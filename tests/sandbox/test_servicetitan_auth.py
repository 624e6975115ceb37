"""OAuth2 client credentials, the two required headers, token expiry and tenant scoping."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from lazi.sandbox.world import World
from tests.sandbox.conftest import STClient


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_token_response_shape(st_shared: STClient) -> None:
    response = st_shared.fetch_token()
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["access_token"].count(".") == 2  # JWT-shaped
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
            "invalid_client",
        ),
        (
            {"grant_type": "password", "client_id": "a", "client_secret": "b"},
            "unsupported_grant_type",
        ),
        ({"client_id": "a", "client_secret": "b"}, "invalid_request"),
    ],
)
def test_token_endpoint_rejections(st_shared: STClient, form: dict, error: str) -> None:
    response = st_shared.http.post("/connect/token", data=form)
    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_token_endpoint_wants_a_form_and_accepts_basic_auth(st_shared: STClient) -> None:
    creds = st_shared.client_creds()
    as_json = st_shared.http.post(
        "/connect/token", json={"grant_type": "client_credentials", **creds}
    )
    assert as_json.status_code == 400 and as_json.json() == {"error": "invalid_request"}
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    response = st_shared.http.post(
        "/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "case", ["no-headers", "wrong-app-key", "no-app-key", "unknown-token", "basic-scheme"]
)
def test_missing_or_wrong_credentials_get_401(st_shared: STClient, case: str) -> None:
    good = st_shared.headers()
    headers = {
        "no-headers": {},
        "wrong-app-key": {**good, "ST-App-Key": "wrong"},
        "no-app-key": {"Authorization": good["Authorization"]},
        "unknown-token": {**good, "Authorization": "Bearer not-a-token"},
        "basic-scheme": {**good, "Authorization": "Basic abc"},
    }[case]
    response = st_shared.http.get(st_shared.path("crm/customers"), headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"type", "title", "status", "traceId", "errors", "data"}
    assert body["status"] == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_header_names_and_bearer_scheme_are_case_insensitive(st_shared: STClient) -> None:
    token = st_shared.token()
    response = st_shared.http.get(
        st_shared.path("crm/customers"),
        headers={"authorization": f"bearer {token}", "st-app-key": st_shared.app_key},
    )
    assert response.status_code == 200


def test_access_token_without_the_bearer_scheme_is_accepted(st_shared: STClient) -> None:
    # Published clients send `Authorization: <token>` and production answers them; the
    # stand-in used to refuse it with "... is not a Bearer token".
    response = st_shared.http.get(
        st_shared.path("crm/customers"),
        headers={"Authorization": st_shared.token(), "ST-App-Key": st_shared.app_key},
    )
    assert response.status_code == 200
    assert response.json() == st_shared.get("crm/customers").json()


@pytest.mark.parametrize("form", ["not-a-token", "Bearer", "", "Basic {token}"])
def test_bare_unknown_empty_or_other_scheme_token_gets_401(st_shared: STClient, form: str) -> None:
    authorization = form.format(token=st_shared.token())
    response = st_shared.http.get(
        st_shared.path("crm/customers"),
        headers={"Authorization": authorization, "ST-App-Key": st_shared.app_key},
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_token_of_one_tenant_cannot_read_another(st_shared: STClient) -> None:
    other = st_shared.world.tenants[1]
    response = st_shared.http.get(
        st_shared.path("crm/customers", other), headers=st_shared.headers()
    )
    assert response.status_code == 403
    own = st_shared.http.get(
        st_shared.path("crm/customers", other), headers=st_shared.headers(other)
    )
    assert own.status_code == 200


def test_token_expires_after_its_lifetime_and_a_new_one_works(
    make_st: Callable[..., STClient], fresh_world: World
) -> None:
    clock = FakeClock()
    st = make_st(fresh_world, clock=clock)
    assert st.get("crm/customers").status_code == 200
    clock.now += 899
    assert st.get("crm/customers").status_code == 200
    clock.now += 2
    expired = st.get("crm/customers")
    assert expired.status_code == 401
    assert "expired" in expired.headers["www-authenticate"]
    bare = st.http.get(
        st.path("crm/customers"),
        headers={"Authorization": st.token(), "ST-App-Key": st.app_key},
    )
    assert bare.status_code == 401 and "expired" in bare.headers["www-authenticate"]
    st._tokens.clear()  # a client refreshes by asking for a new token
    assert st.get("crm/customers").status_code == 200


def test_short_token_lifetime_for_tests(
    make_st: Callable[..., STClient], fresh_world: World
) -> None:
    st = make_st(fresh_world, token_ttl_s=30)
    assert st.fetch_token().json()["expires_in"] == 30
