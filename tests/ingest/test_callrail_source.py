"""The CallRail source against the stand-in over real HTTP, into a real PostgreSQL.

The stand-in's World is the oracle: after each run the latest raw version of every record equals
what the API serves now, and records deleted at the vendor carry a tombstone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from psycopg import sql

from dlt_pipelines.callrail.settings import (
    CALLS,
    COMPANIES,
    TEXT_LOOKBACK_DAYS,
    TEXT_MESSAGES,
    TRACKERS,
    USERS,
)
from dlt_pipelines.common.errors import SourceError
from lazi.db.cluster import LocalCluster
from lazi.db.migrate import migrate
from lazi.ingest import run_vendor
from lazi.sandbox.server import Sandbox
from lazi.sandbox.world.clock import parse_iso
from tests.ingest.conftest import duplicate_versions, latest_versions

TABLES = {
    "calls": CALLS,
    "companies": COMPANIES,
    "trackers": TRACKERS,
    "users": USERS,
    "text_messages": TEXT_MESSAGES,
}


def assert_mirrors(sb: Sandbox, url: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for account in sb.world.callrail_accounts:
        for name, table in TABLES.items():
            collection = sb.world.collection("callrail", name, account)
            live: dict[str, Any] = {}
            deleted: set[str] = set()
            for _, record in collection.iter_from(0):
                if collection.is_deleted(record):
                    deleted.add(record["id"])
                else:
                    live[record["id"]] = record
            raw = latest_versions(url, table.name, "account_id", "callrail_id", account)
            raw_live = {i: data for i, (data, gone) in raw.items() if not gone}
            assert raw_live.keys() == live.keys(), (table.name, account, len(raw_live), len(live))
            different = [i for i, record in live.items() if raw_live[i] != record]
            assert not different, (table.name, account, different[:3])
            assert set(raw) - set(live) <= deleted, (table.name, account)
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


def test_first_incremental_and_idempotent_runs(
    sandbox: Sandbox, warehouse: str, callrail: str
) -> None:
    first = run_vendor("callrail", warehouse)
    counts = assert_mirrors(sandbox, warehouse)
    assert counts["callrail_calls"] > 300 and counts["callrail_trackers"] > 5
    assert counts["callrail_text_messages"] > 40 and counts["callrail_users"] >= 10
    assert first.new_versions == sum(counts.values())
    first_requests = run_requests(warehouse, first.run_id)

    changes = sandbox.world.advance(24)
    assert any(key.startswith("callrail/calls") for key in changes)
    second = run_vendor("callrail", warehouse)
    assert_mirrors(sandbox, warehouse)
    second_requests = run_requests(warehouse, second.run_id)
    # Calls: only the look-back window, not every page again.
    assert second_requests["calls.json"] * 4 <= first_requests["calls.json"]
    assert second_requests["text-messages.json"] < first_requests["text-messages.json"]
    assert 0 < second.fetched < first.fetched / 4

    before = versions(warehouse)
    third = run_vendor("callrail", warehouse)
    assert third.new_versions == 0
    assert versions(warehouse) == before
    assert_mirrors(sandbox, warehouse)
    for table in ("callrail_calls", "callrail_text_messages"):
        with psycopg.connect(warehouse) as conn:
            cursors = conn.execute(
                "select scope, cursor_value from raw.sync_state where table_name = %s", (table,)
            ).fetchall()
        accounts = {scope for scope, cursor in cursors if cursor}
        assert accounts == set(sandbox.world.callrail_accounts), table


def test_text_messages_load_by_last_message_at_with_a_look_back(
    sandbox: Sandbox, warehouse: str, callrail: str
) -> None:
    """A run reads the conversations whose last message is at most the look-back older than
    the newest one loaded: the new conversations and replies since, and nothing older."""
    run_vendor("callrail", warehouse)
    newest_loaded = {}
    for account in sandbox.world.callrail_accounts:
        texts = sandbox.world.collection("callrail", "text_messages", account)
        newest_loaded[account] = max((r["last_message_at"] for r in texts.records()), key=parse_iso)
    changes = sandbox.world.advance(24 * 2)
    assert any(key.startswith("callrail/text_messages") for key in changes)

    second = run_vendor("callrail", warehouse)
    assert_mirrors(sandbox, warehouse)
    fetched = {
        e["scope"]: e["fetched"] for e in second.endpoints if e["table"] == TEXT_MESSAGES.name
    }
    for account in sandbox.world.callrail_accounts:
        texts = sandbox.world.collection("callrail", "text_messages", account)
        zone = ZoneInfo(next(texts.records())["company_time_zone"])
        # the day the look-back reaches, in the cursor's own offset (the account's zone)
        cursor = datetime.fromisoformat(newest_loaded[account])
        start = (cursor - timedelta(days=TEXT_LOOKBACK_DAYS)).date()
        in_window = [
            r
            for r in texts.records(live=True)
            if datetime.fromisoformat(r["last_message_at"]).astimezone(zone).date() >= start
        ]
        assert fetched[account] == len(in_window) < len(texts), account


def test_a_database_made_again_under_the_same_name_gets_a_full_backfill(
    sandbox: Sandbox, warehouse: str, callrail: str, pg_cluster: LocalCluster
) -> None:
    """dlt's local cursors belong to the database they were loaded into, not to its name."""
    run_vendor("callrail", warehouse)
    sandbox.world.advance(24)  # so that a run starting from the old cursors would fetch a subset
    name = psycopg.conninfo.conninfo_to_dict(warehouse)["dbname"]
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    migrate(warehouse)
    again = run_vendor("callrail", warehouse)
    counts = assert_mirrors(sandbox, warehouse)
    assert again.new_versions == again.fetched >= sum(counts.values())


