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

from dlt_pipelines.common.rows import RawTable


def missing_records(
    warehouse_url: str, table: RawTable, scope: Any, seen_ids: Iterable[Any]
) -> list[dict[str, Any]]:
    """Latest `full_data` of every id live in raw for `scope` but absent from `seen_ids`."""
    seen = list(seen_ids)
    query = sql.SQL(
        """
        select full_data from (
            select distinct on ({id}) {id}, full_data, is_deleted
            from raw.{table}
            where {scope} = %s
            order by {id}, modified_on desc nulls last, _dlt_load_id desc
        ) as latest
        where not is_deleted and not ({id} = any(%s))
        """
    ).format(
        id=sql.Identifier(table.id_column),
        table=sql.Identifier(table.name),
        scope=sql.Identifier(table.scope_column),
    )
    with psycopg.connect(warehouse_url) as conn:
        exists = conn.execute("select to_regclass(%s)", (f"raw.{table.name}",)).fetchone()[0]
        if exists is None:
            return []
        return [row[0] for row in conn.execute(query, (scope, seen))]
