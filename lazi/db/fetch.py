"""Reading single values: the one row a query must return."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.abc import Params, QueryNoTemplate


def fetch_value(
    conn: psycopg.Connection[Any], query: QueryNoTemplate, params: Params | None = None
) -> Any:
    """The first column of the first row; a query that returns no row is a bug (or a warehouse
    not migrated), so it fails here, naming the query, rather than as `None[0]` later."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise LookupError(f"the query returned no row: {query!r}")
    return row[0]
