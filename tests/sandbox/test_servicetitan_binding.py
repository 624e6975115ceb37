"""Exactly as strict as ServiceTitan (ASP.NET behind Azure API Management), and no stricter."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import STClient


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["data"]]


def test_trailing_slash_and_path_case_are_accepted(st_shared: STClient) -> None:
    canonical = _ids(st_shared.get("crm/customers", {"pageSize": 5}))
    headers = st_shared.headers()
    slash = st_shared.http.get(
        st_shared.path("crm/customers") + "/", params={"pageSize": 5}, headers=headers
    )
    upper = st_shared.http.get(
        st_shared.path("crm/customers").replace("/crm/", "/CRM/").replace("customers", "Customers"),
        params={"pageSize": 5},
        headers=headers,
    )
    assert _ids(slash) == _ids(upper) == canonical


def test_query_names_and_booleans_are_case_insensitive(st_shared: STClient) -> None:
    body = st_shared.get(
        "crm/customers", {"PAGESIZE": 3, "includetotal": "TRUE", "Active": "any"}
    ).json()
    assert body["pageSize"] == 3 and body["totalCount"] is not None
    everything = st_shared.get("crm/customers", {"active": "Any", "includeTotal": "true"}).json()
    assert body["totalCount"] == everything["totalCount"]


def test_unknown_and_repeated_parameters(st_shared: STClient) -> None:
    plain = _ids(st_shared.get("crm/customers", {"pageSize": 4}))
    noisy = st_shared.get(
        "crm/customers", [("pageSize", "4"), ("pageSize", "9"), ("utm_source", "x")]
    )
    assert _ids(noisy) == plain  # first value of a repeated scalar wins; unknown names ignored


def test_empty_values_mean_not_given(st_shared: STClient) -> None:
    assert _ids(st_shared.get("crm/customers", {"page": "", "pageSize": "", "active": ""})) == _ids(
        st_shared.get("crm/customers")
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pageSize": "ten"}, "pageSize"),
        ({"includeTotal": "yes"}, "includeTotal"),
        ({"modifiedOnOrAfter": "yesterday"}, "modifiedOnOrAfter"),
        ({"active": "Maybe"}, "active"),
        ({"ids": "1,x"}, "ids"),
    ],
)
def test_unconvertible_values_get_asp_net_validation_errors(
    st_shared: STClient, params: dict, field: str
) -> None:
    response = st_shared.get("crm/customers", params)
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "One or more validation errors occurred."
    assert field in body["errors"]


def test_dates_accept_the_formats_dotnet_parses(st_shared: STClient) -> None:
    forms = [
        "2022-06-01",
        "2022-06-01T00:00:00",
        "2022-06-01T00:00:00Z",
        "2022-06-01T02:00:00+02:00",
        "06/01/2022",
    ]
    results = {
        f: _ids(st_shared.get("crm/customers", {"modifiedOnOrAfter": f, "pageSize": 500}))
        for f in forms
    }
    assert len({tuple(v) for v in results.values()}) == 1


def test_unknown_routes_get_the_gateway_404(st_shared: STClient) -> None:
    response = st_shared.get("crm/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Resource not found"}
    # Invoices have no GET-by-id in ServiceTitan's API, so neither here.
    assert st_shared.get("accounting/invoices/1").status_code == 404


def test_enum_ordinals_bind_like_asp_net(st_shared: STClient) -> None:
    by_name = _ids(st_shared.get("crm/customers", {"active": "Any"}))
    assert _ids(st_shared.get("crm/customers", {"active": "1"})) == by_name  # Any is ordinal 1
