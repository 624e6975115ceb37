"""The main job: prepare the warehouse, then (as later parts land) load, transform and push."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task

from lazi.db import warehouse
from lazi.db.migrate import migrate
from lazi.db.report import summarize


@task(retries=2, retry_delay_seconds=[2, 10])
def prepare_warehouse() -> dict[str, Any]:
    """Apply pending migrations and create the audit partitions for the months ahead."""
    logger = get_run_logger()
    wh = warehouse.resolve()
    logger.info("warehouse: %s", wh.masked_url)
    started = datetime.now(UTC)
    result = migrate(wh.url)
    with warehouse.connect(wh.url, autocommit=True) as conn:
        partitions = conn.execute("select audit.ensure_partitions()").fetchone()[0]
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
                len(result.applied) + result.already_applied,
                len(result.applied),
                result.already_applied,
                started,
                json.dumps(result.applied),
                partitions,
            ),
        )
    logger.info(
        "migrations: %d applied, %d already applied; %d audit partitions created",
        len(result.applied),
        result.already_applied,
        partitions,
    )
    return {
        "migrations_applied": result.applied,
        "migrations_already_applied": result.already_applied,
        "partitions_created": partitions,
    }


@task
def report() -> dict[str, Any]:
    wh = warehouse.resolve()
    with warehouse.connect(wh.url) as conn:
        return summarize(conn)


@flow(name="elt", log_prints=True)
def elt() -> dict[str, Any]:
    """Run the whole ELT once. Credentials never travel as flow parameters: each task resolves
    the warehouse from the environment, so nothing secret lands in Prefect's run records."""
    prepared = prepare_warehouse()
    summary = report()
    return {**prepared, **summary}
