"""Referential integrity: every foreign key in every served record points at a record
that exists (GHL/CR: one that is not deleted), before and after advance()."""

from __future__ import annotations

import pytest

from lazi.sandbox.world import World
from lazi.sandbox.world.clock import parse_iso, to_ms


def records(world: World, vendor: str, name: str, scope: object, live: bool = False) -> list[dict]:
    return list(world.collection(vendor, name, scope).records(live))


def ids(world: World, vendor: str, name: str, scope: object, live: bool = False) -> set:
    return {r["id"] for r in world.collection(vendor, name, scope).records(live)}


@pytest.fixture(scope="module", params=[(300, 0), (300, 3), (12, 2)], ids=str)
def world(request: pytest.FixtureRequest) -> World:
    scale, days = request.param
    w = World(scale, seed=3)
    for _ in range(days):
        w.advance(24)
    return w


def _st(world: World, tenant: int, name: str) -> list[dict]:
    return records(world, "servicetitan", name, tenant)


def _ids(world: World, tenant: int, name: str) -> set[int]:
    return ids(world, "servicetitan", name, tenant)


def test_servicetitan_foreign_keys(world: World) -> None:
    for t in world.tenants:
        cust, locs = _ids(world, t, "customers"), _ids(world, t, "locations")
        jobs, appts = _ids(world, t, "jobs"), _ids(world, t, "appointments")
        techs, emps = _ids(world, t, "technicians"), _ids(world, t, "employees")
        bus, zones = _ids(world, t, "business_units"), _ids(world, t, "zones")
        camps, calls = _ids(world, t, "campaigns"), _ids(world, t, "calls")
        invs, ests = _ids(world, t, "invoices"), _ids(world, t, "estimates")
        jtypes, reasons = _ids(world, t, "job_types"), _ids(world, t, "call_reasons")
        skus = (
            _ids(world, t, "pricebook_services")
            | _ids(world, t, "pricebook_materials")
            | _ids(world, t, "pricebook_equipment")
        )
        equip = _ids(world, t, "installed_equipment")
        loc_owner = {r["id"]: r["customerId"] for r in _st(world, t, "locations")}
        assert set(loc_owner.values()) <= cust
        for r in _st(world, t, "customer_contacts"):
            assert r["customerId"] in cust
        for r in _st(world, t, "location_contacts"):
            assert r["locationId"] in locs
        for r in _st(world, t, "locations"):
            assert r["zoneId"] is None or r["zoneId"] in zones
        job_of_appt = {r["id"]: r["jobId"] for r in _st(world, t, "appointments")}
        job_customer = {}
        for r in _st(world, t, "jobs"):
            job_customer[r["id"]] = r["customerId"]
            assert r["customerId"] in cust and loc_owner[r["locationId"]] == r["customerId"]
            assert r["businessUnitId"] in bus and r["jobTypeId"] in jtypes
            assert r["campaignId"] in camps and r["invoiceId"] in invs
            assert job_of_appt[r["firstAppointmentId"]] == r["id"]
            assert job_of_appt[r["lastAppointmentId"]] == r["id"]
            assert r["leadCallId"] is None or r["leadCallId"] in calls
            assert r["soldById"] is None or r["soldById"] in techs
            assert set(r["estimateIds"]) <= ests and r["createdById"] in emps
        for r in _st(world, t, "appointments"):
            assert job_customer[r["jobId"]] == r["customerId"]
        for r in _st(world, t, "appointment_assignments"):
            assert r["technicianId"] in techs and r["assignedById"] in emps
            assert job_of_appt[r["appointmentId"]] == r["jobId"]
        for r in _st(world, t, "estimates"):
            assert job_customer[r["jobId"]] == r["customerId"] and r["locationId"] in locs
            assert r["soldBy"] is None or r["soldBy"] in techs
        item_ids = set()
        for r in _st(world, t, "invoices"):
            assert job_customer[r["job"]["id"]] == r["customer"]["id"]
            assert r["location"]["id"] in locs and r["businessUnit"]["id"] in bus
            for it in r["items"]:
                item_ids.add(it["id"])
                assert it["skuId"] in skus
                assert it["technicianId"] is None or it["technicianId"] in techs
                assert it["installedEquipmentId"] is None or it["installedEquipmentId"] in equip
        for r in _st(world, t, "payments"):
            assert r["customer"]["id"] in cust and r["businessUnit"]["id"] in bus
            assert all(a["appliedTo"] in invs for a in r["appliedTo"])
        for r in _st(world, t, "installed_equipment"):
            assert r["locationId"] in locs and r["customerId"] in cust
            assert r["invoiceItemId"] in item_ids and r["equipmentId"] in skus
        for r in _st(world, t, "calls"):
            assert r["customer"] is None or r["customer"]["id"] in cust
            assert r["location"] is None or r["location"]["id"] in locs
            assert r["campaign"]["id"] in camps and r["reason"]["id"] in reasons
            assert r["job"] is None or r["job"]["id"] in jobs
            assert r["agent"]["id"] in emps
        for r in _st(world, t, "technicians"):
            assert r["businessUnitId"] in bus and set(r["zoneIds"]) <= zones
        for r in _st(world, t, "zones"):
            assert set(r["technicians"]) <= techs and set(r["businessUnits"]) <= bus
        for r in _st(world, t, "job_types"):
            assert set(r["businessUnitIds"]) <= bus
        assert appts and jobs


