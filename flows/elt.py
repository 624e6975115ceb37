"""The main job: prepare the warehouse, load every vendor into raw, build the dbt project, report.

Vendors without credentials in the environment (or .dlt/secrets.toml) are loaded from local
stand-ins started for the run, so `make run` works on a machine with no vendor accounts.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task

from flows.push import push_targets
from flows.transform import dbt_build
from lazi import ingest
from lazi.children import die_with_parent
from lazi.config import PROJECT_ROOT, mask_secrets
from lazi.db import warehouse
from lazi.db.fetch import fetch_value
from lazi.db.migrate import migrate
from lazi.db.report import summarize
from lazi.errors import LaziError
from lazi.progress import run_relaying


def can_heal(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry condition: a LaziError (a wrong password, an unknown database, a failed
    migration) fails the same way on every try, unless it is a connection failure that may
    heal; a failed sync says itself whether it may heal (SyncFailed); anything else gets the
    task's retries."""
    del task, task_run
    failure = state.data
    return getattr(failure, "transient", not isinstance(failure, LaziError))


@task(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=can_heal)
def prepare_warehouse() -> dict[str, Any]:
    """Apply pending migrations and create the audit partitions for the months ahead."""
    logger = get_run_logger()
    wh = warehouse.resolve()
    logger.info("warehouse: %s", wh.masked_url)
    started = datetime.now(UTC)
    result = migrate(wh.url)
    with warehouse.connect(wh.url, autocommit=True) as conn:
        partitions = fetch_value(conn, "select audit.ensure_partitions()")
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


class SyncFailed(RuntimeError):
    """A vendor's sync ended with an error; `transient` when running it again may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@task(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=can_heal)
def load_vendor(vendor: str) -> dict[str, Any]:
    """`lazi sync <vendor>` in its own process: dlt keeps per-process state, and a vendor that
    crashes or runs out of memory must not take the others down. It dies with the flow's
    process: a killed run must not leave a sync holding its vendor's lock."""
    logger = get_run_logger()
    # Its progress lines go onto this process's board as they come (lazi/progress.py).
    result = run_relaying(
        [sys.executable, "-m", "lazi.cli", "sync", vendor],
        cwd=PROJECT_ROOT,
        preexec_fn=die_with_parent(),  # this thread waits for the child: see lazi/children.py
    )
    for line in (result.stdout + result.stderr).splitlines():
        if line.strip():
            logger.info("%s | %s", vendor, mask_secrets(line))
    if result.returncode != 0:
        # The first error line is the cause; the last only says that the sync failed.
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        cause = mask_secrets(errors[0] if errors else f"lazi sync {vendor} failed")
        # A killed sync (signal) is worth another try; a vendor's 4xx or bad settings are not.
        raise SyncFailed(cause, transient=ingest.sync_failure_is_transient(cause))
    wh = warehouse.resolve()
    with warehouse.connect(wh.url) as conn:
        row = conn.execute(
            """
            select records_fetched, records_created, records_deleted, requests_made, duration_ms
            from sync.inbound_log
            where vendor = %s and endpoint = '(run)' and status = 'succeeded'
            order by id desc limit 1
            """,
            (vendor,),
        ).fetchone()
    keys = ("fetched", "new_versions", "deleted_marked", "requests", "duration_ms")
    return {"vendor": vendor, **dict(zip(keys, row or (0, 0, 0, 0, 0), strict=True))}


@task
def report() -> dict[str, Any]:
    wh = warehouse.resolve()
    with warehouse.connect(wh.url) as conn:
        return summarize(conn)


@contextmanager
def stand_ins_where_needed(scale: int) -> Iterator[list[str]]:
    """Start the local stand-ins for vendors that have no credentials; yields their names."""
    missing = [
        vendor
        for vendor in ingest.VENDORS
        if not ingest.vendor_configured(vendor)
        and not (PROJECT_ROOT / ".dlt" / "secrets.toml").exists()
    ]
    if not missing:
        yield []
        return
    from lazi.sandbox.server import describe, start_sandbox

    sandbox = start_sandbox(scale, 7)
    saved = dict(os.environ)
    config = ingest.source_env(describe(sandbox))
    # Only the vendors lacking credentials are pointed at the stand-ins.
    os.environ.update(
        {k: v for k, v in config.items() if any(f"__{m.upper()}__" in k for m in missing)}
    )
    try:
        yield missing
    finally:
        os.environ.clear()
        os.environ.update(saved)
        sandbox.stop()


@flow(name="elt", log_prints=True)
def elt(
    sandbox_scale: int = 300, full_checks: bool = True, push_seconds: float = 120.0
) -> dict[str, Any]:
    """Run the whole ELT once. Credentials never travel as flow or task parameters: each step
    reads them from the environment, so nothing secret lands in Prefect's run records.

    `full_checks=False` is the build a schedule runs after every load: it leaves out the dbt
    tests that read whole staging views (tag staging_scan) and dbt's unit tests (checks of the
    code, which CI runs); a nightly run keeps them."""
    logger = get_run_logger()
    prepared = prepare_warehouse()
    with stand_ins_where_needed(sandbox_scale) as simulated:
        if simulated:
            logger.info("no credentials for %s: loading from local stand-ins", ", ".join(simulated))
        futures = [load_vendor.submit(vendor) for vendor in ingest.VENDORS]
        loads = [future.result() for future in futures]
        built = dbt_build(per_load=not full_checks)
        # While the stand-ins still run: the push writes to the same vendors it read.
        pushed = push_targets(max_seconds=push_seconds)
    summary = report()
    return {
        **prepared,
        "loads": loads,
        "simulated_vendors": simulated,
        **built,
        "push": pushed,
        **summary,
    }
