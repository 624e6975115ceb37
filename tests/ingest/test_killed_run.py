"""SIGKILL `lazi run` while every vendor is loading: nothing it started may live on (the Prefect
server, the syncs), and the next run of each vendor closes the rows the killed one left open."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

from lazi.config import PROJECT_ROOT
from lazi.ingest import VENDORS
from lazi.sandbox.server import Sandbox

LAZI = str(Path(sys.executable).with_name("lazi"))


def proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, ppid, process group, start time) of a live process, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] in ("Z", "X"):  # dead; only its reaping is left to whoever adopted it
        return None
    return fields[0], int(fields[1]), int(fields[2]), int(fields[19])


def all_processes() -> dict[int, tuple[str, int, int, int]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := proc_stat(int(entry))) is not None:
            found[int(entry)] = stat
    return found


def descendants(root: int) -> dict[int, int]:
    """pid -> start time of every live process below `root`."""
    processes = all_processes()
    below: dict[int, int] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (_, ppid, _, started) in processes.items():
            if ppid == parent and pid not in below:
                below[pid] = started
                frontier.append(pid)
    return below


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


def survivors(started: dict[int, int], group: int) -> set[int]:
    """Processes of `started` (pid -> start time) still alive, and any left in `group`."""
    alive = {
        pid for pid, began in started.items() if (proc_stat(pid) or ("", 0, 0, -1))[3] == began
    }
    in_group = {pid for pid, (_, _, pgrp, _) in all_processes().items() if pgrp == group}
    return alive | in_group


def running_runs(url: str) -> dict[str, str]:
    """vendor -> run_id of the '(run)' rows still marked running."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select vendor, run_id::text from sync.inbound_log "
            "where endpoint = '(run)' and status = 'running'"
        ).fetchall()
    return dict(rows)


def set_faults(sandbox: Sandbox, config: dict[str, float]) -> None:
    for vendor in VENDORS:
        url = f"{sandbox.base_url(vendor)}/_sandbox/faults"
        httpx.post(url, json=config).raise_for_status()


def test_killed_run_leaves_no_process_and_its_open_rows_are_closed_next_time(
    sandbox: Sandbox, configured: dict[str, str], warehouse: str
) -> None:
    # Every vendor request hangs (far longer than the sources' timeouts), so the kill lands
    # while all three syncs are loading, whatever the machine's speed.
    set_faults(sandbox, {"rate_slow": 1.0, "slow_s": 600})
    env = {**os.environ, "DATABASE_URL": warehouse}
    run = subprocess.Popen(
        [LAZI, "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, to find every process it started
    )
    started: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 600  # the first start of Prefect is slow on 2 cores
        while len(running_runs(warehouse)) < len(VENDORS):
            assert run.poll() is None, f"lazi run ended early with {run.returncode}"
            assert time.monotonic() < deadline, "the three syncs never started"
            time.sleep(0.2)
        started = descendants(run.pid)
        commands = [command_line(pid) for pid in started]
        assert any("uvicorn" in c and "prefect" in c for c in commands), commands
        assert sum(" sync " in c for c in commands) == len(VENDORS), commands

        os.kill(run.pid, signal.SIGKILL)
        run.wait(30)
        deadline = time.monotonic() + 30
        while left := survivors(started, run.pid):
            assert time.monotonic() < deadline, (
                f"alive after their parent was killed: {[command_line(pid) for pid in left]}"
            )
            time.sleep(0.1)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(30)
        for pid in survivors(started, run.pid):  # only after a failure: leave nothing behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    left_open = running_runs(warehouse)
    assert sorted(left_open) == sorted(VENDORS)

    set_faults(sandbox, {})
    next_runs = subprocess.run(
        [LAZI, "sync", "all"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert next_runs.returncode == 0, next_runs.stdout[-2000:] + next_runs.stderr[-2000:]
    assert running_runs(warehouse) == {}
    with psycopg.connect(warehouse) as conn:
        closed = dict(
            conn.execute(
                "select vendor, error from sync.inbound_log "
                "where endpoint = '(run)' and run_id::text = any(%s) and status = 'failed'",
                (list(left_open.values()),),
            ).fetchall()
        )
        succeeded = conn.execute(
            "select array_agg(vendor order by vendor) from sync.inbound_log "
            "where endpoint = '(run)' and status = 'succeeded'"
        ).fetchone()[0]
    assert sorted(closed) == sorted(VENDORS)
    assert all(error.startswith("interrupted") for error in closed.values()), closed
    assert succeeded == sorted(VENDORS)
