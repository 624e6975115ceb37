"""One push run, what `lazi push` and the `push` flow call: enqueue the changes of each
target, then deliver until the queue holds nothing due (or a dry run: only the plan)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from lazi.db import warehouse
from lazi.errors import LaziError
from lazi.reverse_etl import enqueue, worker
from lazi.reverse_etl.targets import Target, all_targets


def choose(names: list[str] | None) -> list[Target]:
    targets = all_targets()
    unknown = sorted(set(names or []) - set(targets))
    if unknown:
        raise LaziError(
            f"unknown push target {', '.join(unknown)}; choose from {', '.join(targets)}"
        )
    return [targets[name] for name in names] if names else list(targets.values())


def push(
    url: str,
    names: list[str] | None = None,
    *,
    dry_run: bool = False,
    options: worker.WorkerOptions | None = None,
) -> dict[str, Any]:
    """Enqueue and deliver; returns per target what was enqueued (or planned) and the
    worker's counts."""
    targets = choose(names)
    with warehouse.connect_as(url, worker.ROLE, autocommit=True) as conn:
        for target in targets:
            relation = ".".join(target.model)
            if conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] is None:
                raise LaziError(
                    f"{relation} does not exist yet: build it first (lazi run, or dbt build "
                    f"--select {target.model[1]})"
                )
        if dry_run:
            return {"plans": [asdict(enqueue.plan(conn, target)) for target in targets]}
        enqueued = {target.name: enqueue.enqueue(conn, target) for target in targets}
    result = worker.run(url, options, entity_types=[t.entity_type for t in targets])
    return {"enqueued": enqueued, "delivery": result.as_dict()}
