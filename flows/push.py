"""The `push` flow: reverse ETL once (enqueue what changed in the sync_* models, deliver the
queue). The `elt` flow is meant to call it after its dbt build; credentials come from the
environment, never from flow parameters."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.runtime import deployment

from flows.run_guard import HOOKS, repair_crashed_runs, this_run
from flows.run_report import publish
from lazi.db import warehouse
from lazi.reverse_etl.push import push as run_push
from lazi.reverse_etl.worker import WorkerOptions


@task
def push_targets(
    targets: list[str] | None = None, dry_run: bool = False, max_seconds: float | None = None
) -> dict[str, Any]:
    """`max_seconds` bounds the delivery: what a vendor's rate limit does not let through by
    then stays queued for the next push (nothing is lost)."""
    logger = get_run_logger()
    options = WorkerOptions(max_seconds=max_seconds)
    result = run_push(warehouse.resolve().url, targets, dry_run=dry_run, options=options)
    logger.info("push: %s", result)
    return result


@flow(name="push", log_prints=True, **HOOKS)
def push(
    targets: list[str] | None = None, dry_run: bool = False, max_seconds: float | None = None
) -> dict[str, Any]:
    """Enqueue and deliver every push target (or `targets`); returns enqueued and delivery
    counts (succeeded, conflict, failed, dead, retried, lost)."""
    with this_run() as run_id:
        repaired = repair_crashed_runs(run_id)
        result = push_targets(targets, dry_run, max_seconds)
        publish(deployment.name or "push", "push", {"push": result, "repaired_runs": repaired})
    return result
