"""Determinism, the change feed (iter_from / position_at), writes and advance()."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from decimal import Decimal

import pytest

from lazi.sandbox.world import World
from lazi.sandbox.world.clock import parse_iso, to_ms


def _digest(world: World) -> str:
    h = hashlib.sha256()
    for key in world.collection_keys():
        for pos, rec in world.collection(*key).iter_from(0):
            h.update(json.dumps([str(key), pos, rec], sort_keys=True).encode())
    return h.hexdigest()


def test_same_seed_same_world_and_same_changes() -> None:
    a, b = World(120, seed=5), World(120, seed=5)
    assert _digest(a) == _digest(b)
    assert a.advance(30) == b.advance(30)
    assert _digest(a) == _digest(b)
    assert a.credentials == b.credentials and a.tenants == b.tenants


def test_other_seed_other_world() -> None:
    a, b = World(120, seed=5), World(120, seed=6)
    assert a.tenants != b.tenants
    ca = next(a.collection("servicetitan", "customers", a.tenants[0]).records())
    cb = next(b.collection("servicetitan", "customers", b.tenants[0]).records())
    assert ca["name"] != cb["name"] or ca["address"] != cb["address"]


def test_scopes_and_credentials() -> None:
    w = World(300)
    assert len(w.tenants) >= 2 and all(isinstance(t, int) for t in w.tenants)
    assert all(len(x) == 20 and x.isalnum() for x in w.ghl_locations)
    assert all(x.startswith("ACC") and len(x) == 35 for x in w.callrail_accounts)
    creds = w.credentials
    assert set(creds["servicetitan"]["tenants"]) == set(w.tenants)
    assert set(creds["gohighlevel"]["tokens"]) == set(w.ghl_locations)
    assert creds["callrail"]["api_key"]
    assert len(w.collection_keys()) == 28 * 2 + 7 * 2 + 5 * 2
    total = sum(len(w.collection("servicetitan", "customers", t)) for t in w.tenants)
    assert total == 300
    with pytest.raises(KeyError):
        w.collection("servicetitan", "nope", w.tenants[0])


@pytest.fixture(scope="module")
def advanced() -> World:
    w = World(300, seed=9)
    w.advance(24)
    w.advance(36)
    return w


def test_feed_is_ordered_complete_and_resumable(advanced: World) -> None:
    for key in advanced.collection_keys():
        col = advanced.collection(*key)
        feed = list(col.iter_from(0))
        positions = [p for p, _ in feed]
        assert positions == sorted(set(positions))
        assert len({r["id"] for _, r in feed}) == len(feed) == len(col)
        stamps = [col.modified_ms(col.index_of(r["id"])) for _, r in feed]
        assert stamps == sorted(stamps), key
        for cut in (0, len(feed) // 3, len(feed) - 1):
            assert list(col.iter_from(feed[cut][0] + 1)) == feed[cut + 1 :]
            ts = stamps[cut]
            at = col.position_at(
                advanced.now.__class__.fromtimestamp(ts / 1000, advanced.now.tzinfo)
            )
            assert all(s < ts for (p, _), s in zip(feed, stamps, strict=True) if p < at)
            assert all(s >= ts for (p, _), s in zip(feed, stamps, strict=True) if p >= at)
        for _, rec in feed[:: max(1, len(feed) // 7)]:
            assert col.get(rec["id"]) == rec


def test_modified_fields_match_feed_order(advanced: World) -> None:
    field = {"servicetitan": "modifiedOn"}
    ghl = {"contacts": "dateUpdated", "opportunities": "updatedAt"}  # notes: no such field
    for key in advanced.collection_keys():
        name = field.get(key[0]) or (ghl.get(key[1]) if key[0] == "gohighlevel" else None)
        if not name:
            continue
        col = advanced.collection(*key)
        for rec in col.records():
            assert parse_iso(rec[name]) == col.modified_ms(col.index_of(rec["id"])), key


def test_id_and_time_formats(advanced: World) -> None:
    t = advanced.tenants[0]
    inv = next(advanced.collection("servicetitan", "invoices", t).records())
    assert isinstance(inv["id"], int) and inv["modifiedOn"].endswith("Z")
    assert all(isinstance(inv[k], str) for k in ("total", "balance", "subTotal", "salesTax"))
    Decimal(inv["total"])
    call = next(advanced.collection("callrail", "calls", advanced.callrail_accounts[0]).records())
    assert call["id"].startswith("CAL") and len(call["id"]) == 35
    assert call["start_time"][-6] in "+-" and call["customer_phone_number"].startswith("+1")


def test_inactive_and_deleted_records_exist_from_the_start() -> None:
    w = World(1000, seed=2)
    t = w.tenants[0]
    customers = w.collection("servicetitan", "customers", t)
    recs = list(customers.records())
    deleted = [r for r in recs if customers.is_deleted(r)]
    inactive = [r for r in recs if not r["active"] and not customers.is_deleted(r)]
    assert deleted and inactive and all(not r["active"] for r in deleted)
    for name in ("customer_contacts", "technicians"):
        assert any(not r["active"] for r in w.collection("servicetitan", name, t).records())
    contacts = w.collection("gohighlevel", "contacts", w.ghl_locations[0])
    assert any(contacts.is_deleted(r) for r in contacts.records())


def test_patch_insert_delete() -> None:
    w = World(120, seed=4)
    t = w.tenants[0]
    col = w.collection("servicetitan", "customers", t)
    end, n_before = col.end_position(), len(col)
    first = next(col.records())
    before = w.now
    out = col.patch(first["id"], {"name": "Renamed", "address": {"city": "Lockhart"}})
    assert out["name"] == "Renamed" and out["address"]["city"] == "Lockhart"
    assert out["address"]["street"] == first["address"]["street"]
    assert w.now > before and parse_iso(out["modifiedOn"]) == to_ms(w.now)
    tail = list(col.iter_from(end))
    assert [r["id"] for _, r in tail] == [first["id"]]
    assert sum(1 for r in col.records() if r["id"] == first["id"]) == 1
    new = col.insert({"name": "New Person", "type": "Residential"})
    assert isinstance(new["id"], int) and col.get(new["id"])["name"] == "New Person"
    assert len(col) == n_before + 1
    col.delete(new["id"])
    assert col.get(new["id"])["active"] is False and col.is_deleted(col.get(new["id"]))
    ghl = w.collection("gohighlevel", "contacts", w.ghl_locations[0])
    made = ghl.insert({"firstName": "Ann", "lastName": "Lee", "phone": "+15125550199"})
    assert len(made["id"]) == 20 and made["locationId"] == w.ghl_locations[0]
    ghl.delete(made["id"])
    assert ghl.is_deleted(ghl.get(made["id"]))
    cr = w.collection("callrail", "calls", w.callrail_accounts[0])
    call = next(cr.records())
    assert cr.patch(call["id"], {"tags": ["booked"], "value": "120.00"})["tags"] == ["booked"]
    with pytest.raises(KeyError):
        col.patch(999, {})


def test_advance_moves_clock_and_changes_every_vendor() -> None:
    w = World(300, seed=8)
    start = w.now
    ends = {k: w.collection(*k).end_position() for k in w.collection_keys()}
    counts = w.advance(24)
    assert w.now == start + timedelta(hours=24)
    names = {k.split("/")[1] for k in counts}
    assert {
        "customers",
        "jobs",
        "invoices",
        "payments",
        "contacts",
        "opportunities",
        "calls",
        "appointments",
    } <= names
    vendors = {k.split("/")[0] for k in counts}
    assert vendors == {"servicetitan", "gohighlevel", "callrail"}
    for key, end in ends.items():
        col = w.collection(*key)
        changed = list(col.iter_from(end))
        assert len(changed) <= counts.get("/".join(map(str, key)), 0)
        for _, rec in changed:
            ms = col.modified_ms(col.index_of(rec["id"]))
            assert to_ms(start) < ms <= to_ms(w.now)


def test_late_edits_and_late_payments() -> None:
    w = World(300, seed=12)
    t = w.tenants[0]
    invoices = w.collection("servicetitan", "invoices", t)
    unpaid = {
        r["id"]
        for r in invoices.records()
        if r["active"] and Decimal(r["balance"]) > 0 and Decimal(r["total"]) > 0
    }
    payments = w.collection("servicetitan", "payments", t)
    pay_end = payments.end_position()
    acc = w.callrail_accounts[0]
    calls = w.collection("callrail", "calls", acc)
    call_end = calls.end_position()
    for _ in range(4):
        w.advance(24)
    paid_late = {a["appliedTo"] for _, p in payments.iter_from(pay_end) for a in p["appliedTo"]}
    assert paid_late & unpaid, "an invoice that was unpaid at the start got paid"
    for inv_id in paid_late & unpaid:
        assert invoices.get(inv_id)["balance"] == "0.00"
    edited = [c for _, c in calls.iter_from(call_end) if c["tags"]]
    late = [
        c
        for c in edited
        if to_ms(w.now) - parse_iso(c["start_time"]) > timedelta(days=1).total_seconds() * 1000
    ]
    assert late, "some CallRail call got tags/value days after it happened"
