"""Reverse-ETL writes: they change what reads and exports return and land in the write log."""

from __future__ import annotations

from typing import Any

from lazi.sandbox.servicetitan.handlers import SCHEMAS
from tests.sandbox.conftest import STClient

APP_A = "3f1c1f4e-8d4b-4d71-9d0e-2f9a4c0b7e11"
APP_B = "9b2e7c55-0a61-4f4e-8c35-6d0f3e2a1b77"


def _active_id(st: STClient, collection: str) -> int:
    coll = st.coll(collection)
    return next(
        r["id"] for _, r in coll.iter_from(0) if r.get("active", True) and not coll.is_deleted(r)
    )


def _external(guid: str, mode: str, **pairs: str) -> dict[str, Any]:
    return {
        "applicationGuid": guid,
        "patchMode": mode,
        "externalData": [{"key": k, "value": v} for k, v in pairs.items()],
    }


def test_patch_customer_shows_in_get_list_export_and_write_log(st: STClient) -> None:
    customer = _active_id(st, "customers")
    _, token = st.export_all("crm/export/customers")
    patch = {"name": "Acme Plumbing Co", "doNotMail": True, "address": None}
    response = st.send("PATCH", f"crm/customers/{customer}", patch)
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Plumbing Co" and response.json()["doNotMail"] is True
    assert st.get(f"crm/customers/{customer}").json()["name"] == "Acme Plumbing Co"
    changed, _ = st.export_all("crm/export/customers", start=token)
    assert [r["id"] for r in changed] == [customer]
    log = st.http.get("/_sandbox/writes").json()
    assert [(e["method"], e["path"], e["body"], e["status"]) for e in log] == [
        ("PATCH", st.path(f"crm/customers/{customer}"), patch, 200)
    ]


def test_property_names_are_case_insensitive_and_numbers_may_be_strings(st: STClient) -> None:
    material = _active_id(st, "pricebook_materials")
    response = st.send(
        "PATCH", f"pricebook/materials/{material}", {"PRICE": "19.5", "Active": True}
    )
    assert response.status_code == 200 and response.json()["price"] == 19.5


def test_rejected_writes_are_not_logged_and_change_nothing(st: STClient) -> None:
    customer = _active_id(st, "customers")
    before = st.get(f"crm/customers/{customer}").json()
    bad = st.send("PATCH", f"crm/customers/{customer}", {"type": "Spaceship", "name": "x"})
    assert bad.status_code == 400 and "$.type" in bad.json()["errors"]
    assert st.send("PATCH", "crm/customers/1", {"name": "x"}).status_code == 404
    assert (
        st.send("PATCH", f"crm/customers/{customer}", {"address": {"street": "1 Main"}}).status_code
        == 400
    )
    as_form = st.http.patch(
        st.path(f"crm/customers/{customer}"), data={"name": "x"}, headers=st.headers()
    )
    assert as_form.status_code == 415
    assert st.get(f"crm/customers/{customer}").json() == before
    assert st.http.get("/_sandbox/writes").json() == []


def test_external_data_merge_replace_lookup_and_app_isolation(st: STClient) -> None:
    customer = _active_id(st, "customers")
    path = f"crm/customers/{customer}"
    st.send("PATCH", path, {"externalData": _external(APP_A, "Replace", crm_id="C-1", tier="gold")})
    merged = st.send(
        "PATCH", path, {"externalData": _external(APP_A, "Merge", tier="platinum")}
    ).json()
    assert merged["externalData"] == [
        {"key": "crm_id", "value": "C-1"},
        {"key": "tier", "value": "platinum"},
    ]
    st.send("PATCH", path, {"externalData": _external(APP_B, "Replace", crm_id="other")})

    def lookup(guid: str, value: str) -> list[dict]:
        params = {
            "externalDataApplicationGuid": guid,
            "externalDataKey": "crm_id",
            "externalDataValues": f"{value},nope",
            "active": "Any",
        }
        return st.get("crm/customers", params).json()["data"]

    found = lookup(APP_A, "C-1")
    assert [r["id"] for r in found] == [customer]
    assert found[0]["externalData"] == merged["externalData"]  # only app A's keys
    assert lookup(APP_B, "C-1") == []
    assert [r["externalData"] for r in lookup(APP_B, "other")] == [
        [{"key": "crm_id", "value": "other"}]
    ]
    replaced = st.send(
        "PATCH", path, {"externalData": _external(APP_A, "Replace", tier="silver")}
    ).json()
    assert replaced["externalData"] == [{"key": "tier", "value": "silver"}]
    assert lookup(APP_A, "C-1") == []
    assert st.get("crm/customers", {"externalDataKey": "crm_id"}).status_code == 400


def test_location_and_job_patches(st: STClient) -> None:
    location = _active_id(st, "locations")
    job = _active_id(st, "jobs")
    assert st.send("PATCH", f"crm/locations/{location}", {"customerId": 1}).status_code == 409
    renamed = st.send("PATCH", f"crm/locations/{location}", {"name": "Rental unit"}).json()
    assert st.get(f"crm/locations/{location}").json()["name"] == renamed["name"] == "Rental unit"
    field_type = next(r["id"] for _, r in st.coll("job_custom_field_types").iter_from(0))
    patched = st.send(
        "PATCH",
        f"jpm/jobs/{job}",
        {"priority": "Urgent", "customFields": [{"typeId": field_type, "value": "P-77"}]},
    ).json()
    assert patched["priority"] == "Urgent"
    assert {"typeId": field_type, "value": "P-77"}.items() <= next(
        f for f in st.get(f"jpm/jobs/{job}").json()["customFields"] if f["typeId"] == field_type
    ).items()


