"""Staging shows completed loads only, the same way for every vendor.

A raw row belongs to a dlt load; the load counts once its `raw._dlt_loads` row says status 0.
Rows of a load still running, or killed before it completed, must not reach staging (nor the
incremental models reading it), however new they are. The fixture is small: raw tables laid out
as the loaders declare them (`RawTable.dlt_columns`), three versions per table, and the real
staging views built by dbt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

from dlt_pipelines.callrail import settings as callrail
from dlt_pipelines.common.rows import LATEST_FIRST, RawTable
from dlt_pipelines.gohighlevel import settings as gohighlevel
from dlt_pipelines.servicetitan import settings as servicetitan
from lazi.config import PROJECT_ROOT
from lazi.db.cluster import LocalCluster
from lazi.db.migrate import migrate
from tests.conftest import create_database
from tests.transform._crm_fixtures import run_dbt

RAW_TABLES: dict[str, tuple[RawTable, ...]] = {
    "servicetitan": tuple(endpoint.table for endpoint in servicetitan.ENDPOINTS),
    "gohighlevel": (gohighlevel.CONTACTS, gohighlevel.OPPORTUNITIES, gohighlevel.PIPELINES),
    "callrail": (
        callrail.CALLS,
        callrail.COMPANIES,
        callrail.TRACKERS,
        callrail.USERS,
        callrail.TEXT_MESSAGES,
    ),
}
SQL_TYPES = {
    "bigint": "bigint",
    "text": "text",
    "decimal": "numeric",
    "bool": "boolean",
    "timestamp": "timestamptz",
    "json": "jsonb",
    "double": "double precision",
}
COMPLETED, RUNNING, UNRECORDED = "1700000001.0", "1700000002.0", "1700000003.0"


def _create_raw_table(conn: psycopg.Connection, table: RawTable) -> None:
    columns = [
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(SQL_TYPES[hint["data_type"]]))
        for name, hint in table.dlt_columns().items()
    ]
    columns += [sql.SQL("_dlt_load_id text not null"), sql.SQL("_dlt_id text not null")]
    conn.execute(
        sql.SQL("create table raw.{} ({})").format(
            sql.Identifier(table.name), sql.SQL(", ").join(columns)
        )
    )


def _insert_versions(conn: psycopg.Connection, vendor: str, table: RawTable) -> None:
    """Record 1: a version in a completed load and a newer one in a load still running.
    Record 2: only a version in a load that has no _dlt_loads row yet."""
    scope: Any = 1 if table.scope_type == "bigint" else "scope-1"

    def record_id(n: int) -> Any:
        return n if table.id_type == "bigint" else f"id-{n}"

    versions = [
        (record_id(1), "2024-01-01T00:00:00Z", COMPLETED),
        (record_id(1), "2024-01-02T00:00:00Z", RUNNING),
        (record_id(2), "2024-01-03T00:00:00Z", UNRECORDED),
    ]
    for position, (ident, modified, load_id) in enumerate(versions):
        conn.execute(
            sql.SQL(
                "insert into raw.{} ({}, {}, content_hash, modified_on, is_deleted, full_data,"
                " _dlt_load_id, _dlt_id) values (%s, %s, %s, %s, false, %s, %s, %s)"
            ).format(
                sql.Identifier(table.name),
                sql.Identifier(table.scope_column),
                sql.Identifier(table.id_column),
            ),
            (
                scope,
                ident,
                f"hash-{position}",
                modified,
                json.dumps({"id": ident, "modifiedOn": modified}),
                load_id,
                f"{vendor}-{table.name}-{position}",
            ),
        )


@pytest.fixture(scope="module")
def staged(pg_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A warehouse whose raw tables each hold three versions, and dbt's staging views on it."""
    url = create_database(pg_cluster, "staging_loads")
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "create table raw._dlt_loads (load_id text not null, schema_name text,"
            " status bigint not null, inserted_at timestamptz not null,"
            " schema_version_hash text)"
        )
        for vendor, tables in RAW_TABLES.items():
            for table in tables:
                _create_raw_table(conn, table)
                _insert_versions(conn, vendor, table)
            conn.execute(
                "insert into raw._dlt_loads values"
                " (%s, %s, 0, now(), 'h'), (%s, %s, 1, now(), 'h')",
                (COMPLETED, vendor, RUNNING, vendor),
            )
    target = tmp_path_factory.mktemp("staging_loads")
    run_dbt(url, target, ["run", "--select", "path:dbt_project/models/staging"])
    yield url


def _views_of(vendor: str, url: str) -> list[tuple[str, str]]:
    """(staging view, the raw table it shows) for every latest-version view of the vendor."""
    tables = {table.name for table in RAW_TABLES[vendor]}
    found = []
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select distinct view_name, table_name from information_schema.view_table_usage"
            " where view_schema = 'staging' and table_schema = 'raw' and view_name like %s",
            (f"stg\\_{vendor}\\_\\_%",),
        ).fetchall()
    for view, table in rows:
        if table in tables and not view.endswith(("__record_versions", "__loads")):
            found.append((view, table))
    return sorted(found)


@pytest.mark.parametrize("vendor", sorted(RAW_TABLES))
def test_staging_shows_no_row_of_an_incomplete_load(staged: str, vendor: str) -> None:
    views = _views_of(vendor, staged)
    # every raw table the vendor's loader writes has its latest-version view
    assert {table for _, table in views} == {table.name for table in RAW_TABLES[vendor]}
    seen = {}
    with psycopg.connect(staged) as conn:
        for view, _table in views:
            seen[view] = conn.execute(
                sql.SQL("select dlt_load_id, count(*) from staging.{} group by 1").format(
                    sql.Identifier(view)
                )
            ).fetchall()
        loads = conn.execute(
            sql.SQL("select load_id from staging.{}").format(sql.Identifier(f"stg_{vendor}__loads"))
        ).fetchall()
    # record 1 at its completed version only: the newer version of the running load and record
    # 2, whose load has no _dlt_loads row, stay out
    assert seen == {view: [(COMPLETED, 1)] for view, _ in views}
    assert loads == [(COMPLETED,)]


def test_latest_version_order_is_the_loaders() -> None:
    """dbt's latest_version macro orders by var('latest_first'); the loader decides what is a new
    version by rows.LATEST_FIRST. One definition: the two must be the same text."""
    project = yaml.safe_load((Path(PROJECT_ROOT) / "dbt_project.yml").read_text())
    assert project["vars"]["latest_first"] == LATEST_FIRST
