"""Syncs running at the same time: vendors load into the one `raw` dataset concurrently (the elt
flow runs them so), and two syncs of one vendor never run together.

Their first loads race to create dlt's shared tables there. PostgreSQL lets one
`create table` win and fails the other with a unique violation on `pg_type`; the loser must
load its package again, not fail the run.
"""

from __future__ import annotations

import os
import threading
import time

import psycopg
import pytest

from dlt_pipelines.common import pipeline
from dlt_pipelines.common.errors import SourceError
from lazi.ingest import run_vendor
from lazi.sandbox.server import Sandbox
from tests.ingest.conftest import sync_process
from tests.ingest.test_callrail_source import assert_mirrors


def waiting_on_a_lock(url: str) -> bool:
    """dlt creates its tables in one batch, in an order that varies from run to run, and
    pg_stat_activity shows only the batch's first kilobyte: any `create table` waiting for a
    lock is the sync's."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            """
            select count(*) > 0 from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'
              and query ilike '%%create table%%'
            """
        ).fetchone()[0]


def test_a_first_load_that_loses_the_race_for_dlts_tables_loads_again(
    sandbox: Sandbox, warehouse: str, configured: dict[str, str]
) -> None:
    # Another pipeline's first load, caught between creating `_dlt_loads` and committing.
    rival = psycopg.connect(warehouse)
    rival.execute("set role lazi_loader")
    rival.execute(
        """
        create table raw._dlt_loads (
            load_id varchar(64) not null, schema_name varchar, status bigint not null,
            inserted_at timestamptz not null, schema_version_hash varchar
        )
        """
    )
    env = {**os.environ, "DATABASE_URL": warehouse}
    sync = sync_process("callrail", env, merge_output=False)
    try:
        deadline = time.monotonic() + 120
        while not waiting_on_a_lock(warehouse):
            assert sync.poll() is None, sync.communicate()
            assert time.monotonic() < deadline, "the sync never reached dlt's schema update"
            time.sleep(0.05)
        rival.commit()
        _, err = sync.communicate(timeout=300)
    finally:
        rival.close()
        if sync.poll() is None:
            sync.kill()
    assert sync.returncode == 0, err[-3000:]
    assert "schema update raced another pipeline; loading again (1/5)" in err
    counts = assert_mirrors(sandbox, warehouse)
    assert counts["callrail_calls"] > 0
    with psycopg.connect(warehouse) as conn:
        status = conn.execute(
            "select status from sync.inbound_log where vendor = 'callrail' and endpoint = '(run)'"
        ).fetchall()
    assert status == [("succeeded",)]


def test_a_sync_waits_for_the_running_sync_of_its_vendor(
    sandbox: Sandbox, warehouse: str, configured: dict[str, str]
) -> None:
    # A sync killed a moment ago holds its lock until PostgreSQL notices the closed connection.
    holder = psycopg.connect(warehouse, autocommit=True)
    holder.execute("select pg_advisory_lock(hashtext('lazi:ingest:callrail'))")
    threading.Timer(1.0, holder.close).start()
    result = run_vendor("callrail", warehouse)
    assert result.fetched > 0
    assert_mirrors(sandbox, warehouse)


def test_a_sync_gives_up_while_another_of_its_vendor_keeps_running(
    warehouse: str, configured: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "LOCK_WAIT_S", 1)
    with psycopg.connect(warehouse, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(hashtext('lazi:ingest:callrail'))")
        with pytest.raises(SourceError, match="another sync of this vendor is running"):
            run_vendor("callrail", warehouse)
    with psycopg.connect(warehouse) as conn:
        runs = conn.execute("select count(*) from sync.inbound_log").fetchone()[0]
    assert runs == 0, "a sync that never got its lock leaves nothing behind"
