"""`lazi serve`: the warehouse running on its schedules, the way Prefect runs in production.

It starts (or reuses) a Prefect server whose database is PostgreSQL (a `prefect` database in
the warehouse's cluster), the local vendor stand-ins for vendors without credentials, creates
the process work pool, applies the deployments (flows/deployments.py) and starts a worker.
Each runs detached from the terminal, its pid in `<state>/serve/`, its log beside it;
`lazi serve --stop` stops them. PREFECT_API_URL set: that server is used and none started."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from lazi.config import PROJECT_ROOT, state_dir, with_database
from lazi.db import warehouse
from lazi.errors import LaziError
from lazi.stand_ins import settings_for, vendors_without_credentials

DEFAULT_PORT = 4200
STARTUP_WAIT_S = 180  # the server's first start migrates its database: slow on 2 cores
QUIET = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def serve_dir() -> Path:
    return state_dir() / "serve"


@dataclass
class Served:
    api_url: str
    ui_url: str | None
    started: list[str] = field(default_factory=list)
    deployments: list[str] = field(default_factory=list)
    simulated: list[str] = field(default_factory=list)


def prefect_database_url(warehouse_url: str) -> str:
    """The Prefect server's database: LAZI_PREFECT_DB (default `prefect`) on the warehouse's
    server, created when missing, as an asyncpg URL."""
    name = os.environ.get("LAZI_PREFECT_DB", "prefect")
    with warehouse.connect(warehouse_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            except psycopg.errors.InsufficientPrivilege:
                raise LaziError(
                    f"cannot create the database {name!r} for Prefect: the warehouse user may "
                    "not create databases; create it, or set PREFECT_API_URL to a server"
                ) from None
    url = with_database(warehouse_url, name).split("?", 1)[0]
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def _pid_file(name: str) -> Path:
    return serve_dir() / f"{name}.pid"


def _gone(pid: int) -> bool:
    """Whether `pid` has exited (reaped here when it is this process's child)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass  # not our child: `lazi serve` started it and has exited
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _running(name: str) -> int | None:
    """The pid of our process `name` when it is still alive."""
    try:
        pid = int(_pid_file(name).read_text())
    except (OSError, ValueError):
        return None
    return None if _gone(pid) else pid


def _start(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `argv` detached (a session of its own, so --stop can end it with its children),
    output to `<state>/serve/<name>.log`."""
    serve_dir().mkdir(parents=True, exist_ok=True)
    with open(serve_dir() / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _pid_file(name).write_text(str(process.pid))
    return process


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def start_server(warehouse_url: str, port: int, env: dict[str, str]) -> str:
    """Our Prefect server on loopback (reused when already running); returns its API URL."""
    api_url = f"http://127.0.0.1:{port}/api"
    if _running("server") and _healthy(api_url):
        return api_url
    server_env = {
        **env,
        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_database_url(warehouse_url),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        # LAZI_PREFECT_UI=0 leaves the UI out (tests: the server starts faster).
        "PREFECT_UI_ENABLED": "false" if os.environ.get("LAZI_PREFECT_UI") == "0" else "true",
    }
    server_env["PREFECT_SERVER_UI_ENABLED"] = server_env["PREFECT_UI_ENABLED"]
    server_env.pop("PREFECT_API_URL", None)
    process = _start(
        "server",
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        server_env,
    )
    deadline = time.monotonic() + STARTUP_WAIT_S
    while not _healthy(api_url):
        if process.poll() is not None:
            raise LaziError(f"the Prefect server stopped at start; see {serve_dir()}/server.log")
        if time.monotonic() > deadline:
            raise LaziError(f"the Prefect server did not answer in {STARTUP_WAIT_S} s")
        time.sleep(0.5)
    return api_url


def start_stand_ins(scale: int, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Local stand-ins for the vendors without credentials: their names and the source
    settings that point those vendors at them (the worker's runs inherit them)."""
    missing = vendors_without_credentials()
    if not missing:
        return [], {}
    info_file = serve_dir() / "stand-ins.json"
    if not _running("stand-ins") or not info_file.exists():
        process = _start(
            "stand-ins",
            [sys.executable, "-m", "lazi.cli", "sandbox", "serve", "--json", "--scale", str(scale)],
            env,
        )
        _wait_for_first_line(process, serve_dir() / "stand-ins.log", info_file)
    return missing, settings_for(missing, json.loads(info_file.read_text()))


def _wait_for_first_line(process: subprocess.Popen[bytes], log: Path, info_file: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines()[::-1]:
            if line.startswith("{"):
                info_file.write_text(line)
                info_file.chmod(0o600)  # it holds the stand-ins' demo credentials
                return
        if process.poll() is not None:
            raise LaziError(f"the vendor stand-ins stopped at start; see {log}")
        time.sleep(0.3)
    raise LaziError("the vendor stand-ins did not start in 120 s")


def ensure_work_pool(pool: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))


def start_worker(name: str, pool: str, env: dict[str, str]) -> None:
    if _running(name):
        return
    _start(
        name,
        [
            sys.executable,
            "-m",
            "prefect",
            "worker",
            "start",
            "--pool",
            pool,
            "--type",
            "process",
            "--name",
            f"{name}-{os.uname().nodename}",
        ],
        env,
    )


@contextlib.contextmanager
def talking_to(api_url: str) -> Iterator[None]:
    """Prefect's clients in this process talk to `api_url`. Prefect reads its settings once, when
    it is first imported: a process that imported it before PREFECT_API_URL was set (a test
    session, a flow) would otherwise talk to a throwaway in-process server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        yield


def serve(*, port: int = DEFAULT_PORT, scale: int = 300, workers: int = 1) -> Served:
    """Start what is missing, apply the deployments; returns where the server is."""
    from lazi.db.migrate import migrate

    wh = warehouse.resolve()
    migrate(wh.url)
    env = {**os.environ, **QUIET, "PREFECT_HOME": str(state_dir() / "prefect")}
    served = Served(api_url=os.environ.get("PREFECT_API_URL", ""), ui_url=None)
    if not served.api_url:
        served.api_url = start_server(wh.url, port, env)
        served.ui_url = served.api_url.removesuffix("/api")
    os.environ["PREFECT_API_URL"] = env["PREFECT_API_URL"] = served.api_url
    served.simulated, sources = start_stand_ins(scale, env)
    from flows.deployments import WORK_POOL, apply

    with talking_to(served.api_url):
        ensure_work_pool(WORK_POOL)
        served.deployments = apply(WORK_POOL)
    for n in range(1, workers + 1):
        start_worker(f"worker-{n}", WORK_POOL, {**env, **sources})
    served.started = [p.stem for p in sorted(serve_dir().glob("*.pid")) if _running(p.stem)]
    return served


def stop() -> list[str]:
    """Stop every process `lazi serve` started (each with its session: a worker's runs too)."""
    stopped = []
    # Workers first (their runs still report to the server), the server last.
    for pid_file in sorted(serve_dir().glob("*.pid"), key=lambda p: p.stem == "server"):
        pid = _running(pid_file.stem)
        if pid is not None:
            _end_session(pid)
            stopped.append(pid_file.stem)
        pid_file.unlink(missing_ok=True)
    (serve_dir() / "stand-ins.json").unlink(missing_ok=True)
    return stopped


def _end_session(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _gone(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def api_url_in_use(port: int = DEFAULT_PORT) -> str | None:
    """PREFECT_API_URL, else our server's when it runs; None when no server answers."""
    url = os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{port}/api"
    return url if _healthy(url) else None


@dataclass(frozen=True)
class DeploymentRuns:
    name: str
    schedule: str
    next_run: object  # datetime | None
    last_run: object  # datetime | None
    last_state: str


def deployment_runs() -> list[DeploymentRuns]:
    """Each deployment of the warehouse with its next scheduled and its last finished run
    (PREFECT_API_URL must name the server)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        DeploymentFilterTags,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    rows = []
    api_url = os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{DEFAULT_PORT}/api"
    with talking_to(api_url), get_client(sync_client=True) as client:
        deployments = client.read_deployments(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=["lazi"]))
        )
        for dep in sorted(deployments, key=lambda d: d.name):
            only = DeploymentFilter(id=DeploymentFilterId(any_=[dep.id]))
            upcoming = client.read_flow_runs(
                deployment_filter=only,
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])
                    )
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                limit=1,
            )
            finished = client.read_flow_runs(
                deployment_filter=only,
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(
                            any_=[
                                StateType.COMPLETED,
                                StateType.FAILED,
                                StateType.CRASHED,
                                StateType.CANCELLED,
                            ]
                        )
                    )
                ),
                sort=FlowRunSort.END_TIME_DESC,
                limit=1,
            )
            schedules = ", ".join(str(_describe(s.schedule)) for s in dep.schedules) or "off"
            rows.append(
                DeploymentRuns(
                    name=dep.name,
                    schedule=schedules,
                    next_run=upcoming[0].expected_start_time if upcoming else None,
                    last_run=finished[0].end_time if finished else None,
                    last_state=(finished[0].state_name or "-") if finished else "-",
                )
            )
    return rows


def _describe(schedule: object) -> str:
    interval = getattr(schedule, "interval", None)
    if interval is not None:
        return f"every {int(interval.total_seconds())} s"
    return f"cron '{getattr(schedule, 'cron', '?')}'"