def test_notes_are_readable_after_posting(st: STClient) -> None:
    customer = _active_id(st, "customers")
    job = _active_id(st, "jobs")
    note = st.send(
        "POST", f"crm/customers/{customer}/notes", {"text": "VIP", "pinToTop": True}
    ).json()
    assert note["isPinned"] is True and note["text"] == "VIP" and "id" in note
    st.send("POST", f"jpm/jobs/{job}/notes", {"text": "parts ordered"})
    assert [n["text"] for n in st.get(f"crm/customers/{customer}/notes").json()["data"]] == ["VIP"]
    old = st.get(f"crm/customers/{customer}/notes", {"modifiedBefore": "2001-01-01"}).json()
    assert old["data"] == []
    job_notes = st.get(f"jpm/jobs/{job}/notes").json()["data"]
    assert [n["text"] for n in job_notes] == ["parts ordered"] and "id" not in job_notes[0]
    assert st.send("POST", f"jpm/jobs/{job}/notes", {"pinToTop": True}).status_code == 400
    assert st.send("POST", f"jpm/jobs/{job}/notes", {"text": ""}).status_code == 400


def test_tags_bulk_and_per_customer(st: STClient) -> None:
    customers = [r["id"] for _, r in st.coll("customers").iter_from(0) if r["active"]][:3]
    tag = _active_id(st, "tag_types")
    assert (
        st.send("PUT", "crm/tags", {"customerIds": customers, "tagTypeIds": [tag]}).status_code
        == 200
    )
    assert all(tag in st.get(f"crm/customers/{c}").json()["tagTypeIds"] for c in customers)
    assert (
        st.send(
            "DELETE", "crm/tags", {"customerIds": customers[:1], "tagTypeIds": [tag]}
        ).status_code
        == 200
    )
    assert tag not in st.get(f"crm/customers/{customers[0]}").json()["tagTypeIds"]
    added = st.send("POST", f"crm/customers/{customers[0]}/tags/{tag}").json()
    assert added == {"customerId": customers[0], "tagTypeIds": [*added["tagTypeIds"][:-1], tag]}
    assert st.send("DELETE", f"crm/customers/{customers[0]}/tags/{tag}").status_code == 200
    assert tag not in st.get(f"crm/customers/{customers[0]}").json()["tagTypeIds"]
    assert st.send("POST", f"crm/customers/{customers[0]}/tags/1").status_code == 404
    assert st.send("PUT", "crm/tags", {"customerIds": [1], "tagTypeIds": [tag]}).status_code == 409


def test_pricebook_item_and_bulk_patches(st: STClient) -> None:
    service = _active_id(st, "pricebook_services")
    equipment = _active_id(st, "pricebook_equipment")
    assert st.send("PATCH", f"pricebook/services/{service}", {"price": 250}).json()["price"] == 250
    item = _bulk_item(st.get(f"pricebook/equipment/{equipment}").json())
    item.update(id=equipment, price=999.0)
    response = st.send("PATCH", "pricebook/pricebook", {"equipment": [item]})
    assert response.status_code == 200, response.text
    assert st.get(f"pricebook/equipment/{equipment}").json()["price"] == 999.0
    unknown = st.send("PATCH", "pricebook/pricebook", {"equipment": [{**item, "id": 1}]})
    assert unknown.status_code == 404


def test_negative_amounts_are_refused_with_validation_errors(st: STClient) -> None:
    """ServiceTitan's validators refuse a negative price or cost: 400, a problem document
    naming each field, nothing changed, nothing in the write log."""
    material = _active_id(st, "pricebook_materials")
    equipment = _active_id(st, "pricebook_equipment")
    before = st.get(f"pricebook/materials/{material}").json()
    equipment_before = st.get(f"pricebook/equipment/{equipment}").json()
    logged = len(st.http.get("/_sandbox/writes").json())
    single = st.send("PATCH", f"pricebook/materials/{material}", {"price": -1, "cost": "-0.5"})
    assert single.status_code == 400
    assert single.json()["errors"] == {
        "Price": ["'Price' must be greater than or equal to '0'."],
        "Cost": ["'Cost' must be greater than or equal to '0'."],
    }
    item = _bulk_item(equipment_before)
    item.update(id=equipment, price=equipment_before["price"] + 1, memberPrice=-2)
    bulk = st.send("PATCH", "pricebook/pricebook", {"equipment": [item]})
    assert bulk.status_code == 400
    assert list(bulk.json()["errors"]) == ["Equipment[0].MemberPrice"]
    assert st.get(f"pricebook/materials/{material}").json() == before
    assert st.get(f"pricebook/equipment/{equipment}").json() == equipment_before
    assert len(st.http.get("/_sandbox/writes").json()) == logged


def _bulk_item(record: dict[str, Any]) -> dict[str, Any]:
    """A bulk-update item: every member the spec requires, taken from the current record
    (response objects carry the request members; extra members are ignored)."""
    schema = SCHEMAS["Pricebook.V2.EquipmentBulkUpdateRequest"]
    return {
        name: record.get(name, "" if schema["p"][name].get("t") == "string" else None)
        for name in schema["r"]
    }