def test_gohighlevel_foreign_keys(world: World) -> None:
    for loc in world.ghl_locations:
        contacts = ids(world, "gohighlevel", "contacts", loc, live=True)
        pipes = {
            p["id"]: {s["id"] for s in p["stages"]}
            for p in records(world, "gohighlevel", "pipelines", loc)
        }
        for o in records(world, "gohighlevel", "opportunities", loc, live=True):
            assert o["contactId"] in contacts and o["locationId"] == loc
            assert o["pipelineStageId"] in pipes[o["pipelineId"]]
        for n in records(world, "gohighlevel", "notes", loc, live=True):
            assert n["contactId"] in contacts
        for c in records(world, "gohighlevel", "contacts", loc):
            assert c["locationId"] == loc and len(c["id"]) == 20 and c["id"].isalnum()


def test_callrail_foreign_keys(world: World) -> None:
    for acc in world.callrail_accounts:
        companies = ids(world, "callrail", "companies", acc)
        trackers = {t["id"]: t for t in records(world, "callrail", "trackers", acc)}
        assert all(t["company"]["id"] in companies for t in trackers.values())
        for c in records(world, "callrail", "calls", acc):
            assert c["company_id"] in companies
            assert c["tracking_phone_number"] in trackers[c["tracker_id"]]["tracking_numbers"]
            assert c["id"].startswith("CAL") and len(c["id"]) == 35


def test_campaign_numbers_are_callrail_trackers(world: World) -> None:
    for t, acc in zip(world.tenants, world.callrail_accounts, strict=True):
        numbers = {
            n for tr in records(world, "callrail", "trackers", acc) for n in tr["tracking_numbers"]
        }
        listed = {f"+1{n}" for c in _st(world, t, "campaigns") for n in c["campaignPhoneNumbers"]}
        assert listed and listed <= numbers


def test_booked_jobs_have_callrail_call_from_same_phone_just_before(world: World) -> None:
    for t, acc in zip(world.tenants, world.callrail_accounts, strict=True):
        by_phone: dict[str, list[int]] = {}
        for c in records(world, "callrail", "calls", acc):
            by_phone.setdefault(c["customer_phone_number"], []).append(parse_iso(c["start_time"]))
        tracked = {c["id"] for c in _st(world, t, "campaigns") if c["campaignPhoneNumbers"]}
        calls = {c["id"]: c for c in _st(world, t, "calls")}
        matched = 0
        for job in _st(world, t, "jobs"):
            if job["leadCallId"] is None or job["campaignId"] not in tracked:
                continue
            phone = "+1" + calls[job["leadCallId"]]["from"]
            created = parse_iso(job["createdOn"])
            starts = by_phone.get(phone, [])
            assert any(0 < created - s <= 30 * 60_000 for s in starts), job["id"]
            matched += 1
        assert matched > 20 or len(world.collection("servicetitan", "jobs", t)) < 100


def test_timestamps_precede_the_clock_and_follow_creation(world: World) -> None:
    now = to_ms(world.now)
    for key in world.collection_keys():
        if key[0] != "servicetitan":
            continue
        for r in records(world, *key):
            assert parse_iso(r["createdOn"]) <= parse_iso(r["modifiedOn"]) <= now, (key, r["id"])
    for t in world.tenants:
        created = {r["id"]: parse_iso(r["createdOn"]) for r in _st(world, t, "customers")}
        for job in _st(world, t, "jobs"):
            assert created[job["customerId"]] < parse_iso(job["createdOn"])
