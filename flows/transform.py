"""`dbt build` (models, snapshots and tests together) as one Prefect task: one dbt invocation
per run, not one per model, because dbt's start-up costs more than most models."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from prefect import get_run_logger, task

from lazi import upgrade
from lazi.config import PROJECT_ROOT
from lazi.db import run_locks, warehouse
from lazi.dbt_env import dbt_environment
from lazi.progress import DbtProgress

# What a build after every load leaves to the nightly one: tests that read whole staging views
# and unit tests (they check the code, not the data); and its tests of the incremental models
# that stamp their rows read only the rows it wrote (dbt_project/macros/test_scope.sql).
PER_LOAD_EXCLUDE = ["tag:staging_scan", "resource_type:unit_test"]
PER_LOAD_ENV = {"LAZI_TEST_ROWS": "written"}


class DbtBuildFailed(RuntimeError):
    """A model failed or a test of severity error failed."""


@task
def dbt_build(
    select: list[str] | None = None,
    per_load: bool = False,
    full_refresh: bool = False,
) -> dict[str, Any]:
    from dbt.cli.main import dbtRunner  # imports in ~4 s: only when the task runs

    logger = get_run_logger()
    url = warehouse.resolve().url
    os.environ.update(dbt_environment(url))
    os.environ.update(PER_LOAD_ENV if per_load else {"LAZI_TEST_ROWS": "all"})
    args = ["build", "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)]
    if select:
        args += ["--select", *select]
    if per_load:
        args += ["--exclude", *PER_LOAD_EXCLUDE]
    if full_refresh:
        args.append("--full-refresh")
    nodes = DbtProgress()
    # One build at a time on the warehouse: scheduled loads of different vendors finish
    # together, and two builds of the same incremental models would collide.
    with run_locks.exclusive(url, "dbt"):
        # New code that changed an incremental model: rebuild it first (lazi/upgrade.py),
        # under the same lock, so no other build runs beside the rebuild.
        check = upgrade.before_build(url)
        if check.rebuilt:
            logger.info("new code: rebuilt with --full-refresh: %s", ", ".join(check.rebuilt))
        try:
            result = dbtRunner(callbacks=[nodes]).invoke(args)
        finally:
            nodes.finish()
    statuses: Counter[str] = Counter()
    failures = []
    for node in getattr(result.result, "results", None) or []:
        status = str(node.status)
        statuses[status] += 1
        if status in {"error", "fail"}:
            failures.append(f"{node.node.unique_id}: {node.message}")
    logger.info("dbt build: %s", ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())))
    if not result.success:
        detail = "; ".join(failures[:5]) or str(result.exception)
        raise DbtBuildFailed(f"dbt build failed: {detail}")
    check.saved()
    return {"dbt": dict(statuses)}


@task
def dbt_docs_generate() -> dict[str, Any]:
    """`dbt docs generate` into dbt_project/target (what `lazi docs` serves)."""
    from dbt.cli.main import dbtRunner

    url = warehouse.resolve().url
    os.environ.update(dbt_environment(url))
    args = [
        "docs",
        "generate",
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
    ]
    with run_locks.exclusive(url, "dbt"):
        result = dbtRunner().invoke(args)
    if not result.success:
        raise DbtBuildFailed(f"dbt docs generate failed: {result.exception}")
    return {"docs": "generated"}
