"""Every request the worker makes, in audit.api_log: never a header, token or body."""

from __future__ import annotations

import psycopg

from lazi.config import mask_secrets
from lazi.reverse_etl.delivery import Outcome


def log_request(
    conn: psycopg.Connection, vendor: str, scope: str, queue_id: int, outcome: Outcome
) -> None:
    conn.execute(
        """
        insert into audit.api_log (
            vendor, direction, method, path, status_code, response_time_ms, scope,
            request_id, error, queue_id
        ) values (%s, 'outbound', %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            vendor,
            outcome.method,
            outcome.path,
            outcome.status,
            outcome.milliseconds,
            scope,
            outcome.request_id,
            mask_secrets(outcome.message)[:1000] if outcome.kind != "done" else None,
            queue_id,
        ),
    )
