"""The `push` flow: reverse ETL once (enqueue what changed in the sync_* models, deliver the
queue). The `elt` flow is meant to call it after its dbt build; credentials come from the
environment, never from flow parameters."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task

from lazi.db import warehouse
from lazi.reverse_etl.push import push as run_push


@task
def push_targets(targets: list[str] | None = None, dry_run: bool = False) -> dict[str, Any]:
    logger = get_run_logger()
    result = run_push(warehouse.resolve().url, targets, dry_run=dry_run)
    logger.info("push: %s", result)
    return result


@flow(name="push", log_prints=True)
def push(targets: list[str] | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Enqueue and deliver every push target (or `targets`); returns enqueued and delivery
    counts (succeeded, failed, dead, retried, lost)."""
    return push_targets(targets, dry_run)
