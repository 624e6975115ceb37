"""ServiceTitan → raw against the stand-in: complete, incremental, idempotent, fault-tolerant."""

from __future__ import annotations

import math
from typing import Any

import httpx
import psycopg
import pytest

from dlt_pipelines.common.errors import SourceError
from dlt_pipelines.servicetitan.settings import ENDPOINTS, Endpoint
from lazi.ingest import run_vendor
from lazi.sandbox.server import Sandbox
from tests.ingest.conftest import drift_report, duplicate_versions, latest_versions


def world_records(sandbox: Sandbox, endpoint: Endpoint, tenant: int) -> dict[int, dict[str, Any]]:
    """What the vendor holds now, deleted records included (they carry active=false)."""
    collection = sandbox.world.collection("servicetitan", endpoint.name.removeprefix("st_"), tenant)
    return {
        record["id"]: (record, collection.is_deleted(record))
        for _, record in collection.iter_from(0)
    }


def assert_raw_matches_world(url: str, sandbox: Sandbox) -> int:
    checked = 0
    for endpoint in ENDPOINTS:
        for tenant in sandbox.world.tenants:
            expected = world_records(sandbox, endpoint, tenant)
            raw = latest_versions(url, endpoint.name, "tenant_id", "st_id", tenant)
            if endpoint.export_path:
                # Exports return every record, deleted ones with active=false.
                assert {i: r for i, (r, _) in expected.items()} == {
                    i: data for i, (data, _) in raw.items()
                }, f"{endpoint.name}/{tenant}"
            else:
                live = {i: r for i, (r, deleted) in expected.items() if not deleted}
                raw_live = {i: data for i, (data, deleted) in raw.items() if not deleted}
                assert raw_live == live, f"{endpoint.name}/{tenant}"
                gone = {i for i, (_, deleted) in expected.items() if deleted}
                assert all(raw[i][1] for i in gone if i in raw), f"{endpoint.name}: untombstoned"
            assert duplicate_versions(url, endpoint.name, endpoint.table.entity_key) == 0
            checked += len(expected)
    return checked