def test_a_load_job_replayed_after_a_kill_adds_no_version(
    sandbox: Sandbox, warehouse: str, callrail: str
) -> None:
    """A kill between a COPY's commit and dlt recording it makes dlt copy that file again, so
    dlt's merge sees the same versions twice in one statement."""
    run_vendor("callrail", warehouse)
    before = versions(warehouse)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute("set role lazi_loader")
        conn.execute("create temp table replay as select * from raw.callrail_calls limit 10")
        conn.execute(
            "delete from raw.callrail_calls as r using replay as p where r.account_id = "
            "p.account_id and r.callrail_id = p.callrail_id and r.content_hash = p.content_hash"
        )
        twice = conn.execute(
            "insert into raw.callrail_calls select * from replay union all select * from replay"
        )
        assert twice.rowcount == 10
    assert versions(warehouse) == before
    assert duplicate_versions(warehouse, CALLS.name, CALLS.entity_key) == 0


def test_rows_copied_twice_before_raw_had_its_key_are_removed(
    sandbox: Sandbox, warehouse: str, callrail: str
) -> None:
    """The same kill during a table's first load, before raw has its unique key."""
    run_vendor("callrail", warehouse)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute("drop trigger callrail_calls_skip_known_versions on raw.callrail_calls")
        conn.execute("drop index raw.callrail_calls_version_key")
        conn.execute("insert into raw.callrail_calls select * from raw.callrail_calls limit 7")
    assert duplicate_versions(warehouse, CALLS.name, CALLS.entity_key) == 7
    run_vendor("callrail", warehouse)
    assert duplicate_versions(warehouse, CALLS.name, CALLS.entity_key) == 0
    assert_mirrors(sandbox, warehouse)
    with psycopg.connect(warehouse) as conn:
        key = conn.execute("select to_regclass('raw.callrail_calls_version_key')").fetchone()[0]
    assert key is not None


def test_deleted_records_are_tombstoned(sandbox: Sandbox, warehouse: str, callrail: str) -> None:
    run_vendor("callrail", warehouse)
    account = sandbox.world.callrail_accounts[0]
    calls = sandbox.world.collection("callrail", "calls", account)
    recent = max(
        (r for _, r in calls.iter_from(0) if not calls.is_deleted(r)),
        key=lambda r: r["start_time"],
    )
    calls.delete(recent["id"])
    trackers = sandbox.world.collection("callrail", "trackers", account)
    tracker = next(r["id"] for _, r in trackers.iter_from(0) if not trackers.is_deleted(r))
    trackers.delete(tracker)
    texts = sandbox.world.collection("callrail", "text_messages", account)
    conversation = max(texts.records(live=True), key=lambda r: parse_iso(r["last_message_at"]))
    texts.delete(conversation["id"])
    users = sandbox.world.collection("callrail", "users", account)
    users.delete(next(users.records(live=True))["id"])

    result = run_vendor("callrail", warehouse)
    assert_mirrors(sandbox, warehouse)
    deleted = {e["table"]: e["deleted_marked"] for e in result.endpoints if e["scope"] == account}
    assert deleted["callrail_calls"] == 1 and deleted["callrail_trackers"] == 1
    assert deleted["callrail_text_messages"] == 1 and deleted["callrail_users"] == 1
    raw = latest_versions(warehouse, "callrail_calls", "account_id", "callrail_id", account)
    assert raw[recent["id"]][1] is True

    full = run_vendor("callrail", warehouse, full=True)
    assert full.new_versions == 0
    assert_mirrors(sandbox, warehouse)


def test_key_columns_are_typed(sandbox: Sandbox, warehouse: str, callrail: str) -> None:
    run_vendor("callrail", warehouse)
    with psycopg.connect(warehouse) as conn:
        row = conn.execute(
            """
            select count(*), count(*) filter (where type_errors is not null),
                   count(start_time), count(company_id), count(tracker_id),
                   pg_typeof(min(start_time))::text, pg_typeof(sum(duration))::text
            from raw.callrail_calls
            """
        ).fetchone()
    total, with_errors, started, companies, trackers, start_type, _ = row
    assert total > 0 and with_errors == 0
    assert started == companies == trackers == total
    assert start_type == "timestamp with time zone"


def test_a_spent_daily_budget_stops_the_run_before_any_request(
    sandbox: Sandbox, warehouse: str, callrail: str
) -> None:
    account = sandbox.world.callrail_accounts[0]
    with psycopg.connect(warehouse) as conn:
        conn.execute(
            "insert into sync.inbound_log (run_id, vendor, endpoint, scope, sync_type, status, "
            "requests_made, finished_at) values (gen_random_uuid(), 'callrail', 'calls.json', "
            "%s, 'incremental', 'succeeded', 9500, now())",
            (account,),
        )
    with pytest.raises(SourceError) as failure:
        run_vendor("callrail", warehouse)
    assert "daily limit" in str(failure.value)
    limits = httpx.get(f"{callrail}/_sandbox/limits").json()
    assert limits["daily"]["max_seen"] == {}, "no request reached CallRail"
