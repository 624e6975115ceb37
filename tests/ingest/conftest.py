"""Fixtures for ingestion tests: stand-ins on loopback, sources pointed at them, a fresh
warehouse, and readers of what raw holds."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dlt_pipelines.common.rows import LATEST_FIRST
from lazi.config import PROJECT_ROOT
from lazi.db.cluster import LocalCluster
from lazi.db.migrate import migrate
from lazi.ingest import source_env
from lazi.sandbox.server import Sandbox, describe, start_sandbox
from tests.conftest import create_database


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    running = start_sandbox(200, 11)
    yield running
    running.stop()


@pytest.fixture
def warehouse(pg_cluster: LocalCluster) -> str:
    url = create_database(pg_cluster, "ingest")
    migrate(url)
    return url


@pytest.fixture
def configured(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment that points every source at the stand-ins, with a private dlt folder."""
    env = source_env(describe(sandbox))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LAZI_STATE_DIR", str(tmp_path / "state"))
    return env


@pytest.fixture
def callrail(configured: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The sources pointed at the stand-ins, with small pages so that paging and request counts
    have something to show at this scale. Returns the CallRail base URL."""
    monkeypatch.setenv("SOURCES__CALLRAIL__PER_PAGE", "20")
    return configured["SOURCES__CALLRAIL__BASE_URL"]


@pytest.fixture
def ghl(configured: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The sources pointed at the stand-ins, with small pages so that paging, the deletion probe
    and request counts have something to show at this scale. Returns the GHL base URL."""
    monkeypatch.setenv("SOURCES__GOHIGHLEVEL__CONTACTS_PAGE_LIMIT", "5")
    monkeypatch.setenv("SOURCES__GOHIGHLEVEL__OPPORTUNITIES_PAGE_LIMIT", "20")
    return configured["SOURCES__GOHIGHLEVEL__BASE_URL"]


def sync_process(vendor: str, env: dict[str, str], *, merge_output: bool) -> subprocess.Popen[str]:
    """`lazi sync <vendor>` as its own process (what schedules and the crash tests kill)."""
    return subprocess.Popen(
        [sys.executable, "-m", "lazi.cli", "sync", vendor],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
        text=True,
    )


def latest_versions(
    url: str, table: str, scope_column: str, id_column: str, scope: Any
) -> dict[Any, tuple[dict[str, Any], bool]]:
    """id -> (full_data, is_deleted) of the latest version of each entity in raw."""
    query = sql.SQL(
        """
        select distinct on ({id}) {id}, full_data, is_deleted
        from raw.{table}
        where {scope} = %s
        order by {id}, {latest_first}
        """
    ).format(
        latest_first=sql.SQL(LATEST_FIRST),
        id=sql.Identifier(id_column),
        table=sql.Identifier(table),
        scope=sql.Identifier(scope_column),
    )
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass(%s)", (f"raw.{table}",)).fetchone()[0] is None:
            return {}
        return {row[0]: (row[1], row[2]) for row in conn.execute(query, (scope,))}


def duplicate_versions(url: str, table: str, entity_key: list[str]) -> int:
    """Versions equal to the version before them (oldest first) of the same record: an
    identical re-delivery or a replayed load job recorded twice. Must always be 0; a record
    that returns to an earlier content is not counted (its previous version differs)."""
    partition = sql.SQL(", ").join(sql.Identifier(c) for c in entity_key)
    query = sql.SQL(
        """
        select count(*) from (
            select content_hash, lag(content_hash) over (
                partition by {partition}
                order by modified_on nulls first, _dlt_load_id, content_hash
            ) as previous_hash
            from raw.{table}
        ) as ordered
        where content_hash = previous_hash
        """
    ).format(partition=partition, table=sql.Identifier(table))
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def drift_report(url: str, run_id: Any) -> tuple[int, list[str] | None]:
    """(records with a key column of an unexpected type, new fields) a run reported."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select sum((details ->> 'type_errors')::int), "
            "array_agg(distinct f) filter (where f is not null) "
            "from sync.inbound_log left join lateral "
            "jsonb_array_elements_text(details -> 'new_fields') as f on true "
            "where run_id = %s",
            (run_id,),
        ).fetchone()
