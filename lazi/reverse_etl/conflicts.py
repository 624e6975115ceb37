"""Conflicts, not overwrites. Before a field is overwritten whose merge rule
(workflow.merge_rules.field_strategies) is `keep_remote` or `manual`, the vendor's current value
is compared with the warehouse's last read of it (the queue row's read_state) and with the
value last delivered: when it differs from all of them (and from the value to write), a person
changed it since the warehouse read it. The field is then left out of the write and a
sync.conflicts row keeps both sides: `st_data` the vendor's side ({field: current value}),
`crm_data` the warehouse's ({field: {"warehouse": value to write, "last_read": value read}}).
`keep_warehouse` fields (warehouse facts, e.g. revenue) are written without a check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from lazi.db.fetch import fetch_value
from lazi.reverse_etl.queue import Claim
from lazi.reverse_etl.targets import Target

GUARDED = ("keep_remote", "manual")


def strategies(conn: psycopg.Connection, target: Target) -> dict[str, str]:
    """field -> strategy of the target's enabled merge rule with the highest priority."""
    if not target.merge_rules:
        return {}
    row = conn.execute(
        """
        select field_strategies from workflow.merge_rules
        where target_entity = %s and is_enabled
        order by priority, name
        limit 1
        """,
        (target.merge_rules,),
    ).fetchone()
    return dict(row[0]) if row else {}


@dataclass
class Found:
    remote: dict[str, Any] = field(default_factory=dict)
    warehouse: dict[str, Any] = field(default_factory=dict)


def detect(
    body: dict[str, Any],
    guarded: list[str],
    current: dict[str, Any],
    read_state: dict[str, Any] | None,
    last_delivered: dict[str, Any] | None,
    same: Callable[[str, Any, Any], bool],
) -> Found:
    found = Found()
    read_state, last_delivered = read_state or {}, last_delivered or {}
    for name in guarded:
        now = current.get(name)
        if any(
            same(name, now, other)
            for other in (read_state.get(name), last_delivered.get(name), body[name])
        ):
            continue
        found.remote[name] = now
        found.warehouse[name] = {"warehouse": body[name], "last_read": read_state.get(name)}
    return found


def record(conn: psycopg.Connection, held: Claim, found: Found) -> None:
    conn.execute(
        """
        insert into sync.conflicts (
            queue_id, target_system, entity_type, entity_id, conflict_type, st_data, crm_data
        ) values (%s, %s, %s, %s, 'remote_modified', %s, %s)
        """,
        (
            held.id,
            held.target_system,
            held.entity_type,
            held.entity_id,
            Jsonb(found.remote),
            Jsonb(found.warehouse),
        ),
    )


# --- operator commands (lazi conflicts …) ------------------------------------------------------


def open_conflicts(conn: psycopg.Connection) -> list[tuple]:
    """(id, target system, entity type, entity id, detected at, vendor side, warehouse side)."""
    return conn.execute(
        """
        select id, target_system, entity_type, entity_id, detected_at, st_data, crm_data
        from sync.conflicts
        where resolved_at is null
        order by id
        """
    ).fetchall()


def resolve(conn: psycopg.Connection, conflict_id: int, keep: str, by: str) -> int | None:
    """Close an open conflict. keep="remote": the vendor's values stay. keep="warehouse": a
    queue row writes the warehouse's values, with the vendor's values seen in the conflict as
    the last read, so it is sent unless a person changed the field again. Returns the new
    queue row's id (or None)."""
    if keep not in ("remote", "warehouse"):
        raise ValueError("keep must be 'remote' or 'warehouse'")
    with conn.transaction():
        row = conn.execute(
            """
            select conflicts.target_system, conflicts.entity_type, conflicts.entity_id,
                coalesce(queued.scope, ''), conflicts.st_data, conflicts.crm_data
            from sync.conflicts as conflicts
            left join sync.outbound_queue as queued on queued.id = conflicts.queue_id
            where conflicts.id = %s and conflicts.resolved_at is null
            for update of conflicts
            """,
            (conflict_id,),
        ).fetchone()
        if row is None:
            raise LookupError(f"no open conflict #{conflict_id}")
        system, entity_type, entity_id, scope, remote, warehouse = row
        conn.execute(
            "update sync.conflicts set resolved_at = now(), resolution = %s, resolved_by = %s "
            "where id = %s",
            ("keep_remote" if keep == "remote" else "keep_crm", by, conflict_id),
        )
        if keep == "remote":
            return None
        payload = {name: sides["warehouse"] for name, sides in (warehouse or {}).items()}
        return fetch_value(
            conn,
            """
            insert into sync.outbound_queue (
                target_system, entity_type, entity_id, scope, operation, payload, read_state,
                idempotency_key
            ) values (%s, %s, %s, %s, 'update', %s, %s, %s)
            returning id
            """,
            (
                system,
                entity_type,
                entity_id,
                scope,
                Jsonb(payload),
                Jsonb(remote or {}),
                f"conflict:{conflict_id}",
            ),
        )
