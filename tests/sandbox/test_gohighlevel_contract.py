"""Contract: GoHighLevel responses, success and error alike, validate against the official
v2 OpenAPI files (contacts.json, opportunities.json + common schemas) with openapi-core.

POST /contacts/search has no response schema in the spec (its DTO is empty and links to an
external doc), so its contacts are validated against the spec's contact schema instead.
"""

from __future__ import annotations

import httpx
import pytest
from openapi_core.validation.response.exceptions import InvalidData
from openapi_schema_validator import OAS30Validator

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import SPEC_ROOT, GhlClient, check_ghl, ghl_spec

# Fixtures live in the shared module; binding them here lets pytest find them.
ghl = fx.ghl
ghl_ro = fx.ghl_ro

pytestmark = pytest.mark.skipif(
    not (SPEC_ROOT / "gohighlevel").is_dir(), reason="GoHighLevel specs not available"
)


def _first(ghl: GhlClient, name: str) -> dict:
    coll = ghl.coll(name)
    return next(r for _, r in coll.iter_from(0) if not coll.is_deleted(r))


def test_contact_reads_match_spec(ghl_ro: GhlClient) -> None:
    listed = ghl_ro.http.get("/contacts/", params={"locationId": ghl_ro.location, "limit": 50})
    assert listed.status_code == 200
    check_ghl(listed, "contacts.json")
    contact_id = listed.json()["contacts"][0]["id"]
    one = ghl_ro.http.get(f"/contacts/{contact_id}")
    assert one.status_code == 200
    check_ghl(one, "contacts.json")
    with_notes = next(n["contactId"] for _, n in ghl_ro.coll("notes").iter_from(0))
    notes = ghl_ro.http.get(f"/contacts/{with_notes}/notes")
    assert notes.status_code == 200 and notes.json()["notes"]
    check_ghl(notes, "contacts.json")


def test_search_results_are_spec_contacts(ghl_ro: GhlClient) -> None:
    response = ghl_ro.search(pageLimit=100)
    assert response.status_code == 200
    schema = {**ghl_spec("contacts.json"), "$ref": "#/components/schemas/GetContectByIdSchema"}
    validator = OAS30Validator(schema)
    for contact in response.json()["contacts"]:
        validator.validate(contact)


def test_opportunity_reads_match_spec(ghl_ro: GhlClient) -> None:
    search = ghl_ro.http.get(
        "/opportunities/search", params={"location_id": ghl_ro.location, "limit": 100}
    )
    assert search.status_code == 200
    check_ghl(search, "opportunities.json")
    opp_id = search.json()["opportunities"][0]["id"]
    one = ghl_ro.http.get(f"/opportunities/{opp_id}")
    check_ghl(one, "opportunities.json")
    pipelines = ghl_ro.http.get("/opportunities/pipelines", params={"locationId": ghl_ro.location})
    check_ghl(pipelines, "opportunities.json")
    assert all(s["id"] for p in pipelines.json()["pipelines"] for s in p["stages"])


def test_writes_match_spec(ghl: GhlClient) -> None:
    upsert = ghl.http.post(
        "/contacts/upsert",
        json={"locationId": ghl.location, "firstName": "Ada", "email": "ada@example.com"},
    )
    assert upsert.status_code == 200
    check_ghl(upsert, "contacts.json")
    update = ghl.http.put(f"/contacts/{upsert.json()['contact']['id']}", json={"lastName": "L"})
    assert update.status_code == 200
    check_ghl(update, "contacts.json")
    opp = _first(ghl, "opportunities")
    moved = ghl.http.put(f"/opportunities/{opp['id']}", json={"monetaryValue": 1234.5})
    assert moved.status_code == 200
    check_ghl(moved, "opportunities.json")
    status = ghl.http.put(f"/opportunities/{opp['id']}/status", json={"status": "won"})
    assert status.status_code == 200
    check_ghl(status, "opportunities.json")


LOC = "{loc}"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "file"),
    [
        ("GET", "/contacts/", {"params": {}}, 422, "contacts.json"),
        ("GET", "/contacts/", {"params": {"locationId": LOC, "limit": 500}}, 422, "contacts.json"),
        ("POST", "/contacts/upsert", {"json": {"email": "x@example.com"}}, 422, "contacts.json"),
        (
            "POST",
            "/contacts/upsert",
            {"json": {"locationId": LOC, "nope": 1}},
            422,
            "contacts.json",
        ),
        ("PUT", "/contacts/{contact}", {"json": {"email": "not-an-email"}}, 422, "contacts.json"),
        ("GET", "/contacts/aaaaaaaaaaaaaaaaaaaa", {}, 400, "contacts.json"),
        ("GET", "/opportunities/search", {"params": {}}, 422, "opportunities.json"),
        (
            "GET",
            "/opportunities/search",
            {"params": {"location_id": LOC, "status": "maybe"}},
            422,
            "opportunities.json",
        ),
        ("PUT", "/opportunities/{opp}/status", {"json": {}}, 422, "opportunities.json"),
        ("PUT", "/opportunities/{opp}", {"json": {"status": "x"}}, 422, "opportunities.json"),
        ("GET", "/opportunities/pipelines", {"params": {}}, 400, "opportunities.json"),
    ],
)
def test_error_bodies_match_spec(
    ghl: GhlClient, method: str, path: str, kwargs: dict, status: int, file: str
) -> None:
    contact, opp = _first(ghl, "contacts")["id"], _first(ghl, "opportunities")["id"]
    path = path.format(contact=contact, opp=opp)
    for part in ("params", "json"):
        if part in kwargs:
            kwargs = {
                **kwargs,
                part: {k: ghl.location if v == LOC else v for k, v in kwargs[part].items()},
            }
    response = ghl.http.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    check_ghl(response, file)
    body = response.json()
    assert body["statusCode"] == status
    if status == 422:
        assert isinstance(body["message"], list) and body["error"] == "Unprocessable Entity"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Version": ""}, "version header is invalid"),
        ({"Version": "2020-01-01"}, "version header is invalid"),
        ({"Authorization": "Bearer wrong"}, "Invalid token: access token is invalid"),
        ({"Authorization": ""}, "Invalid token: access token is invalid"),
    ],
)
def test_unauthorized_bodies_match_spec(ghl_ro: GhlClient, headers: dict, message: str) -> None:
    response = ghl_ro.http.get(
        "/contacts/", params={"locationId": ghl_ro.location}, headers=headers
    )
    assert response.status_code == 401
    check_ghl(response, "contacts.json")
    assert response.json() == {"statusCode": 401, "message": message, "error": "Unauthorized"}


def test_checker_rejects_a_wrong_shape(ghl_ro: GhlClient) -> None:
    """The validator is live: a response whose contact has a numeric email fails."""
    response = ghl_ro.http.get("/contacts/", params={"locationId": ghl_ro.location, "limit": 1})
    broken = response.json()
    broken["contacts"][0]["email"] = 42
    forged = httpx.Response(200, json=broken, request=response.request)
    with pytest.raises(InvalidData):
        check_ghl(forged, "contacts.json")


def test_custom_field_answers_match_spec(ghl: GhlClient) -> None:
    base = f"/locations/{ghl.location}/customFields"
    listed = ghl.http.get(base, params={"model": "contact"})
    check_ghl(listed, "locations.json")
    created = ghl.http.post(base, json={"name": "ST Open Estimate Total", "dataType": "TEXT"})
    assert created.status_code == 201
    check_ghl(created, "locations.json", request=True)
    one = ghl.http.get(f"{base}/{created.json()['customField']['id']}")
    check_ghl(one, "locations.json")
