"""What a scheduled run did, for people: a Prefect markdown artifact on every run (records per
endpoint, dbt results, pushes, conflicts), and the failure report (audit.error_log and the
webhook) when a run fails or crashes."""

from __future__ import annotations

import json
import logging
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact

from lazi import notify
from lazi.config import mask_secrets
from lazi.db import maintenance, report, warehouse

log = logging.getLogger("lazi.flows")


def render(title: str, result: dict[str, Any]) -> str:
    """The artifact's markdown: one table per part of the run that happened."""
    lines = [f"# {title}", ""]
    for load in result.get("loads", []):
        lines += [
            f"## load {load['vendor']}",
            "",
            "| endpoint | scope | status | fetched | new versions | deleted |",
            "|---|---|---|---:|---:|---:|",
        ]
        for endpoint, scope, status, fetched, new, deleted in load.get("endpoints", []):
            lines.append(
                f"| {endpoint} | {scope or '-'} | {status} | {fetched} | {new} | {deleted} |"
            )
        lines += ["", f"{load['fetched']} fetched, {load['new_versions']} new versions", ""]
    if result.get("dbt"):
        lines += ["## dbt", "", "| status | nodes |", "|---|---:|"]
        lines += [f"| {status} | {n} |" for status, n in sorted(result["dbt"].items())]
        lines.append("")
    if result.get("push"):
        push = result["push"]
        delivery = push.get("delivery", {})
        lines += ["## push", "", "| target | enqueued |", "|---|---:|"]
        lines += [f"| {name} | {n} |" for name, n in push.get("enqueued", {}).items()]
        lines += ["", "| delivery | rows |", "|---|---:|"]
        lines += [f"| {outcome} | {n} |" for outcome, n in delivery.items()]
        lines += ["", f"conflicts: {delivery.get('conflict', 0)}", ""]
    if result.get("maintenance"):
        lines += ["## maintenance", "", "| step | result |", "|---|---|"]
        lines += [f"| {step} | {value} |" for step, value in result["maintenance"].items()]
        lines.append("")
    if result.get("repaired_runs"):
        lines += [f"crashed runs marked: {', '.join(result['repaired_runs'])}", ""]
    return "\n".join(lines)


@task
def endpoints_of(vendor: str) -> list[tuple[Any, ...]]:
    with warehouse.connect(warehouse.resolve().url) as conn:
        return report.last_run_endpoints(conn, vendor)


@task
def publish(key: str, title: str, result: dict[str, Any]) -> str:
    """The run's markdown artifact, under `key` (the deployment's name), so the UI's artifact
    page keeps each deployment's history."""
    create_markdown_artifact(markdown=render(title, result), key=key, description=title)
    return key


def report_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect's on_failure / on_crashed hook: the cause in audit.error_log and to the
    webhook. Never raises: a receiver that is down must not hide the run's own failure."""
    from prefect.runtime import deployment

    name = deployment.name or flow.name
    _report(name, flow_run.name, str(flow_run.id), state.name, state.message or state.name)


def report_crash(deployment: str, flow_run: str, run_id: str) -> None:
    """A run found dead by another (flows/run_guard.py): reported as a hook would have."""
    _report(deployment, flow_run, run_id, "Crashed", "its process is gone (worker killed)")


def _report(deployment: str, flow_run: str, run_id: str, state: str, cause: str) -> None:
    cause = mask_secrets(cause)
    context = json.dumps({"deployment": deployment, "flow_run": flow_run, "flow_run_id": run_id})
    try:
        with warehouse.connect(warehouse.resolve(start_local=False).url, autocommit=True) as conn:
            maintenance.record_error(conn, state.lower(), cause, f"prefect:{deployment}", context)
    except Exception as exc:
        log.warning("could not write audit.error_log: %s", mask_secrets(str(exc)))
    try:
        notify.send(notify.failure_message(deployment, flow_run, run_id, state, cause))
    except Exception as exc:
        log.warning("could not call the failure webhook: %s", mask_secrets(str(exc)))
