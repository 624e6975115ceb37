"""Helpers for the CRM and marts tests: a warehouse loaded from the stand-ins by the real dlt
sources and transformed by the real dbt project, plus the answers the stand-ins' world knows.

Each test module builds one warehouse (module scope) on PostgreSQL 15: load, then between
rounds of world changes load again and snapshot opportunities (so stage history exists), and
finish with one `dbt build` of the CRM and marts models and everything upstream of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from lazi.config import PROJECT_ROOT
from lazi.db.cluster import LocalCluster
from lazi.db.migrate import migrate
from lazi.dbt_env import dbt_environment
from lazi.ingest import VENDORS, run_vendor, source_env
from lazi.sandbox.server import Sandbox, describe, start_sandbox
from tests.conftest import create_database

DBT = str(Path(sys.executable).with_name("dbt"))
# Everything this part of the project builds, and what it needs upstream.
CRM_SELECTOR = [
    "path:dbt_project/models/staging/gohighlevel",
    "path:dbt_project/models/staging/callrail",
    "+path:dbt_project/models/crm",
    "+path:dbt_project/models/marts",
]
SNAPSHOT_SELECTOR = ["+opportunities_snapshot"]


@dataclass
class CrmWarehouse:
    url: str
    sandbox: Sandbox
    dbt_target: Path
    load_seconds: float = 0.0
    dbt_build_seconds: list[float] = field(default_factory=list)

    @property
    def world(self) -> Any:
        return self.sandbox.world

    def rows(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        with psycopg.connect(self.url, row_factory=dict_row) as conn:
            return conn.execute(query, params).fetchall()

    def execute(self, query: str, params: Any = None) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(query, params)

    def dbt(self, *args: str, env: dict[str, str] | None = None) -> float:
        return run_dbt(self.url, self.dbt_target, list(args), env)


def dbt_process(
    url: str, target: Path, args: list[str], extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """dbt in the project with its own target/log folders, its output captured."""
    env = {
        **os.environ,
        **dbt_environment(url),
        "DBT_TARGET_PATH": str(target / "target"),
        "DBT_LOG_PATH": str(target / "logs"),
        **(extra_env or {}),
    }
    return subprocess.run(
        [DBT, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )


def run_dbt(
    url: str, target: Path, args: list[str], extra_env: dict[str, str] | None = None
) -> float:
    """Run dbt; fail with dbt's output."""
    started = time.perf_counter()
    done = dbt_process(url, target, args, extra_env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        lines = [ln for ln in done.stdout.splitlines() if "START" not in ln and " PASS " not in ln]
        pytest.fail(f"dbt {' '.join(args)} failed:\n" + "\n".join(lines[-80:]), pytrace=False)
    return elapsed


def load_all(url: str) -> None:
    for vendor in VENDORS:
        run_vendor(vendor, url)


def build_warehouse(
    cluster: LocalCluster,
    tmp: Path,
    *,
    scale: int,
    seed: int,
    rounds: int = 0,
    hours: float = 24.0,
    before_build: Callable[[CrmWarehouse], None] | None = None,
) -> Iterator[CrmWarehouse]:
    """Generator for a module fixture: yields the built warehouse, then stops the stand-ins."""
    url = create_database(cluster, "crm")
    migrate(url)
    sandbox = start_sandbox(scale, seed, limits=False)
    wh = CrmWarehouse(url, sandbox, tmp / "dbt")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in source_env(describe(sandbox)).items():
            mp.setenv(key, value)
        mp.setenv("LAZI_STATE_DIR", str(tmp / "state"))
        try:
            for round_no in range(rounds + 1):
                if round_no:
                    sandbox.world.advance(hours)
                started = time.perf_counter()
                load_all(url)
                wh.load_seconds += time.perf_counter() - started
                if round_no < rounds:
                    # what a scheduled run does between full builds: see the stage moves
                    wh.dbt(
                        "build", "--select", *SNAPSHOT_SELECTOR, "--indirect-selection", "cautious"
                    )
            if before_build is not None:
                before_build(wh)
            wh.dbt_build_seconds.append(
                wh.dbt("build", "--select", *CRM_SELECTOR, "--indirect-selection", "cautious")
            )
            yield wh
        finally:
            sandbox.stop()


# ---- the world's answers -------------------------------------------------------------


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def scope_pairs(world: Any) -> list[tuple[int, str, str]]:
    """(tenant, GHL location, CallRail account) of each business (they pair up by order)."""
    return list(zip(world.tenants, world.ghl_locations, world.callrail_accounts, strict=True))


def matching_pairs(
    wh: CrmWarehouse,
) -> tuple[set[tuple[Any, Any]], set[tuple[Any, Any]]]:
    """(truth, predicted) sets of (ServiceTitan customer, GoHighLevel contact) pairs that are
    the same person: by the world's person keys, and by sharing a crm contact. Deleted
    GoHighLevel contacts have no person and are left out of both."""
    truth = wh.world.truth
    links = wh.rows(
        "select source_system, source_scope, source_id, contact_id from crm.contact_links"
    )
    st_contact: dict[tuple[int, int], Any] = {}
    ghl_contact: dict[tuple[str, str], Any] = {}
    for link in links:
        if link["source_system"] == "servicetitan":
            st_contact[(int(link["source_scope"]), int(link["source_id"]))] = link["contact_id"]
        else:
            ghl_contact[(link["source_scope"], link["source_id"])] = link["contact_id"]
    st_by_person: dict[str, list[tuple[int, int]]] = defaultdict(list)
    st_by_contact: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    for key, contact in st_contact.items():
        st_by_person[truth.st_customer_person(*key)].append(key)
        st_by_contact[contact].append(key)
    truth_pairs: set[tuple[Any, Any]] = set()
    predicted: set[tuple[Any, Any]] = set()
    for key, contact in ghl_contact.items():
        person = truth.ghl_contact_person(*key)
        if person is None:
            continue
        truth_pairs.update((st, key) for st in st_by_person.get(person, ()))
        predicted.update((st, key) for st in st_by_contact.get(contact, ()))
    return truth_pairs, predicted


def job_revenue(world: Any, tenant: int) -> dict[int, Decimal]:
    """Sum of active, non-deleted invoice totals per job id."""
    revenue: dict[int, Decimal] = defaultdict(lambda: Decimal("0"))
    for invoice in world.collection("servicetitan", "invoices", tenant).records(live=True):
        if invoice["active"] and invoice.get("job"):
            revenue[invoice["job"]["id"]] += Decimal(invoice["total"] or "0")
    return revenue


def counted_jobs(world: Any, tenant: int) -> list[dict[str, Any]]:
    """Jobs attribution counts: active, not deleted, not canceled."""
    return [
        job
        for job in world.collection("servicetitan", "jobs", tenant).records(live=True)
        if job["active"] and job["jobStatus"] != "Canceled"
    ]
