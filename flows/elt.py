"""The main job: prepare the warehouse, load every vendor into raw, build the dbt project, push
what changed back to the vendors, report. It only composes tasks: the vendors' settings come
from the environment (`lazi run` points vendors without credentials at local stand-ins around
it, lazi/stand_ins.py), the books it keeps from lazi/db."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task

from flows.push import push_targets
from flows.transform import dbt_build
from lazi import ingest
from lazi.children import die_with_parent
from lazi.config import PROJECT_ROOT, mask_secrets
from lazi.db import inbound_log, warehouse
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
        inbound_log.log_migrations(
            conn, result.applied, result.already_applied, partitions, started
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
        return {"vendor": vendor, **inbound_log.last_sync(conn, vendor)}


@task
def report() -> dict[str, Any]:
    wh = warehouse.resolve()
    with warehouse.connect(wh.url) as conn:
        return summarize(conn)


@flow(name="elt", log_prints=True)
def elt(full_checks: bool = True, push_seconds: float = 120.0) -> dict[str, Any]:
    """Run the whole ELT once. Credentials never travel as flow or task parameters: each step
    reads them from the environment, so nothing secret lands in Prefect's run records.

    `full_checks=False` is the build a schedule runs after every load: it leaves out the dbt
    tests that read whole staging views (tag staging_scan) and dbt's unit tests (checks of the
    code, which CI runs); a nightly run keeps them."""
    prepared = prepare_warehouse()
    futures = [load_vendor.submit(vendor) for vendor in ingest.VENDORS]
    loads = [future.result() for future in futures]
    built = dbt_build(per_load=not full_checks)
    pushed = push_targets(max_seconds=push_seconds)
    summary = report()
    return {
        **prepared,
        "loads": loads,
        **built,
        "push": pushed,
        **summary,
    }
