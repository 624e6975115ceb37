"""Truth agrees with the records served, before and after changes, and identity across
vendors is recoverable from the (messy) data."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from lazi.sandbox.world import World
from lazi.sandbox.world.people import digits


@pytest.fixture(scope="module")
def world() -> World:
    w = World(400, seed=21)
    w.advance(48)
    return w


def _st(world: World, tenant: int, name: str) -> list[dict]:
    return list(world.collection("servicetitan", name, tenant).records(live=True))


def test_money_truth_matches_served_records(world: World) -> None:
    truth = world.truth
    for t in world.tenants:
        invoices = [i for i in _st(world, t, "invoices") if i["active"]]
        for inv in invoices:
            paid = truth.invoice_paid_amount(t, inv["id"])
            assert paid == Decimal(inv["total"]) - Decimal(inv["balance"]), inv["id"]
        # deleted customers keep their invoices, so their value still counts
        customers = list(world.collection("servicetitan", "customers", t).records())
        ltv = sum((truth.customer_lifetime_value(t, c["id"]) for c in customers), Decimal(0))
        assert ltv == sum((Decimal(i["total"]) for i in invoices), Decimal(0))
        assert ltv > 0
        jobs = [j for j in _st(world, t, "jobs") if j["active"] and j["jobStatus"] != "Canceled"]
        assert sum(truth.customer_job_count(t, c["id"]) for c in customers) == len(jobs)
        by_job = {i["job"]["id"]: Decimal(i["total"]) for i in invoices}
        completed = {j["id"] for j in jobs if j["jobStatus"] == "Completed"}
        techs = defaultdict(set)
        for a in _st(world, t, "appointment_assignments"):
            techs[a["jobId"]].add(a["technicianId"])
        expected = Counter()
        for job_id in completed:
            for tech in techs[job_id]:
                expected[tech] += by_job.get(job_id, 0)
        for tech in _st(world, t, "technicians"):
            assert truth.technician_revenue(t, tech["id"]) == expected.get(tech["id"], 0)


def test_truth_follows_writes() -> None:
    w = World(150, seed=2)
    t = w.tenants[0]
    invoices = w.collection("servicetitan", "invoices", t)
    inv = next(i for i in invoices.records() if i["active"] and Decimal(i["total"]) > 0)
    cust = inv["customer"]["id"]
    before = w.truth.customer_lifetime_value(t, cust)
    invoices.patch(inv["id"], {"active": False})
    assert w.truth.customer_lifetime_value(t, cust) == before - Decimal(inv["total"])


def test_ghl_contacts_resolve_to_st_customers_despite_mess(world: World) -> None:
    truth = world.truth
    for t, loc in zip(world.tenants, world.ghl_locations, strict=True):
        st_person = {
            truth.st_customer_person(t, c["id"]): c["id"]
            for c in world.collection("servicetitan", "customers", t).records()
        }
        assert len(st_person) == len(world.collection("servicetitan", "customers", t))
        contacts = list(world.collection("gohighlevel", "contacts", loc).records(live=True))
        persons = [truth.ghl_contact_person(loc, c["id"]) for c in contacts]
        assert all(persons)
        linked = [p for p in persons if p in st_person]
        assert len(linked) / len(contacts) > 0.7  # most contacts are ST customers
        assert len(linked) < len(contacts)  # and some are leads only GHL knows
        assert any(n > 1 for n in Counter(persons).values())  # duplicates
        for c, p in zip(contacts, persons, strict=True):
            st_ids = [f["value"] for f in c["customFields"]]
            if st_ids and p in st_person:
                assert str(st_person[p]) == st_ids[0]
        phones = [c["phone"] for c in contacts if "phone" in c]
        assert any(not ph.startswith("+1") for ph in phones)
        assert all(digits(ph) for ph in phones)
        assert any("email" not in c for c in contacts)
        names = {c["id"]: c["name"] for c in contacts}
        assert any(n != n.title() for n in names.values())


def test_callrail_calls_resolve_to_people_or_strangers(world: World) -> None:
    truth = world.truth
    for t, acc in zip(world.tenants, world.callrail_accounts, strict=True):
        st_people = {
            truth.st_customer_person(t, c["id"])
            for c in world.collection("servicetitan", "customers", t).records()
        }
        calls = list(world.collection("callrail", "calls", acc).records())
        persons = [truth.callrail_call_person(acc, c["id"]) for c in calls]
        assert any(p is None for p in persons)
        known = [p for p in persons if p is not None]
        assert known and set(known) <= st_people
        booked = [c for c in calls if c["first_call"]]  # the calls that booked a job
        assert booked and all(truth.callrail_call_person(acc, c["id"]) for c in booked)
    assert truth.callrail_call_person(world.callrail_accounts[0], "CAL" + "0" * 32) is None
    assert truth.ghl_contact_person(world.ghl_locations[0], "x" * 20) is None
