"""Is a flow run's process alive? Each scheduled run holds a session advisory lock named for
its Prefect flow-run id while it works. PostgreSQL drops the lock the moment the process's
connection goes (a killed worker, a lost machine), so a run that Prefect still shows as
Running while nobody holds its lock is dead, whichever machine it ran on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from lazi.db import warehouse
from lazi.db.fetch import fetch_value


def _key(run_id: str) -> str:
    return f"lazi:flow-run:{run_id}"


@contextmanager
def holding(url: str, run_id: str) -> Iterator[None]:
    """Hold the run's lock on a connection of its own for as long as the block runs."""
    with warehouse.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext(%s))", (_key(run_id),))
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (_key(run_id),))


def is_alive(conn: psycopg.Connection, run_id: str) -> bool:
    """True while some session holds the run's lock (needs an autocommit connection)."""
    taken = fetch_value(conn, "select pg_try_advisory_lock(hashtext(%s))", (_key(run_id),))
    if taken:
        conn.execute("select pg_advisory_unlock(hashtext(%s))", (_key(run_id),))
    return not taken


@contextmanager
def exclusive(url: str, name: str) -> Iterator[None]:
    """A lock across every worker and machine for the block (e.g. one dbt build at a time:
    two builds of the same incremental models would collide)."""
    with warehouse.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext(%s))", (f"lazi:{name}",))
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (f"lazi:{name}",))
