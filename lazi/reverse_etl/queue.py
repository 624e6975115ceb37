"""sync.outbound_queue: claiming rows under a lease, and every write that finishes a claim.

A claim takes due rows with FOR UPDATE SKIP LOCKED, marks them `in_progress` until
`lease_expires_at` and gives each a new fencing token (`lease_token`, from a sequence). Every
later write of the claimer is conditional on its token: a worker that paused past its lease,
whose rows another worker reclaimed, changes nothing. Only the oldest open row of a record can
be claimed, so one record's rows are delivered in order and never two at once; a row that
failed stops blocking the rows after it. Everything happens inside single transactions (no
session advisory locks, no LISTEN/NOTIFY): it works behind a transaction-mode pooler.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

OPEN = ("pending", "in_progress")


@dataclass(frozen=True)
class Claim:
    id: int
    target_system: str
    entity_type: str
    entity_id: str
    scope: str
    payload: Any
    content_hash: str | None
    read_state: Any  # the vendor's values as last read (conflict checks), or None
    attempts: int
    max_attempts: int
    lease_token: int


class LeaseLost(Exception):
    """The row's lease expired and another worker holds it now."""


def claim(
    conn: psycopg.Connection,
    worker_id: str,
    *,
    batch_size: int,
    lease_s: float,
    entity_types: Sequence[str] | None = None,
) -> list[Claim]:
    """Claim up to `batch_size` due rows: pending ones whose time has come and in-progress
    ones whose lease expired (their worker died or stalled)."""
    with conn.transaction():
        rows = conn.execute(
            """
            with due as (
                select queued.id
                from sync.outbound_queue as queued
                where
                    (
                        (queued.status = 'pending' and queued.next_attempt_at <= now())
                        or (queued.status = 'in_progress' and queued.lease_expires_at < now())
                    )
                    and (%(types)s::text[] is null or queued.entity_type = any(%(types)s))
                    and not exists (
                        select 1 from sync.outbound_queue as older
                        where
                            older.target_system = queued.target_system
                            and older.entity_type = queued.entity_type
                            and older.entity_id = queued.entity_id
                            and older.id < queued.id
                            and older.status in ('pending', 'in_progress')
                    )
                order by queued.next_attempt_at, queued.id
                limit %(batch)s
                for update of queued skip locked
            )
            update sync.outbound_queue as queued
            set
                status = 'in_progress',
                attempts = queued.attempts + 1,
                claimed_by = %(worker)s,
                claimed_at = now(),
                lease_expires_at = now() + make_interval(secs => %(lease)s),
                lease_token = nextval('sync.lease_token_seq')
            from due
            where queued.id = due.id
            returning
                queued.id, queued.target_system, queued.entity_type, queued.entity_id,
                queued.scope, queued.payload, queued.content_hash, queued.read_state,
                queued.attempts,
                queued.max_attempts, queued.lease_token
            """,
            {
                "types": list(entity_types) if entity_types else None,
                "batch": batch_size,
                "worker": worker_id,
                "lease": lease_s,
            },
        ).fetchall()
    return sorted((Claim(*row) for row in rows), key=lambda c: c.id)


def renew(conn: psycopg.Connection, held: Claim, lease_s: float) -> bool:
    """Extend the lease before a slow step; False when it was lost."""
    row = conn.execute(
        """
        update sync.outbound_queue
        set lease_expires_at = now() + make_interval(secs => %s)
        where id = %s and lease_token = %s and status = 'in_progress'
        returning id
        """,
        (lease_s, held.id, held.lease_token),
    ).fetchone()
    return row is not None


def _finish(conn: psycopg.Connection, held: Claim, assignments: str, params: tuple) -> None:
    row = conn.execute(
        "update sync.outbound_queue set "
        + assignments
        + ", lease_expires_at = null where id = %s and lease_token = %s"
        " and status = 'in_progress' returning id",
        (*params, held.id, held.lease_token),
    ).fetchone()
    if row is None:
        raise LeaseLost(f"queue row {held.id}: lease lost")


def succeed(
    conn: psycopg.Connection,
    held: Claim,
    response: Any,
    also: Callable[[psycopg.Connection], None] | None = None,
) -> bool:
    """Mark delivered, record the delivered hash and run `also` (e.g. a conversion log row),
    all in one transaction and only while the lease is ours. False when it was lost."""
    try:
        with conn.transaction():
            _finish(
                conn,
                held,
                "status = 'succeeded', completed_at = now(), last_error = null, response = %s",
                (Jsonb(response),),
            )
            _record_hash(conn, held)
            if also is not None:
                also(conn)
    except LeaseLost:
        return False
    return True


def _record_hash(conn: psycopg.Connection, held: Claim) -> None:
    if held.content_hash is not None:
        conn.execute(
            """
            update sync.entity_hashes
            set last_pushed_hash = %s, last_pushed_at = now()
            where entity_type = %s and entity_id = %s
            """,
            (held.content_hash, held.entity_type, held.entity_id),
        )