def inbound(url: str, run_id: Any) -> dict[tuple[str, str], tuple[int, int, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select endpoint, scope, records_fetched, records_created, requests_made "
            "from sync.inbound_log where run_id = %s and endpoint <> '(run)'",
            (run_id,),
        ).fetchall()
    return {(e, s): (f, c, r) for e, s, f, c, r in rows}


def loads_of(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"select count(distinct _dlt_load_id) from raw.{table}").fetchone()[0]


@pytest.mark.parametrize("package_mb", [None, "0.1"], ids=["one-package", "many-packages"])
def test_backfill_incremental_and_rerun(
    sandbox: Sandbox, configured, warehouse: str, package_mb, monkeypatch: pytest.MonkeyPatch
) -> None:
    if package_mb:
        monkeypatch.setenv("LAZI_PACKAGE_MB", package_mb)
        base = sandbox.base_url("servicetitan")
        httpx.post(f"{base}/_sandbox/config", json={"export_page_size": 50}).raise_for_status()
    first = run_vendor("servicetitan", warehouse)
    total = assert_raw_matches_world(warehouse, sandbox)
    assert first.new_versions == first.fetched == total > 1000
    assert (loads_of(warehouse, "st_jobs") > 3) == bool(package_mb)

    changes = sandbox.world.advance(24)
    second = run_vendor("servicetitan", warehouse)
    assert_raw_matches_world(warehouse, sandbox)
    page = httpx.post(f"{sandbox.base_url('servicetitan')}/_sandbox/config").json()
    page_size = page["export_page_size"]
    for endpoint in (e for e in ENDPOINTS if e.export_path):
        for tenant in sandbox.world.tenants:
            changed = changes.get(f"servicetitan/{endpoint.name.removeprefix('st_')}/{tenant}", 0)
            fetched, _, requests = inbound(warehouse, second.run_id)[(endpoint.path, str(tenant))]
            # Only what changed comes back, in as few requests as the page size allows.
            assert fetched <= changed, endpoint.name
            assert requests <= 1 + math.ceil(changed / page_size), endpoint.name
    assert 0 < second.fetched < first.fetched / 5
    assert second.new_versions == second.fetched - sum(e["unchanged"] for e in second.endpoints)

    third = run_vendor("servicetitan", warehouse)
    assert third.new_versions == 0, "nothing changed: re-reading adds no version"
    assert_raw_matches_world(warehouse, sandbox)
    with psycopg.connect(warehouse) as conn:
        states = conn.execute(
            "select count(*), count(*) filter (where sync_status = 'succeeded'), "
            "count(*) filter (where cursor_value is null) from raw.sync_state "
            "where vendor = 'servicetitan'"
        ).fetchone()
    assert states[0] == len(ENDPOINTS) * len(sandbox.world.tenants) == states[1]
    assert states[2] == 0


def test_full_refresh_marks_deletions_in_polled_lists(
    sandbox: Sandbox, configured, warehouse: str
) -> None:
    run_vendor("servicetitan", warehouse)
    tenant = sandbox.world.tenants[0]
    zones = sandbox.world.collection("servicetitan", "zones", tenant)
    victim = next(r for _, r in zones.iter_from(0) if not zones.is_deleted(r))
    zones.delete(victim["id"])
    run_vendor("servicetitan", warehouse, full=True)
    raw = latest_versions(warehouse, "st_zones", "tenant_id", "st_id", tenant)
    assert raw[victim["id"]][1] is True, "a zone the vendor stopped returning is tombstoned"
    assert_raw_matches_world(warehouse, sandbox)


@pytest.mark.parametrize("fault", ["rate_429", "rate_5xx", "rate_drop", "rate_truncate"])
def test_faults_do_not_lose_data_or_breach_limits(
    sandbox: Sandbox, configured, warehouse: str, fault: str
) -> None:
    base = sandbox.base_url("servicetitan")
    httpx.post(f"{base}/_sandbox/config", json={"export_page_size": 50}).raise_for_status()
    httpx.post(f"{base}/_sandbox/faults", json={fault: 0.1, "seed": 3}).raise_for_status()
    result = run_vendor("servicetitan", warehouse)
    counts = httpx.get(f"{base}/_sandbox/faults").json()["counts"]
    assert sum(counts.values()) > 0, "faults were injected"
    assert_raw_matches_world(warehouse, sandbox)
    assert result.new_versions == result.fetched
    limits = httpx.get(f"{base}/_sandbox/limits").json()
    assert max(limits["max_in_any_window"].values()) <= limits["limit"]


def test_changed_types_and_new_fields_land_unchanged_and_are_counted(
    sandbox: Sandbox, configured, warehouse: str
) -> None:
    run_vendor("servicetitan", warehouse)  # the fields known so far
    sandbox.world.advance(24)
    base = sandbox.base_url("servicetitan")
    # Every response now adds a field and turns *Id numbers into strings.
    httpx.post(f"{base}/_sandbox/faults", json={"rate_schema_drift": 1.0}).raise_for_status()
    result = run_vendor("servicetitan", warehouse)
    assert result.fetched == result.new_versions > 0, "every drifted record is kept"
    type_errors, new_fields = drift_report(warehouse, result.run_id)
    with psycopg.connect(warehouse) as conn:
        drifted = conn.execute(
            "select customer_id, type_errors, full_data ->> 'customerId', "
            "full_data ? 'sandboxDriftNote' from raw.st_locations "
            "where full_data ? 'sandboxDriftNote' limit 1"
        ).fetchone()
    assert type_errors > 0
    assert new_fields == ["sandboxDriftNote"]
    customer_id, errors, sent, has_new_field = drifted
    assert has_new_field and "customer_id" in errors.split(",") and sent == str(customer_id)


def test_exhausted_retries_fail_loudly_and_commit_nothing(
    sandbox: Sandbox, configured, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_vendor("servicetitan", warehouse)
    with psycopg.connect(warehouse) as conn:
        cursors = conn.execute(
            "select table_name, scope, cursor_value from raw.sync_state order by 1, 2"
        ).fetchall()
    sandbox.world.advance(24)
    base = sandbox.base_url("servicetitan")
    httpx.post(f"{base}/_sandbox/faults", json={"rate_5xx": 1.0}).raise_for_status()
    monkeypatch.setenv("SOURCES__SERVICETITAN__MAX_ATTEMPTS", "2")
    with pytest.raises(SourceError) as failure:
        run_vendor("servicetitan", warehouse)
    message = str(failure.value)
    assert "gave up after 2 attempts" in message and "HTTP 50" in message
    assert message.startswith("servicetitan customers:")  # the vendor and the endpoint
    with psycopg.connect(warehouse) as conn:
        status, error = conn.execute(
            "select status, error from sync.inbound_log where endpoint = '(run)' "
            "order by id desc limit 1"
        ).fetchone()
        after = conn.execute(
            "select table_name, scope, cursor_value from raw.sync_state order by 1, 2"
        ).fetchall()
    assert status == "failed" and "gave up" in error
    assert after == cursors, "no cursor moved for a run that failed"
