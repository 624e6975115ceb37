"""The flows the deployments run (flows/deployments.py): a vendor's load with its per-load
build, the nightly build with every test and the docs, the weekly full refresh, maintenance.
The push flow is flows/push.py. Each flow only composes tasks.

Every run first marks crashed the dead runs of its deployment (flows/run_guard.py); the
work it then does repairs what they left, as the loaders' crash-safety promises."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.runtime import deployment

from flows.elt import load_vendor, prepare_warehouse
from flows.run_guard import HOOKS, repair_crashed_runs, this_run
from flows.run_report import endpoints_of, publish
from flows.transform import dbt_build, dbt_docs_generate
from lazi.db import maintenance as upkeep
from lazi.db import warehouse


@flow(name="load", log_prints=True, **HOOKS)
def load(vendor: str, build: bool = True) -> dict[str, Any]:
    """Load one vendor incrementally into raw, then the per-load dbt build."""
    with this_run() as run_id:
        repaired = repair_crashed_runs(run_id)
        loaded = load_vendor(vendor)
        loaded["endpoints"] = endpoints_of(vendor)
        # The whole project's per-load build, as `lazi run --no-full-checks` does: a selection
        # by vendor (dbt's @source:X) would still take most models, and on a new warehouse
        # its tests would read models of other vendors that it did not build.
        built = dbt_build(per_load=True) if build else {}
        result = {"loads": [loaded], **built, "repaired_runs": repaired}
        publish(deployment.name or f"load-{vendor}", f"load {vendor}", result)
    return result


@flow(name="nightly", log_prints=True, **HOOKS)
def nightly() -> dict[str, Any]:
    """Migrations and partitions, the build with every test, and `dbt docs generate`."""
    with this_run() as run_id:
        repaired = repair_crashed_runs(run_id)
        prepare_warehouse()
        built = dbt_build(per_load=False)
        dbt_docs_generate()
        result = {**built, "repaired_runs": repaired}
        publish(deployment.name or "nightly", "nightly build", result)
    return result


@flow(name="full-refresh", log_prints=True, **HOOKS)
def full_refresh() -> dict[str, Any]:
    """`dbt build --full-refresh`: every incremental model rebuilt from raw."""
    with this_run() as run_id:
        repaired = repair_crashed_runs(run_id)
        built = dbt_build(full_refresh=True)
        result = {**built, "repaired_runs": repaired}
        publish(deployment.name or "weekly-full-refresh", "full refresh", result)
    return result


@task
def ensure_partitions() -> int:
    with warehouse.connect(warehouse.resolve().url, autocommit=True) as conn:
        return upkeep.ensure_partitions(conn)


@task
def prune(queue_days: int, log_days: int) -> dict[str, int]:
    with warehouse.connect(warehouse.resolve().url, autocommit=True) as conn:
        return {"sync.outbound_queue": upkeep.prune_queue(conn, queue_days)} | upkeep.prune_logs(
            conn, log_days
        )


@task
def vacuum_analyze() -> list[str]:
    with warehouse.connect(warehouse.resolve().url, autocommit=True) as conn:
        return upkeep.vacuum_analyze(conn)


@flow(name="maintenance", log_prints=True, **HOOKS)
def maintenance(queue_days: int | None = None, log_days: int | None = None) -> dict[str, Any]:
    """Audit partitions ahead; finished queue rows and old logs deleted by age (days:
    parameters, else LAZI_KEEP_QUEUE_DAYS, default 30, and LAZI_KEEP_LOG_DAYS, default 90);
    `vacuum analyze` of the churned tables."""
    with this_run() as run_id:
        repaired = repair_crashed_runs(run_id)
        partitions = ensure_partitions()
        pruned = prune(
            queue_days or upkeep.keep_days("LAZI_KEEP_QUEUE_DAYS", 30),
            log_days or upkeep.keep_days("LAZI_KEEP_LOG_DAYS", 90),
        )
        vacuumed = vacuum_analyze()
        steps = {"partitions created": partitions, "vacuum analyze": ", ".join(vacuumed)}
        steps |= {f"deleted from {table}": n for table, n in pruned.items()}
        result = {"maintenance": steps, "repaired_runs": repaired}
        publish(deployment.name or "maintenance", "maintenance", result)
    return result
