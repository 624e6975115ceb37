"""Writes: contact upsert (matching by email/phone under the location's duplicate settings),
PUT contact, POST contact, PUT opportunity (+ status); each visible in reads and logged."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import GhlClient

# Fixtures live in the shared module; binding them here lets pytest find them.
ghl = fx.ghl


def _upsert(ghl: GhlClient, **fields: Any) -> httpx.Response:
    return ghl.http.post("/contacts/upsert", json={"locationId": ghl.location, **fields})


def _settings(ghl: GhlClient, **settings: Any) -> None:
    body = {"locationId": ghl.location, **settings}
    assert ghl.http.post("/_sandbox/settings", json=body).status_code == 200


def _live(ghl: GhlClient) -> list[dict]:
    coll = ghl.contacts()
    return [r for _, r in coll.iter_from(0) if not coll.is_deleted(r)]


def test_upsert_creates_then_matches_by_email(ghl: GhlClient) -> None:
    count = len(_live(ghl))
    created = _upsert(ghl, firstName="Rosa", lastName="Diaz", email="Rosa.Diaz@example.com")
    assert created.status_code == 200 and created.json()["new"] is True
    contact = created.json()["contact"]
    assert contact["name"] == "Rosa Diaz" and contact["emailLowerCase"] == "rosa.diaz@example.com"
    assert contact["dateAdded"] and contact["dateUpdated"] and "traceId" in created.json()
    again = _upsert(ghl, email="rosa.diaz@EXAMPLE.com", phone="512-555-0199", tags=["vip"])
    assert again.json()["new"] is False and again.json()["contact"]["id"] == contact["id"]
    assert again.json()["contact"]["phone"] == "+15125550199"
    assert len(_live(ghl)) == count + 1
    fetched = ghl.http.get(f"/contacts/{contact['id']}").json()["contact"]
    assert fetched["tags"] == ["vip"] and fetched["phone"] == "+15125550199"
    writes = ghl.http.get("/_sandbox/writes").json()
    assert [w["path"] for w in writes] == ["/contacts/upsert", "/contacts/upsert"]
    assert writes[1]["body"]["tags"] == ["vip"] and writes[1]["status"] == 200


def test_upsert_matches_existing_world_contact_by_phone_in_any_format(ghl: GhlClient) -> None:
    target = next(c for c in _live(ghl) if c.get("phone") and not c.get("email"))
    digits = "".join(ch for ch in target["phone"] if ch.isdigit())[-10:]
    response = _upsert(ghl, phone=f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", city="Austin")
    assert response.json()["new"] is False
    assert response.json()["contact"]["id"] == target["id"]
    assert ghl.contacts().get(target["id"])["city"] == "Austin"


def test_upsert_priority_follows_location_settings(ghl: GhlClient) -> None:
    a = _upsert(ghl, email="first@example.com").json()["contact"]["id"]
    b = _upsert(ghl, phone="+15125550111").json()["contact"]["id"]
    both = _upsert(ghl, email="first@example.com", phone="+1 512 555 0111", firstName="X")
    assert both.json()["contact"]["id"] == a
    # The phone belongs to b, so a does not take it (that would create a duplicate).
    assert ghl.contacts().get(a).get("phone") is None
    _settings(ghl, duplicate_fields=["phone", "email"])
    swapped = _upsert(ghl, email="first@example.com", phone="5125550111", firstName="Y")
    assert swapped.json()["contact"]["id"] == b
    assert ghl.contacts().get(b).get("email") is None


def test_upsert_can_create_duplicates_only_when_the_location_allows(ghl: GhlClient) -> None:
    original = _upsert(ghl, email="dup@example.com").json()["contact"]["id"]
    ignored = _upsert(ghl, email="dup@example.com", createNewIfDuplicateAllowed=True)
    assert ignored.json()["new"] is False and ignored.json()["contact"]["id"] == original
    _settings(ghl, allow_duplicate_contact=True)
    fresh = _upsert(ghl, email="dup@example.com", createNewIfDuplicateAllowed=True)
    assert fresh.json()["new"] is True and fresh.json()["contact"]["id"] != original


def test_create_refuses_duplicates_with_ghl_error(ghl: GhlClient) -> None:
    existing = next(c for c in _live(ghl) if c.get("email"))
    response = ghl.http.post(
        "/contacts/", json={"locationId": ghl.location, "email": existing["email"].upper()}
    )
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "message": "This location does not allow duplicated contacts.",
        "meta": {
            "contactId": existing["id"],
            "matchingField": "email",
            "contactName": existing["name"],
        },
    }
    assert ghl.http.get("/_sandbox/writes").json() == []
    created = ghl.http.post("/contacts/", json={"locationId": ghl.location, "email": "n@ex.com"})
    assert created.status_code == 201


def test_put_contact_updates_reads_and_search_order(ghl: GhlClient) -> None:
    contact = _live(ghl)[0]
    response = ghl.http.put(
        f"/contacts/{contact['id']}",
        json={
            "firstName": "Zed",
            "tags": ["reactivated"],
            "customFields": [{"id": "cf1", "field_value": "gold"}],
        },
    )
    assert response.status_code == 200 and response.json()["succeded"] is True
    updated = response.json()["contact"]
    assert updated["firstNameLowerCase"] == "zed" and updated["name"].startswith("Zed ")
    assert {"id": "cf1", "value": "gold"} in updated["customFields"]
    assert updated["dateUpdated"] > contact["dateUpdated"]
    newest = ghl.search(pageLimit=1, sort=[{"field": "dateUpdated", "direction": "desc"}])
    assert newest.json()["contacts"][0]["id"] == contact["id"]


def test_put_contact_rejects_unknown_properties(ghl: GhlClient) -> None:
    contact = _live(ghl)[0]
    response = ghl.http.put(f"/contacts/{contact['id']}", json={"locationId": "x", "foo": 1})
    assert response.status_code == 422
    assert response.json()["message"] == [
        "property locationId should not exist",
        "property foo should not exist",
    ]
    assert ghl.contacts().get(contact["id"]) == contact


def _opportunity(ghl: GhlClient, status: str = "open") -> dict:
    return next(o for _, o in ghl.coll("opportunities").iter_from(0) if o["status"] == status)


def test_opportunity_stage_and_status_changes(ghl: GhlClient) -> None:
    opp = _opportunity(ghl)
    pipeline = next(
        p for _, p in ghl.coll("pipelines").iter_from(0) if p["id"] == opp["pipelineId"]
    )
    stage = next(s["id"] for s in pipeline["stages"] if s["id"] != opp["pipelineStageId"])
    moved = ghl.http.put(
        f"/opportunities/{opp['id']}", json={"pipelineStageId": stage, "monetaryValue": 999}
    )
    assert moved.status_code == 200
    assert moved.json()["opportunity"]["pipelineStageId"] == stage
    assert moved.json()["opportunity"]["lastStageChangeAt"] > opp["lastStageChangeAt"]
    won = ghl.http.put(f"/opportunities/{opp['id']}/status", json={"status": "won"})
    assert won.json() == {"succeded": True}
    found = ghl.http.get(
        "/opportunities/search",
        params={"location_id": ghl.location, "id": opp["id"], "status": "won"},
    ).json()["opportunities"]
    assert [o["id"] for o in found] == [opp["id"]]
    assert found[0]["monetaryValue"] == 999 and found[0]["updatedAt"] > opp["updatedAt"]
    paths = [w["path"] for w in ghl.http.get("/_sandbox/writes").json()]
    assert paths == [f"/opportunities/{opp['id']}", f"/opportunities/{opp['id']}/status"]


def test_opportunity_update_rejects_unknown_stage(ghl: GhlClient) -> None:
    opp = _opportunity(ghl)
    response = ghl.http.put(f"/opportunities/{opp['id']}", json={"pipelineStageId": "nope"})
    assert response.status_code == 400
    assert ghl.http.get("/_sandbox/writes").json() == []


def test_advance_through_control_endpoint(ghl: GhlClient) -> None:
    before = ghl.world.now
    counts = ghl.http.post("/_sandbox/advance", params={"hours": 24}).json()
    assert ghl.world.now > before and isinstance(counts, dict)


def test_custom_fields_are_listed_created_once_and_written_by_key(ghl: GhlClient) -> None:
    base = f"/locations/{ghl.location}/customFields"
    listed = ghl.http.get(base, params={"model": "contact"})
    assert listed.status_code == 200
    keys = {f["fieldKey"] for f in listed.json()["customFields"]}
    assert "contact.servicetitan_customer_id" in keys  # what the world's contacts carry
    created = ghl.http.post(base, json={"name": "ST Lifetime Value", "dataType": "TEXT"})
    assert created.status_code == 201
    field = created.json()["customField"]
    assert field["fieldKey"] == "contact.st_lifetime_value" and field["model"] == "contact"
    again = ghl.http.post(base, json={"name": "ST lifetime value", "dataType": "TEXT"})
    assert again.status_code == 400 and "already exists" in again.json()["message"]
    bad = ghl.http.post(base, json={"name": "x", "dataType": "TEXT", "model": "deal"})
    assert bad.status_code == 422
    elsewhere = ghl.http.get("/locations/someoneelse/customFields")
    assert elsewhere.status_code == 403
    contact = _live(ghl)[0]
    written = ghl.http.put(
        f"/contacts/{contact['id']}",
        json={"customFields": [{"key": "contact.st_lifetime_value", "field_value": "12.50"}]},
    )
    assert written.status_code == 200
    assert {"id": field["id"], "value": "12.50"} in written.json()["contact"]["customFields"]
    assert [w["path"] for w in ghl.app.state.write_log.entries()[-2:]] == [
        base,
        f"/contacts/{contact['id']}",
    ]
