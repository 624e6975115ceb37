"""Full reconciles: a record the vendor no longer returns is marked deleted in raw, not forgotten.

Vendors that hard-delete (GoHighLevel contacts, ServiceTitan reference lists without an export
endpoint) simply stop returning a record. After a complete listing of a scope, the latest live
version of each missing id gets a tombstone version (`is_deleted = true`, same `full_data`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from dlt_pipelines.common.rows import LATEST_FIRST, RawTable
from lazi.db.fetch import fetch_value


def missing_records(
    warehouse_url: str,
    table: RawTable,
    scope: Any,
    seen_ids: Iterable[Any],
    *,
    since: tuple[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Latest `full_data` of every id live in raw for `scope` but absent from `seen_ids`.
    `since` = (column, value) limits the check to records the listing covered, for listings
    bounded in time (CallRail calls by start date)."""
    seen = list(seen_ids)
    column, bound = since if since else (table.id_column, None)
    query = sql.SQL(
        """
        select full_data from (
            select distinct on ({id}) {id}, full_data, is_deleted, {column} as bound_value
            from raw.{table}
            where {scope} = %s
            order by {id}, {latest_first}
        ) as latest
        where not is_deleted and not ({id} = any(%s))
          and (%s::text is null or bound_value >= %s)
        """
    ).format(
        latest_first=sql.SQL(LATEST_FIRST),
        id=sql.Identifier(table.id_column),
        table=sql.Identifier(table.name),
        scope=sql.Identifier(table.scope_column),
        column=sql.Identifier(column),
    )
    with psycopg.connect(warehouse_url) as conn:
        exists = fetch_value(conn, "select to_regclass(%s)", (f"raw.{table.name}",))
        if exists is None:
            return []
        params = (scope, seen, None if bound is None else str(bound), bound)
        return [row[0] for row in conn.execute(query, params)]
