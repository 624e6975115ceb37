"""Vendors load into the one `raw` dataset at the same time (the elt flow runs them concurrently).

Their first loads race to create dlt's shared tables there. PostgreSQL lets one
`create table` win and fails the other with a unique violation on `pg_type`; the loser must
load its package again, not fail the run.
"""

from __future__ import annotations

import os
import time

import psycopg

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
