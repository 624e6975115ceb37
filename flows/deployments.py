"""Every deployment of the warehouse, in this one place: what runs, with which parameters, on
which schedule (lazi/schedules.py: a default each, changed by LAZI_SCHEDULE_<NAME>).

No deployment runs twice at once: each has a concurrency limit of 1, and a trigger that comes
while a run is going waits for it (collision strategy ENQUEUE), so a slow load is never
overlapped by the next one and no scheduled run is lost. Loads of different vendors are
different deployments, so they run in parallel on the pool's workers; their per-load builds
take turns on a warehouse lock (flows/transform.py)."""

from __future__ import annotations

import os
from typing import Any

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron, Interval

from flows.push import push
from flows.scheduled import full_refresh, load, maintenance, nightly
from lazi.config import PROJECT_ROOT
from lazi.ingest import VENDORS
from lazi.schedules import schedule_for

WORK_POOL = os.environ.get("LAZI_WORK_POOL", "lazi")
ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
# A push delivers for at most this long, so that it ends before the next minute's push.
PUSH_SECONDS = 45.0


def definitions() -> list[tuple[Any, str, dict[str, Any]]]:
    """(flow, deployment name, parameters) of every deployment."""
    loads = [(load, f"load-{vendor}", {"vendor": vendor}) for vendor in VENDORS]
    return [
        *loads,
        (push, "push", {"max_seconds": PUSH_SECONDS}),
        (nightly, "nightly", {}),
        (full_refresh, "weekly-full-refresh", {}),
        (maintenance, "maintenance", {}),
    ]


def deployments() -> list[Any]:
    """The deployments as Prefect RunnerDeployments, with the configured schedules."""
    built = []
    for flow, name, parameters in definitions():
        schedule = schedule_for(name)
        if schedule.interval_s is not None:
            schedules = [Interval(schedule.interval_s)]
        elif schedule.cron is not None:
            schedules = [Cron(schedule.cron, timezone=schedule.timezone)]
        else:
            schedules = []
        built.append(
            flow.to_deployment(
                name=name,
                parameters=parameters,
                schedules=schedules,
                concurrency_limit=ONE_AT_A_TIME,
                tags=["lazi"],
                # The worker runs each flow in the repository's folder (which must be at the
                # same path on every machine with a worker; LAZI_WORKDIR overrides it).
                job_variables={"working_dir": os.environ.get("LAZI_WORKDIR", str(PROJECT_ROOT))},
                description=f"{flow.description or flow.name} (schedule: {schedule.describe()})",
            )
        )
    return built


def apply(work_pool: str = WORK_POOL) -> list[str]:
    """Create or update every deployment in `work_pool` (a process pool whose workers run
    from the repository's folder); returns their full names (flow/deployment)."""
    # Entry points are recorded relative to the working folder: the repository's root.
    here = os.getcwd()
    os.chdir(PROJECT_ROOT)
    try:
        names = []
        for deployment in deployments():
            deployment.apply(work_pool_name=work_pool)
            names.append(f"{deployment.flow_name}/{deployment.name}")
        return names
    finally:
        os.chdir(here)
