"""One real Prefect server (on PostgreSQL, in the test cluster) and a real worker for the whole
session, started by `lazi serve`'s own code, with the vendor stand-ins it starts."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lazi import serve
from lazi.db.cluster import LocalCluster
from tests.conftest import create_database, free_port

# The schedules the session configures (the test of schedules reads them back from Prefect).
SCHEDULES = {
    "LAZI_SCHEDULE_LOAD_SERVICETITAN": "0 5 * * *",
    "LAZI_SCHEDULE_LOAD_GOHIGHLEVEL": "off",
    "LAZI_SCHEDULE_LOAD_CALLRAIL": "1800",
    "LAZI_SCHEDULE_PUSH": "off",
    "LAZI_SCHEDULE_NIGHTLY": "15 4 * * *",
}

TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture(scope="session")
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A receiver on loopback: its URL and the JSON bodies POSTed to it."""
    received: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            del args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def orchestra(
    pg_cluster: LocalCluster,
    tmp_path_factory: pytest.TempPathFactory,
    webhook: tuple[str, list[dict[str, Any]]],
) -> Iterator[dict[str, Any]]:
    state = tmp_path_factory.mktemp("serve-state")
    url = create_database(pg_cluster, "orch")
    saved = dict(os.environ)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "LAZI_STATE_DIR": str(state),
            "LAZI_PREFECT_DB": f"prefect_{Path(state).name.replace('-', '_')}",
            "LAZI_PREFECT_UI": "0",
            "LAZI_WORK_POOL": "lazi-test",
            "LAZI_FAILURE_WEBHOOK_URL": webhook[0],
            # The worker asks for due runs every second (the default is 15 s).
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "2",
            # A run waiting for its deployment's slot asks again after 2 s (default 30 s).
            "PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS": "2",
            **SCHEDULES,
        }
    )
    for key in list(os.environ):
        if key.startswith("SOURCES__") or key == "PREFECT_API_URL":
            del os.environ[key]
    try:
        port = free_port()
        served = serve.serve(port=port, scale=40, workers=1)
        yield {"url": url, "served": served, "state": state, "port": port}
    finally:
        serve.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def client(orchestra: dict[str, Any]) -> Iterator[Any]:
    from prefect.client.orchestration import get_client

    with serve.talking_to(orchestra["served"].api_url), get_client(sync_client=True) as client:
        yield client


FLOW_OF = {"push": "push", "nightly": "nightly", "weekly-full-refresh": "full-refresh"}


def deployment(client: Any, name: str) -> Any:
    """The deployment `name` (load-callrail, push, …) as the server holds it."""
    flow = "load" if name.startswith("load-") else FLOW_OF.get(name, name)
    return client.read_deployment_by_name(f"{flow}/{name}")


def trigger(client: Any, deployment_id: Any, **parameters: Any) -> Any:
    from prefect.deployments import run_deployment

    del client
    return run_deployment(deployment_id, parameters=parameters or None, timeout=0).id


def wait_for(client: Any, run_ids: list[Any], timeout_s: float = 150) -> list[Any]:
    """The runs once all are in a final state (fails after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        runs = [client.read_flow_run(run_id) for run_id in run_ids]
        if all(run.state and run.state.type.value in TERMINAL for run in runs):
            return runs
        assert time.monotonic() < deadline, [(r.name, r.state_name) for r in runs]
        time.sleep(1)


def raw_count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"select count(*) from raw.{table}").fetchone()[0]


def started_by(state: Path) -> dict[str, list[str]]:
    """Names of the flow runs each worker's log says it started ("submitted to
    infrastructure"; a submission the server refused is logged as aborted instead)."""
    found: dict[str, list[str]] = {}
    for log in sorted((state / "serve").glob("worker-*.log")):
        lines = log.read_text(errors="replace").splitlines()
        found[log.stem] = [
            line.split("Flow run '", 1)[1].split("'", 1)[0]
            for line in lines
            if "submitted to infrastructure" in line
        ]
    return found
