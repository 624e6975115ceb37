"""Deployments served by a real Prefect server on PostgreSQL and a real worker process (one
server and one worker for the session: tests/orchestration/conftest.py)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import psycopg

from lazi import serve
from lazi.db import report, run_locks
from tests.orchestration.conftest import (
    SCHEDULES,
    deployment,
    raw_count,
    started_by,
    trigger,
    wait_for,
)


def _schedule(dep: Any) -> list[Any]:
    return [s.schedule for s in dep.schedules]


def test_each_deployment_has_its_configured_schedule_and_runs_one_at_a_time(
    client: Any,
) -> None:
    callrail = _schedule(deployment(client, "load-callrail"))
    assert [s.interval for s in callrail] == [timedelta(seconds=1800)]
    assert [s.cron for s in _schedule(deployment(client, "nightly"))] == ["15 4 * * *"]
    assert [s.cron for s in _schedule(deployment(client, "load-servicetitan"))] == ["0 5 * * *"]
    assert _schedule(deployment(client, "push")) == []
    assert SCHEDULES["LAZI_SCHEDULE_LOAD_GOHIGHLEVEL"] == "off"
    assert _schedule(deployment(client, "load-gohighlevel")) == []
    # Not configured: the default stays.
    assert [s.cron for s in _schedule(deployment(client, "weekly-full-refresh"))] == ["0 3 * * 0"]
    for name in ("load-callrail", "push", "nightly", "weekly-full-refresh", "maintenance"):
        dep = deployment(client, name)
        assert dep.global_concurrency_limit.limit == 1, name
        assert dep.concurrency_options.collision_strategy.value == "ENQUEUE", name
    # Prefect's scheduler makes a deployment's runs on its own loop (every 60 s by default),
    # so the first ones may not exist yet when the session's server has just started.
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        runs = {row.name: row for row in serve.deployment_runs()}
        if runs["load-callrail"].next_run is not None:
            break
        time.sleep(2)
    status = subprocess.run(
        [sys.executable, "-m", "lazi.cli", "status"], capture_output=True, text=True, check=True
    ).stdout
    (line,) = [line for line in status.splitlines() if "load-callrail" in line]
    assert "every 1800 s" in line and "next 20" in line, line


def test_loads_complete_through_the_worker_never_overlap_and_land(
    orchestra: dict[str, Any], client: Any
) -> None:
    url = orchestra["url"]
    callrail = deployment(client, "load-callrail").id
    # Every vendor first (raw only; the build reads them all), one vendor triggered twice:
    # the second run waits for the first.
    first = [
        trigger(client, deployment(client, "load-servicetitan").id, build=False),
        trigger(client, deployment(client, "load-gohighlevel").id, build=False),
        trigger(client, callrail, build=False),
        trigger(client, callrail, build=False),
    ]
    runs = wait_for(client, first)
    assert [r.state_name for r in runs] == ["Completed"] * 4, [r.state.message for r in runs]
    a, b = sorted(runs[2:], key=lambda r: r.start_time)
    assert a.end_time <= b.start_time, "two runs of load-callrail overlapped"
    (built,) = wait_for(client, [trigger(client, callrail)])
    assert built.state_name == "Completed", built.state.message
    assert raw_count(url, "callrail_calls") > 0
    with psycopg.connect(url) as conn:
        calls = conn.execute("select count(*) from staging.stg_callrail__calls").fetchone()[0]
        endpoints = report.last_run_endpoints(conn, "callrail")
    assert calls > 0 and endpoints
    (artifact,) = [a for a in client.read_artifacts() if a.flow_run_id == built.id]
    for endpoint, scope, status, fetched, new, deleted in endpoints:
        assert f"| {endpoint} | {scope or '-'} | {status} | {fetched} | {new} | {deleted} |" in (
            artifact.data
        )
    assert "| success |" in artifact.data and "| pass |" in artifact.data


def test_a_permanent_failure_fails_at_once_calls_the_webhook_and_is_logged(
    orchestra: dict[str, Any], client: Any, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, TaskRunFilter

    del webhook[1][:]
    (run,) = wait_for(
        client, [trigger(client, deployment(client, "load-callrail").id, vendor="nope")]
    )
    assert run.state_name == "Failed"
    assert "unknown vendor" in run.state.message
    tasks = client.read_task_runs(
        flow_run_filter=FlowRunFilter(id={"any_": [run.id]}),
        task_run_filter=TaskRunFilter(name={"like_": "load_vendor"}),
    )
    assert [t.run_count for t in tasks] == [1]  # no retry of a permanent failure
    deadline = time.monotonic() + 30
    while not webhook[1]:
        assert time.monotonic() < deadline, "the webhook was not called"
        time.sleep(0.5)
    (message,) = webhook[1]
    assert message["deployment"] == "load-callrail"
    assert message["flow_run_id"] == str(run.id)
    assert message["state"] == "Failed" and "unknown vendor" in message["cause"]
    with psycopg.connect(orchestra["url"]) as conn:
        logged = conn.execute(
            "select error_message from audit.error_log where source = 'prefect:load-callrail'"
        ).fetchall()
    assert any("unknown vendor" in row[0] for row in logged)


def test_a_killed_worker_leaves_a_crashed_run_and_the_next_run_completes(
    orchestra: dict[str, Any], client: Any
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    url = orchestra["url"]
    ghl = deployment(client, "load-gohighlevel").id
    victim = trigger(client, ghl, build=False)
    deadline = time.monotonic() + 90
    with psycopg.connect(url, autocommit=True) as conn:
        while not run_locks.is_alive(conn, str(victim)):
            assert time.monotonic() < deadline, f"seed {seed}: the run never started"
            time.sleep(0.2)
    time.sleep(rng.uniform(0, 4))  # anywhere in the load
    run = client.read_flow_run(victim)
    worker = int((orchestra["state"] / "serve" / "worker-1.pid").read_text())
    os.killpg(worker, signal.SIGKILL)  # the machine is gone: worker and its run
    if run.infrastructure_pid:
        pid = int(str(run.infrastructure_pid).rsplit(":", 1)[-1])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    serve.serve(port=orchestra["port"], scale=40, workers=1)  # a new worker; server reused
    retry = trigger(client, ghl, build=False)
    # Any other run marks the dead one crashed, which frees its deployment's slot.
    time.sleep(run_locks_dead_after())
    (repairer,) = wait_for(client, [trigger(client, deployment(client, "push").id, dry_run=True)])
    assert repairer.state_name == "Completed", f"seed {seed}: {repairer.state.message}"
    dead, done = wait_for(client, [victim, retry], timeout_s=120)
    if dead.state_name == "Completed":  # the kill landed after the run had finished
        assert done.state_name == "Completed"
    else:
        assert dead.state_name == "Crashed", f"seed {seed}: {dead.state_name}"
        assert done.state_name == "Completed", f"seed {seed}: {done.state.message}"
    with psycopg.connect(url) as conn:
        running = conn.execute(
            "select count(*) from sync.inbound_log"
            " where vendor = 'gohighlevel' and status = 'running'"
        ).fetchone()[0]
        last = conn.execute(
            "select status from sync.inbound_log"
            " where vendor = 'gohighlevel' and endpoint = '(run)' order by id desc limit 1"
        ).fetchone()[0]
    assert (running, last) == (0, "succeeded"), f"seed {seed}"
    assert raw_count(url, "ghl_contacts") > 0


def run_locks_dead_after() -> float:
    from flows.run_guard import DEAD_AFTER

    return DEAD_AFTER.total_seconds()


def test_two_workers_split_a_batch_with_no_run_twice(
    orchestra: dict[str, Any], client: Any
) -> None:
    """Two workers poll one pool. Which one claims a run is a race, so each pair of runs is
    triggered while the other worker is paused (SIGSTOP): the first pair can only go to
    worker-2, the second only to worker-1, and every run must start exactly once."""
    serve.serve(port=orchestra["port"], scale=40, workers=2)
    push, upkeep = deployment(client, "push").id, deployment(client, "maintenance").id
    pids = {name: serve._running(name) for name in ("worker-1", "worker-2")}
    assert all(pids.values()), pids
    deadline = time.monotonic() + 120
    while "worker-2" not in started_by(orchestra["state"]) or not any(
        "started" in line
        for line in (orchestra["state"] / "serve" / "worker-2.log").read_text().splitlines()
    ):
        assert time.monotonic() < deadline, "worker-2 did not start"
        time.sleep(0.5)
    ran_by: dict[str, list[str]] = {}
    for busy, paused in (("worker-2", "worker-1"), ("worker-1", "worker-2")):
        os.killpg(pids[paused], signal.SIGSTOP)
        try:
            # two short deployments (a dry-run push plans only): two runs can go at once
            ids = [trigger(client, push, dry_run=True), trigger(client, upkeep)]
            runs = wait_for(client, ids, timeout_s=150)
        finally:
            os.killpg(pids[paused], signal.SIGCONT)
        assert [r.state_name for r in runs] == ["Completed"] * 2, busy
        ran_by[busy] = sorted(r.name for r in runs)
    started = started_by(orchestra["state"])
    for worker, names in ran_by.items():
        assert set(names) <= set(started.get(worker, [])), (worker, names, started)
    every_start = [n for found in started.values() for n in found]
    names = [n for found in ran_by.values() for n in found]
    assert all(every_start.count(n) == 1 for n in names), started


def test_a_shortened_interval_produces_runs_on_its_own(
    orchestra: dict[str, Any], client: Any, monkeypatch: Any
) -> None:
    """Last in the module: the shortened schedule runs until the session ends."""
    from prefect.client.schemas.filters import DeploymentFilter, FlowRunFilter

    # As a user would: change the setting, run `lazi serve` again (it re-applies).
    monkeypatch.setenv("LAZI_SCHEDULE_MAINTENANCE", "6")
    serve.serve(port=orchestra["port"], scale=40, workers=1)
    dep = deployment(client, "maintenance")
    assert [s.interval for s in _schedule(dep)] == [timedelta(seconds=6)]
    deadline = time.monotonic() + 120
    while True:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id={"any_": [dep.id]}),
            flow_run_filter=FlowRunFilter(state={"type": {"any_": ["COMPLETED"]}}),
        )
        if any(r.auto_scheduled for r in runs):
            break
        assert time.monotonic() < deadline, [(r.name, r.state_name) for r in runs]
        time.sleep(1)
    with psycopg.connect(orchestra["url"]) as conn:
        partitions = conn.execute(
            "select count(*) from pg_inherits where inhparent = 'audit.api_log'::regclass"
        ).fetchone()[0]
    assert partitions > 1
