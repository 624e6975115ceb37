"""Vendor rate limits shared by every worker on every machine: token buckets per vendor scope
in PostgreSQL (sync.rate_limits holds each vendor's windows, sync.rate_buckets the state;
sync.take_rate_token takes a token in one short transaction). Workers wait before the vendor's
limit is reached, not after a 429."""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

MAX_SLEEP_S = 5.0


def take(conn: psycopg.Connection, vendor: str, scope: str) -> float:
    """0 when a token was taken, else the seconds until one may be."""
    row = conn.execute("select sync.take_rate_token(%s, %s)", (vendor, scope)).fetchone()
    return float(row[0]) if row else 0.0


def acquire(
    conn: psycopg.Connection,
    vendor: str,
    scope: str,
    *,
    while_waiting: Callable[[], bool] = lambda: True,
) -> bool:
    """Wait for a token. `while_waiting` runs between sleeps (renewing a lease); when it
    returns False the wait is abandoned and False returned."""
    while True:
        wait = take(conn, vendor, scope)
        if wait <= 0:
            return True
        if not while_waiting():
            return False
        time.sleep(min(wait, MAX_SLEEP_S))
