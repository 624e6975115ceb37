"""Desired state minus what was delivered becomes queue rows.

For each record of a target's `sync_*` model whose content hash differs from the last hash
delivered (sync.entity_hashes.last_pushed_hash; a record whose delivery failed has none, so it
is sent again), one queue row. Its idempotency key is (target, record, hash): running enqueue
again adds nothing, and a failed or dead row for the same content goes back to pending
instead of being duplicated. The hash bookkeeping and the rows commit together; concurrent
enqueues of one target wait for each other (a transaction-scoped advisory lock, pooler-safe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from lazi.reverse_etl.targets import Target


def _desired(target: Target) -> sql.Composed:
    schema, table = target.model
    return sql.SQL(
        "select entity_id, {scope}::text as scope, payload, content_hash, read_state from {model}"
    ).format(scope=sql.Identifier(target.scope_column), model=sql.Identifier(schema, table))


def enqueue(conn: psycopg.Connection, target: Target) -> int:
    """Queue the changed records of `target`; returns how many rows became pending."""
    query = sql.SQL(
        """
        with desired as ({desired}),
        hashes as (
            insert into sync.entity_hashes (entity_type, entity_id, master_hash)
            select %(entity_type)s, desired.entity_id, desired.content_hash from desired
            on conflict (entity_type, entity_id) do update
            set master_hash = excluded.master_hash
            where entity_hashes.master_hash is distinct from excluded.master_hash
        )
        insert into sync.outbound_queue as queued (
            target_system, entity_type, entity_id, scope, operation, payload, content_hash,
            read_state, idempotency_key
        )
        select
            %(vendor)s, %(entity_type)s, desired.entity_id, desired.scope, %(operation)s,
            desired.payload, desired.content_hash, desired.read_state,
            %(entity_type)s || ':' || desired.entity_id || ':' || desired.content_hash
        from desired
        left join sync.entity_hashes as delivered
            on delivered.entity_type = %(entity_type)s
            and delivered.entity_id = desired.entity_id
        where delivered.last_pushed_hash is distinct from desired.content_hash
        order by desired.entity_id
        on conflict (idempotency_key) do update
        set status = 'pending', attempts = 0, next_attempt_at = now(), last_error = null,
            completed_at = null, read_state = excluded.read_state
        where queued.status in ('failed', 'dead')
        returning queued.id
        """
    ).format(desired=_desired(target))
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"lazi.enqueue:{target.name}",))
        rows = conn.execute(
            query,
            {
                "entity_type": target.entity_type,
                "vendor": target.vendor,
                "operation": target.operation,
            },
        ).fetchall()
    return len(rows)


@dataclass
class Plan:
    """What a push would send, without sending or queueing anything (`lazi push --dry-run`)."""

    target: str
    create: int = 0  # never delivered before
    update: int = 0  # delivered before, content changed
    skip: int = 0  # what was delivered last is still right
    samples: list[dict[str, Any]] = field(default_factory=list)


def plan(conn: psycopg.Connection, target: Target, samples: int = 3) -> Plan:
    query = sql.SQL(
        """
        with desired as ({desired})
        select
            desired.entity_id,
            delivered.last_pushed_hash,
            desired.content_hash,
            desired.payload,
            (
                select last.payload from sync.outbound_queue as last
                where last.entity_type = %(entity_type)s
                    and last.entity_id = desired.entity_id
                    and last.status = 'succeeded'
                order by last.id desc
                limit 1
            ) as last_payload
        from desired
        left join sync.entity_hashes as delivered
            on delivered.entity_type = %(entity_type)s
            and delivered.entity_id = desired.entity_id
        order by desired.entity_id
        """
    ).format(desired=_desired(target))
    result = Plan(target.name)
    for entity_id, pushed, wanted, payload, last in conn.execute(
        query, {"entity_type": target.entity_type}
    ):
        if pushed == wanted:
            result.skip += 1
            continue
        if pushed is None:
            result.create += 1
        else:
            result.update += 1
        if len(result.samples) < samples:
            result.samples.append(_diff(entity_id, last or {}, payload))
    return result


def _diff(entity_id: str, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changed = {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if before.get(name) != value
    }
    return {"entity_id": entity_id, "changes": changed}
