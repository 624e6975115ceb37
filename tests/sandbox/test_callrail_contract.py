"""Contract: CallRail responses validate against the (unofficial) v3 OpenAPI file with
openapi-core; where api-facts.md cites the real docs the app follows those instead, and the
relaxations are listed in _ghl_cr_fixtures.py. Errors outside the spec's declared statuses
are checked against its Error schema."""

from __future__ import annotations

import httpx
import pytest
from openapi_core.validation.response.exceptions import InvalidData
from openapi_schema_validator import OAS31Validator

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import SPEC_ROOT, CrClient, check_cr, cr_spec

# Fixtures live in the shared module; binding them here lets pytest find them.
cr = fx.cr
cr_ro = fx.cr_ro

pytestmark = pytest.mark.skipif(
    not (SPEC_ROOT / "callrail").is_dir(), reason="CallRail spec not available"
)


def _schema(name: str) -> OAS31Validator:
    return OAS31Validator({**cr_spec(), "$ref": f"#/components/schemas/{name}"})


def test_calls_list_and_get(cr_ro: CrClient) -> None:
    listed = cr_ro.http.get(
        cr_ro.path("calls.json"),
        params={"per_page": 250, "fields": "company_id,tags,note,lead_status,source,campaign"},
    )
    assert listed.status_code == 200
    check_cr(listed)
    call = listed.json()["calls"][0]
    assert {"company_id", "tags", "note"} <= call.keys() and "utm_source" not in call
    one = cr_ro.http.get(cr_ro.path(f"calls/{call['id']}.json"), params={"fields": "tracker_id"})
    assert one.status_code == 200
    check_cr(one)
    assert one.json()["tracker_id"] and "company_id" not in one.json()


def test_relative_page_matches_spec(cr_ro: CrClient) -> None:
    response = cr_ro.http.get(
        cr_ro.path("calls.json"), params={"relative_pagination": "true", "per_page": 10}
    )
    check_cr(response)
    assert set(response.json()) == {"per_page", "has_next_page", "next_page", "calls"}


def test_accounts(cr_ro: CrClient) -> None:
    listed = cr_ro.http.get("/v3/a.json")
    check_cr(listed)
    assert {a["id"] for a in listed.json()["accounts"]} == set(cr_ro.world.callrail_accounts)
    check_cr(cr_ro.http.get(f"/v3/a/{cr_ro.account}.json"))


def test_companies_and_trackers_envelopes(cr_ro: CrClient) -> None:
    pagination = _schema("Pagination")
    for resource in ("companies", "trackers"):
        body = cr_ro.http.get(cr_ro.path(f"{resource}.json")).json()
        pagination.validate(body)
        assert body["total_records"] == len(body[resource]) == len(cr_ro.live(resource))


def test_update_call(cr: CrClient) -> None:
    call = cr.live("calls")[0]
    response = cr.http.put(cr.path(f"calls/{call['id']}.json"), json={"note": "booked"})
    assert response.status_code == 200
    check_cr(response)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "calls/CAL00000000000000000000000000000000.json", 404),
        ("PUT", "calls/CAL00000000000000000000000000000000.json", 404),
    ],
)
def test_declared_errors(cr_ro: CrClient, method: str, path: str, status: int) -> None:
    response = cr_ro.http.request(method, cr_ro.path(path), json={})
    assert response.status_code == status
    check_cr(response)


def test_unauthorized(cr_ro: CrClient) -> None:
    response = cr_ro.http.get(cr_ro.path("calls.json"), headers={"Authorization": "Token nope"})
    assert response.status_code == 401
    check_cr(response)


def test_undeclared_errors_use_the_error_schema(cr_ro: CrClient) -> None:
    error = _schema("Error")
    for params in ({"start_date": "yesterday-ish"}, {"date_range": "all_time"}):
        response = cr_ro.http.get(cr_ro.path("calls.json"), params=params)
        assert response.status_code == 400
        error.validate(response.json())
    patch = cr_ro.http.patch(cr_ro.path("calls/x.json"), json={})
    assert patch.status_code == 405
    error.validate(patch.json())


def test_checker_rejects_a_wrong_shape(cr_ro: CrClient) -> None:
    response = cr_ro.http.get(cr_ro.path("calls.json"), params={"per_page": 1})
    broken = response.json()
    broken["calls"][0]["duration"] = "long"
    forged = httpx.Response(200, json=broken, request=response.request)
    with pytest.raises(InvalidData):
        check_cr(forged)