def retry_later(conn: psycopg.Connection, held: Claim, error: str, delay_s: float) -> str:
    """Back to pending after `delay_s`, or `dead` once max_attempts are spent; returns the
    new status, or 'lost'."""
    status = "dead" if held.attempts >= held.max_attempts else "pending"
    try:
        with conn.transaction():
            _finish(
                conn,
                held,
                "status = %s, last_error = %s,"
                " next_attempt_at = now() + make_interval(secs => %s),"
                " completed_at = case when %s::text = 'dead' then now() end",
                (status, error, delay_s, status),
            )
    except LeaseLost:
        return "lost"
    return status


def keep_remote(
    conn: psycopg.Connection, held: Claim, also: Callable[[psycopg.Connection], None]
) -> bool:
    """Nothing left to write (the vendor's values stand, `also` records the conflicts): the
    row ends `conflict`, its hash counts as delivered so it is not queued again."""
    try:
        with conn.transaction():
            _finish(conn, held, "status = 'conflict', completed_at = now()", ())
            _record_hash(conn, held)
            also(conn)
    except LeaseLost:
        return False
    return True


def last_delivered(conn: psycopg.Connection, held: Claim) -> Any:
    """The payload last delivered for the row's record, or None."""
    row = conn.execute(
        """
        select payload from sync.outbound_queue
        where target_system = %s and entity_type = %s and entity_id = %s
            and status = 'succeeded'
        order by id desc
        limit 1
        """,
        (held.target_system, held.entity_type, held.entity_id),
    ).fetchone()
    return row[0] if row else None


def fail(
    conn: psycopg.Connection,
    held: Claim,
    error: str,
    also: Callable[[psycopg.Connection], None] | None = None,
) -> bool:
    """Failed for good (the vendor rejected it, or it cannot be sent): the error is kept,
    and `also` runs in the same transaction (e.g. the error shown on the source row)."""
    try:
        with conn.transaction():
            _finish(
                conn,
                held,
                "status = 'failed', last_error = %s, completed_at = now()",
                (error,),
            )
            if also is not None:
                also(conn)
    except LeaseLost:
        return False
    return True


def release(conn: psycopg.Connection, held: Claim) -> None:
    """Hand back a claimed row that was not tried (the worker is stopping)."""
    conn.execute(
        """
        update sync.outbound_queue
        set status = 'pending', attempts = greatest(attempts - 1, 0), lease_expires_at = null
        where id = %s and lease_token = %s and status = 'in_progress'
        """,
        (held.id, held.lease_token),
    )


def seconds_to_next(
    conn: psycopg.Connection, entity_types: Sequence[str] | None = None
) -> float | None:
    """Seconds until a row may become claimable (a retry falls due, a lease expires), 0 if
    one is now; None when no row is open."""
    row = conn.execute(
        """
        select
            count(*),
            greatest(extract(epoch from min(
                case status when 'pending' then next_attempt_at else lease_expires_at end
            ) - now()), 0)
        from sync.outbound_queue
        where status in ('pending', 'in_progress')
            and (%(types)s::text[] is null or entity_type = any(%(types)s))
        """,
        {"types": list(entity_types) if entity_types else None},
    ).fetchone()
    return None if not row or not row[0] else float(row[1] or 0)


# --- operator commands (lazi queue …) ---------------------------------------------------------


def status_counts(conn: psycopg.Connection) -> list[tuple[str, str, str, int, Any]]:
    """(target system, entity type, status, rows, oldest created_at) per group."""
    return conn.execute(
        """
        select target_system, entity_type, status, count(*), min(created_at)
        from sync.outbound_queue
        group by 1, 2, 3
        order by 1, 2, 3
        """
    ).fetchall()


def recent_errors(conn: psycopg.Connection, limit: int = 10) -> list[tuple]:
    return conn.execute(
        """
        select id, target_system, entity_type, entity_id, status, attempts, last_error
        from sync.outbound_queue
        where status in ('failed', 'dead')
        order by updated_at desc
        limit %s
        """,
        (limit,),
    ).fetchall()


def retry(conn: psycopg.Connection, ids: Sequence[int] | None, status: str | None) -> int:
    """Failed or dead rows (by id, or all of a status) back to pending with fresh attempts."""
    assignments = "status = 'pending', attempts = 0, next_attempt_at = now(), completed_at = null"
    return _operate(conn, ids, status, assignments, ["failed", "dead"])


def discard(conn: psycopg.Connection, ids: Sequence[int] | None, status: str | None) -> int:
    """Rows an operator chose not to send (pending, failed or dead ones)."""
    assignments = "status = 'discarded', completed_at = now()"
    return _operate(conn, ids, status, assignments, ["pending", "failed", "dead"])


def _operate(
    conn: psycopg.Connection,
    ids: Sequence[int] | None,
    status: str | None,
    assignments: str,
    allowed: list[str],
) -> int:
    if not ids and not status:
        raise ValueError("name the rows: ids or a status")
    with conn.transaction():
        cursor = conn.execute(
            "update sync.outbound_queue set "
            + assignments
            + """
            where status = any(%(allowed)s)
                and (%(ids)s::bigint[] is null or id = any(%(ids)s))
                and (%(status)s::text is null or status = %(status)s)
            """,
            {"allowed": allowed, "ids": list(ids) if ids else None, "status": status},
        )
        return cursor.rowcount
