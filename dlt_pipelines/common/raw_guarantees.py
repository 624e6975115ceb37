"""What raw guarantees about the versions it holds, declared once for every raw table.

dlt creates a raw table on its first load, without a key, so the guarantees are made right after
that load (and remade where an older release made them differently):

- a version is recorded once per load: a unique index on (scope, id, load id, content hash), so
  a load job dlt replays after a crash adds nothing (`{table}_version_key`);
- a delivery is a new version only when it differs from the record's latest one: a trigger skips
  the rest, so a page fetched twice adds nothing while a record that returns to an earlier
  content records its return (`{table}_skip_known_versions`);
- the few versions with a value that could not be typed are found by an index
  (`{table}_type_errors`, what `lazi status` counts), and the rows of one load by another
  (`{table}_load_id`: how a run counts its new versions, and dbt's incremental filter).

A table's first load appends without the trigger (pipeline.py: a merge would copy a backfill
twice), so copies a replayed job or a repeated page left are removed before the key is built.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from dlt_pipelines.common.rows import LATEST_FIRST

log = logging.getLogger("lazi.sources")


@dataclass(frozen=True)
class _Names:
    table: str
    scope: str
    id: str

    def identifiers(self) -> dict[str, sql.Identifier]:
        return {
            "table": sql.Identifier(self.table),
            "scope": sql.Identifier(self.scope),
            "id": sql.Identifier(self.id),
        }

    @property
    def key(self) -> str:
        return f"{self.table}_version_key"

    @property
    def trigger(self) -> str:
        return f"{self.table}_skip_known_versions"

    @property
    def type_errors_index(self) -> str:
        return f"{self.table}_type_errors"

    @property
    def load_id_index(self) -> str:
        return f"{self.table}_load_id"


def keyed_tables(books: psycopg.Connection) -> set[str]:
    """Raw tables that have their version key (in any release's form): loads into them may
    merge on it. The others are new, or were never keyed: their next load is their first."""
    return {
        name
        for (name,) in books.execute(
            "select tablename from pg_indexes "
            "where schemaname = 'raw' and indexname = tablename || '_version_key'"
        )
    }


def unguaranteed(books: psycopg.Connection, tables: Iterable[str]) -> list[str]:
    """Of `tables`, those that lack a guarantee or hold one in an older form: not loaded yet,
    loaded once without them, or made by an earlier release."""
    return [table for table in sorted(set(tables)) if not _guaranteed(books, table)]


def guarantee(books: psycopg.Connection, tables: Iterable[str]) -> None:
    """Make every guarantee for `tables` (idempotent). A table not loaded yet is left for the
    run that first loads it."""
    # The first load of a big table builds these indexes over millions of rows: with the
    # default 64 MB they sort on disk.
    books.execute("set maintenance_work_mem = '512MB'")
    for table in sorted(set(tables)):
        names = _names(books, table)
        if names is None:
            continue
        _version_key(books, names)
        _skip_known_versions(books, names)
        identifiers = names.identifiers()
        books.execute(
            sql.SQL(
                "create index if not exists {index} on raw.{table} ({scope}, {id}) "
                "where type_errors is not null"
            ).format(index=sql.Identifier(names.type_errors_index), **identifiers)
        )
        books.execute(
            sql.SQL("create index if not exists {index} on raw.{table} (_dlt_load_id)").format(
                index=sql.Identifier(names.load_id_index), **identifiers
            )
        )


def scope_column(books: psycopg.Connection, table: str) -> str | None:
    """The column a raw table's records are scoped by (tenant, location or account)."""
    row = books.execute(
        """
        select column_name from information_schema.columns
        where table_schema = 'raw' and table_name = %s
          and column_name in ('tenant_id', 'location_id', 'account_id')
        order by ordinal_position limit 1
        """,
        (table,),
    ).fetchone()
    return row[0] if row else None


def _id_column(books: psycopg.Connection, table: str) -> str | None:
    row = books.execute(
        """
        select column_name from information_schema.columns
        where table_schema = 'raw' and table_name = %s
          and column_name in ('st_id', 'ghl_id', 'callrail_id')
        limit 1
        """,
        (table,),
    ).fetchone()
    return row[0] if row else None


def _names(books: psycopg.Connection, table: str) -> _Names | None:
    """None for a table that does not exist yet, or holds no versioned records."""
    scope, record_id = scope_column(books, table), _id_column(books, table)
    if scope is None or record_id is None:
        return None
    return _Names(table, scope, record_id)


def _guaranteed(books: psycopg.Connection, table: str) -> bool:
    names = _names(books, table)
    if names is None:
        return False
    indexes: dict[str, str] = dict(
        books.execute(
            "select indexname, indexdef from pg_indexes "
            "where schemaname = 'raw' and tablename = %s",
            (table,),
        ).fetchall()
    )
    return (
        "_dlt_load_id" in indexes.get(names.key, "")
        and names.type_errors_index in indexes
        and names.load_id_index in indexes
        and _trigger_function(books, names) == _trigger_source(books, names)
        and _has_trigger(books, names)
    )


def _version_key(books: psycopg.Connection, names: _Names) -> None:
    found = books.execute(
        "select indexdef from pg_indexes where schemaname = 'raw' and indexname = %s",
        (names.key,),
    ).fetchone()
    if found and "_dlt_load_id" in found[0]:
        return
    if found:
        # Built by a release that keyed raw on (scope, id, content hash) and so could never
        # record a return to an earlier content: its rows are unique under the new key too.
        books.execute(sql.SQL("drop index raw.{index}").format(index=sql.Identifier(names.key)))
    else:
        _drop_repeated_versions(books, names)
    books.execute(
        sql.SQL(
            "create unique index {index} on raw.{table} ({scope}, {id}, _dlt_load_id, content_hash)"
        ).format(index=sql.Identifier(names.key), **names.identifiers())
    )


def _drop_repeated_versions(books: psycopg.Connection, names: _Names) -> None:
    """A table's first load appends without the trigger: a job dlt replayed after a kill copied
    its rows twice, and a page delivered again in a later package of the run repeats a version.
    Of each run of equal consecutive versions (oldest first, as LATEST_FIRST orders them) the
    first is kept."""
    deleted = books.execute(
        sql.SQL(
            """
            delete from raw.{table} as t using (
                select ctid as row_ctid, content_hash, lag(content_hash) over (
                    partition by {scope}, {id}
                    order by modified_on nulls first, _dlt_load_id, content_hash
                ) as previous_hash
                from raw.{table}
            ) as ordered
            where t.ctid = ordered.row_ctid and ordered.content_hash = ordered.previous_hash
            """
        ).format(**names.identifiers())
    ).rowcount
    if deleted:
        log.warning("raw.%s: removed %d repeated copies of a version", names.table, deleted)


def _trigger_source(books: psycopg.Connection, names: _Names) -> str:
    """The trigger also skips a version a replayed load job delivers twice to one merge (row
    triggers see the rows their statement inserted before; the merge's own key check does not)."""
    body = sql.SQL(
        "begin "
        "if exists (select 1 from raw.{table} where {scope} = new.{scope} and {id} = new.{id} "
        "and _dlt_load_id = new._dlt_load_id and content_hash = new.content_hash) "
        "then return null; end if; "
        "if (select content_hash from raw.{table} where {scope} = new.{scope} "
        "and {id} = new.{id} order by {latest_first} limit 1) = new.content_hash "
        "then return null; end if; "
        "return new; end"
    ).format(latest_first=sql.SQL(LATEST_FIRST), **names.identifiers())
    return body.as_string(books)


def _trigger_function(books: psycopg.Connection, names: _Names) -> str | None:
    row = books.execute(
        "select p.prosrc from pg_proc as p join pg_namespace as n on n.oid = p.pronamespace "
        "where n.nspname = 'raw' and p.proname = %s",
        (names.trigger,),
    ).fetchone()
    return row[0] if row else None


def _has_trigger(books: psycopg.Connection, names: _Names) -> bool:
    found = books.execute(
        "select 1 from pg_trigger where tgname = %s and tgrelid = %s::regclass",
        (names.trigger, f"raw.{names.table}"),
    ).fetchone()
    return found is not None


def _skip_known_versions(books: psycopg.Connection, names: _Names) -> None:
    source = _trigger_source(books, names)
    if _trigger_function(books, names) != source:
        books.execute(
            sql.SQL(
                "create or replace function raw.{function}() returns trigger "
                "language plpgsql as {body}"
            ).format(function=sql.Identifier(names.trigger), body=sql.Literal(source))
        )
    if not _has_trigger(books, names):
        books.execute(
            sql.SQL(
                "create or replace trigger {trigger} before insert on raw.{table} "
                "for each row execute function raw.{function}()"
            ).format(
                trigger=sql.Identifier(names.trigger),
                function=sql.Identifier(names.trigger),
                **names.identifiers(),
            )
        )
