"""What is in the warehouse: a short, human-readable summary for `lazi run` and `lazi status`."""

from __future__ import annotations

from typing import Any

import psycopg

WAREHOUSE_SCHEMAS = ("raw", "staging", "master", "crm", "marts", "workflow", "sync", "audit")


def summarize(conn: psycopg.Connection) -> dict[str, Any]:
    tables = dict(
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
