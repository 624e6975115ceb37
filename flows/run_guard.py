"""What every scheduled run does around its work: hold a lock named for itself in the warehouse
while it works (lazi/db/run_locks), and first mark Crashed the runs of every deployment of
the warehouse that Prefect still shows as running but whose process is gone (a killed worker,
a lost machine). Marking them releases their deployment's concurrency slot, which Prefect
would otherwise keep for the dead run's lease (300 s); the push runs every minute, so a dead
run is marked within about a minute and the next run of its deployment repairs the data.
On failure or crash, report_failure (flows/run_report.py) writes audit.error_log and calls
the webhook."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.runtime import deployment, flow_run

from flows.run_report import report_crash, report_failure
from lazi.db import run_locks, warehouse

HOOKS: dict[str, Any] = {"on_failure": [report_failure], "on_crashed": [report_failure]}

# A run Prefect shows as running, started this long ago, with no process holding its lock,
# is dead (a younger one may not have taken its lock yet: it does so first thing).
DEAD_AFTER = timedelta(seconds=10)
TAG = "lazi"  # every deployment's runs carry it (flows/deployments.py)


@contextmanager
def this_run() -> Iterator[str]:
    """Hold this run's liveness lock; yields the run's id (a fresh one outside Prefect)."""
    run_id = flow_run.id or str(uuid.uuid4())
    with run_locks.holding(warehouse.resolve().url, run_id):
        yield run_id


@task
def repair_crashed_runs(run_id: str) -> list[str]:
    """Mark Crashed the warehouse's runs whose process is gone; returns their names."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    if not deployment.id:
        return []
    logger = get_run_logger()
    repaired = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
                tags=FlowRunFilterTags(all_=[TAG]),
            ),
        )
        now = datetime.now(UTC)
        with warehouse.connect(warehouse.resolve().url, autocommit=True) as conn:
            for run in runs:
                if str(run.id) == run_id or not run.start_time:
                    continue
                if now - run.start_time < DEAD_AFTER or run_locks.is_alive(conn, str(run.id)):
                    continue
                client.set_flow_run_state(
                    run.id,
                    Crashed(message="its process is gone (worker killed or machine lost)"),
                    force=True,
                )
                logger.warning("marked run %s crashed: its process is gone", run.name)
                repaired.append(run.name)
                name = client.read_deployment(run.deployment_id).name if run.deployment_id else "-"
                report_crash(name, run.name, str(run.id))
    return repaired
