"""The rows of sync.inbound_log the flows write and read (the loaders keep their own books in
dlt_pipelines/common/pipeline.py): one row per migration step, the last sync of a vendor."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import psycopg

LAST_SYNC_KEYS = ("fetched", "new_versions", "deleted_marked", "requests", "duration_ms")


def log_migrations(
    conn: psycopg.Connection,
    applied: list[str],
    already_applied: int,
    partitions_created: int,
    started: datetime,
) -> None:
    conn.execute(
        """
        insert into sync.inbound_log (
            run_id, vendor, endpoint, sync_type, status, records_fetched,
            records_created, records_unchanged, started_at, finished_at, details
        ) values (%s, 'lazi', 'migrations', 'migrate', 'succeeded', %s, %s, %s, %s, now(),
                  jsonb_build_object('applied', %s::jsonb, 'partitions_created', %s))
        """,
        (
            uuid.uuid4(),
            len(applied) + already_applied,
            len(applied),
            already_applied,
            started,
            json.dumps(applied),
            partitions_created,
        ),
    )


def last_sync(conn: psycopg.Connection, vendor: str) -> dict[str, Any]:
    """What the vendor's last succeeded sync did (zeros when it never succeeded)."""
    row = conn.execute(
        """
        select records_fetched, records_created, records_deleted, requests_made, duration_ms
        from sync.inbound_log
        where vendor = %s and endpoint = '(run)' and status = 'succeeded'
        order by id desc limit 1
        """,
        (vendor,),
    ).fetchone()
    return dict(zip(LAST_SYNC_KEYS, row or (0, 0, 0, 0, 0), strict=True))
