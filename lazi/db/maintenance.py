"""Housekeeping for the scheduled `maintenance` deployment: audit partitions ahead, pruning by
age, and `vacuum analyze` of the tables the loads and pushes churn."""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

from lazi.db.fetch import fetch_value
from lazi.errors import LaziError

# Rows the loads rewrite (sync state, the inbound log, raw's versions, the change-detection
# hashes) and the queue the pushes update in place.
CHURNED_TABLES = (
    "raw.sync_state",
    "sync.inbound_log",
    "sync.entity_hashes",
    "sync.outbound_queue",
    "sync.rate_buckets",
    "sync.locks",
)

# Finished queue rows: what was delivered or deliberately not sent; failed, dead and
# conflict rows wait for an operator (lazi queue retry / discard, lazi conflicts resolve).
FINISHED_QUEUE_STATES = ["succeeded", "discarded"]


def keep_days(name: str, default: int) -> int:
    """Days to keep, from the environment variable `name` (LAZI_KEEP_QUEUE_DAYS, …)."""
    text = os.environ.get(name, str(default)).strip()
    if not text.isdigit() or int(text) < 1:
        raise LaziError(f"{name}={text!r} is not a number of days (at least 1)")
    return int(text)


def ensure_partitions(conn: psycopg.Connection) -> int:
    """Monthly audit partitions for the months ahead (migrations/0004); returns how many
    were created."""
    return int(fetch_value(conn, "select audit.ensure_partitions()"))


def prune_queue(conn: psycopg.Connection, days: int) -> int:
    """Delete queue rows finished more than `days` ago; returns how many."""
    cur = conn.execute(
        """
        delete from sync.outbound_queue
        where status = any(%s) and completed_at < now() - make_interval(days => %s)
        """,
        (FINISHED_QUEUE_STATES, days),
    )
    return cur.rowcount


def prune_logs(conn: psycopg.Connection, days: int) -> dict[str, int]:
    """Delete finished inbound-log rows, error-log rows and API-log rows older than `days`;
    returns the count per table. Monthly api_log partitions wholly older than that are
    emptied by the same delete (partition pruning keeps it to those partitions)."""
    deleted = {}
    statements = {
        "sync.inbound_log": """
            delete from sync.inbound_log
            where status <> 'running' and started_at < now() - make_interval(days => %s)
        """,
        "audit.error_log": """
            delete from audit.error_log where occurred_at < now() - make_interval(days => %s)
        """,
        "audit.api_log": """
            delete from audit.api_log where occurred_at < now() - make_interval(days => %s)
        """,
    }
    for table, statement in statements.items():
        deleted[table] = conn.execute(statement, (days,)).rowcount
    return deleted


def vacuum_analyze(conn: psycopg.Connection) -> list[str]:
    """`vacuum analyze` each churned table that exists (needs autocommit); returns them."""
    done = []
    for name in CHURNED_TABLES:
        if fetch_value(conn, "select to_regclass(%s)", (name,)) is None:
            continue
        schema, table = name.split(".")
        conn.execute(
            sql.SQL("vacuum analyze {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        )
        done.append(name)
    return done


def record_error(
    conn: psycopg.Connection, error_type: str, message: str, source: str, context: str
) -> None:
    """One row in audit.error_log; `context` is a JSON object's text (never a secret)."""
    conn.execute(
        """
        insert into audit.error_log (error_type, error_message, source, context)
        values (%s, %s, %s, %s::jsonb)
        """,
        (error_type, message, source, context),
    )
