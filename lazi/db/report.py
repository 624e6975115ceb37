"""What is in the warehouse: a short, human-readable summary for `lazi run` and `lazi status`."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from lazi.db.fetch import fetch_value

WAREHOUSE_SCHEMAS = (
    "raw",
    "staging",
    "intermediate",
    "master",
    "crm",
    "marts",
    "workflow",
    "sync",
    "audit",
)


def summarize(conn: psycopg.Connection) -> dict[str, Any]:
    tables: dict[str, int] = dict(
        conn.execute(
            """
            select nsp.nspname, count(*)
            from pg_class as cls
            inner join pg_namespace as nsp on cls.relnamespace = nsp.oid
            where nsp.nspname = any(%s)
              and cls.relkind in ('r', 'p', 'v', 'm')
              and not cls.relispartition
            group by nsp.nspname
            """,
            (list(WAREHOUSE_SCHEMAS),),
        ).fetchall()
    )
    return {
        "server_version": conn.info.parameter_status("server_version"),
        "tables_per_schema": {schema: tables.get(schema, 0) for schema in WAREHOUSE_SCHEMAS},
    }


def recent_syncs(conn: psycopg.Connection, limit: int = 20) -> list[tuple[Any, ...]]:
    return conn.execute(
        """
        select started_at, vendor, endpoint, scope, sync_type, status, records_fetched,
               records_created, records_unchanged, duration_ms, error
        from sync.inbound_log
        order by started_at desc, id desc
        limit %s
        """,
        (limit,),
    ).fetchall()


def sync_states(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        """
        select vendor, table_name, scope, sync_status, last_full_sync, last_incremental_sync,
               records_total
        from raw.sync_state
        order by vendor, table_name, scope
        """
    ).fetchall()


def flagged_records(conn: psycopg.Connection) -> list[tuple[str, int]]:
    """(raw table, records whose latest version holds a value that could not be typed, or was
    typed from another JSON type) for every raw table with such records. Cheap at any size:
    raw indexes the flagged versions (dlt_pipelines/common/raw_guarantees.py), and only their
    records' latest versions are looked up."""
    from dlt_pipelines.common.rows import LATEST_FIRST

    keyed = conn.execute(
        """
        select c.table_name,
               max(c.column_name) filter (
                   where c.column_name in ('tenant_id', 'location_id', 'account_id')),
               max(c.column_name) filter (where c.column_name in ('st_id', 'ghl_id', 'callrail_id'))
        from information_schema.columns as c
        where c.table_schema = 'raw'
        group by c.table_name
        having bool_or(c.column_name = 'type_errors')
        order by c.table_name
        """
    ).fetchall()
    counts: list[tuple[str, int]] = []
    for table, scope, record_id in keyed:
        if scope is None or record_id is None:
            continue
        query = sql.SQL(
            """
            select count(*) from (
                select distinct {scope}, {id} from raw.{table} where type_errors is not null
            ) as flagged
            where (
                select latest.type_errors is not null from raw.{table} as latest
                where latest.{scope} = flagged.{scope} and latest.{id} = flagged.{id}
                order by {latest_first} limit 1
            )
            """
        ).format(
            table=sql.Identifier(table),
            scope=sql.Identifier(scope),
            id=sql.Identifier(record_id),
            latest_first=sql.SQL(LATEST_FIRST),
        )
        flagged = fetch_value(conn, query)
        if flagged:
            counts.append((table, flagged))
    return counts


def last_run_endpoints(conn: psycopg.Connection, vendor: str) -> list[tuple[Any, ...]]:
    """Each endpoint and scope of the vendor's latest sync: table, scope, status, fetched,
    new versions, deletions marked."""
    return conn.execute(
        """
        select endpoint, scope, status, records_fetched, records_created, records_deleted
        from sync.inbound_log
        where run_id = (
            select run_id from sync.inbound_log
            where vendor = %s and endpoint = '(run)'
            order by id desc limit 1
        )
          and endpoint <> '(run)'
        order by endpoint, scope
        """,
        (vendor,),
    ).fetchall()
