"""The GoHighLevel source against the stand-in over real HTTP, into a real PostgreSQL.

The stand-in's World is the oracle: after each run, the latest raw version of every record equals
what the API serves now, and records deleted at the vendor carry a tombstone.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from dlt_pipelines.gohighlevel.settings import CONTACTS, OPPORTUNITIES, PIPELINES
from lazi.ingest import run_vendor
from lazi.sandbox.server import Sandbox
from tests.ingest.conftest import duplicate_versions, latest_versions

TABLES = {"contacts": CONTACTS, "opportunities": OPPORTUNITIES, "pipelines": PIPELINES}


def assert_mirrors(sb: Sandbox, url: str) -> dict[str, int]:
    """Raw's latest version per id equals each live stand-in record, deleted ones are tombstoned
    (or were never seen), and no (scope, id, hash) repeats."""
    counts: dict[str, int] = {}
    for location in sb.world.ghl_locations:
        for name, table in TABLES.items():
            collection = sb.world.collection("gohighlevel", name, location)
            live: dict[str, Any] = {}
            deleted: set[str] = set()
            for _, record in collection.iter_from(0):
                if collection.is_deleted(record):
                    deleted.add(record["id"])
                else:
                    live[record["id"]] = record
            raw = latest_versions(url, table.name, "location_id", "ghl_id", location)
            raw_live = {i: data for i, (data, gone) in raw.items() if not gone}
            assert raw_live.keys() == live.keys(), (table.name, location)
            different = [i for i, record in live.items() if raw_live[i] != record]
            assert not different, (table.name, location, different[:3])
            assert set(raw) - set(live) <= deleted, (table.name, location)
            assert duplicate_versions(url, table.name, table.entity_key) == 0
            counts[table.name] = counts.get(table.name, 0) + len(live)
    return counts


def run_requests(url: str, run_id: Any) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            select endpoint, sum(requests_made)::int from sync.inbound_log
            where run_id = %s and endpoint <> '(run)' group by 1
            """,
            (run_id,),
        ).fetchall()
    return dict(rows)


def versions(url: str) -> int:
    with psycopg.connect(url) as conn:
        return sum(
            conn.execute(f"select count(*) from raw.{table.name}").fetchone()[0]
            for table in TABLES.values()
        )


def test_first_incremental_and_idempotent_runs(sandbox: Sandbox, warehouse: str, ghl: str) -> None:
    first = run_vendor("gohighlevel", warehouse)
    counts = assert_mirrors(sandbox, warehouse)
    assert counts["ghl_contacts"] > 100 and counts["ghl_opportunities"] > 30
    assert first.new_versions == sum(counts.values())
    first_requests = run_requests(warehouse, first.run_id)

    changes = sandbox.world.advance(24)
    assert any(key.startswith("gohighlevel/contacts") for key in changes)
    second = run_vendor("gohighlevel", warehouse)
    assert_mirrors(sandbox, warehouse)
    second_requests = run_requests(warehouse, second.run_id)
    # Contacts: only the changed ones plus a small deletion probe, not every page again.
    assert second_requests["contacts/search"] * 2 <= first_requests["contacts/search"]
    assert sum(second_requests.values()) < sum(first_requests.values())

    before = versions(warehouse)
    third = run_vendor("gohighlevel", warehouse)
    assert third.new_versions == 0
    assert versions(warehouse) == before
    assert_mirrors(sandbox, warehouse)


def test_deletions_found_by_reconcile_and_probe(sandbox: Sandbox, warehouse: str, ghl: str) -> None:
    run_vendor("gohighlevel", warehouse)
    location = sandbox.world.ghl_locations[0]
    contacts = sandbox.world.collection("gohighlevel", "contacts", location)
    victims = [r["id"] for _, r in contacts.iter_from(0) if not contacts.is_deleted(r)][5:8]
    for contact_id in victims:
        contacts.delete(contact_id)
    opportunities = sandbox.world.collection("gohighlevel", "opportunities", location)
    doomed = next(r["id"] for _, r in opportunities.iter_from(0))
    opportunities.delete(doomed)

    probed = run_vendor("gohighlevel", warehouse)  # incremental: the count probe finds them
    assert_mirrors(sandbox, warehouse)
    raw = latest_versions(warehouse, "ghl_contacts", "location_id", "ghl_id", location)
    assert all(raw[contact_id][1] for contact_id in victims)
    assert latest_versions(warehouse, "ghl_opportunities", "location_id", "ghl_id", location)[
        doomed
    ][1]
    deleted = {e["table"]: e["deleted_marked"] for e in probed.endpoints if e["scope"] == location}
    assert deleted["ghl_contacts"] == 3 and deleted["ghl_opportunities"] == 1

    full = run_vendor("gohighlevel", warehouse, full=True)  # --full: a complete listing
    assert full.new_versions == 0
    assert_mirrors(sandbox, warehouse)


def test_reconcile_runs_when_due_and_only_then(
    sandbox: Sandbox, warehouse: str, ghl: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def contacts_sync_times() -> dict[str, tuple[Any, Any]]:
        with psycopg.connect(warehouse) as conn:
            rows = conn.execute(
                "select scope, last_full_sync, last_incremental_sync from raw.sync_state "
                "where table_name = 'ghl_contacts'"
            ).fetchall()
        return {scope: (full, incremental) for scope, full, incremental in rows}

    first = run_vendor("gohighlevel", warehouse)  # no cursor yet: a complete listing
    after_first = contacts_sync_times()
    assert all(full and incremental is None for full, incremental in after_first.values())

    second = run_vendor("gohighlevel", warehouse)  # reconciled moments ago: incremental
    after_second = contacts_sync_times()
    assert all(after_second[s][0] == after_first[s][0] for s in after_first)
    assert all(incremental for _, incremental in after_second.values())

    monkeypatch.setenv("SOURCES__GOHIGHLEVEL__RECONCILE_HOURS", "0")
    third = run_vendor("gohighlevel", warehouse)  # due: a complete listing again
    after_third = contacts_sync_times()
    assert all(after_third[s][0] > after_second[s][0] for s in after_first)
    requests = [
        run_requests(warehouse, r.run_id)["contacts/search"] for r in (first, second, third)
    ]
    assert requests[1] < requests[0] == requests[2]
