"""Fixtures for the master-table tests: the ServiceTitan stand-in loaded by the real dlt source
into a throwaway warehouse, transformed by the real dbt project, and checked against the answers
the stand-in's world knows (lazi/sandbox/world/truth.py).

Each test module gets its own warehouse (module scope): a fresh database on the session's
cluster, its own stand-in, its own dbt target folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from lazi.config import PROJECT_ROOT
from lazi.db.cluster import LocalCluster
from lazi.db.migrate import migrate
from lazi.dbt_env import dbt_environment
from lazi.ingest import run_vendor, source_env
from lazi.sandbox.server import Sandbox, describe, start_sandbox
from tests.conftest import create_database

DBT = str(Path(sys.executable).with_name("dbt"))
SCALE = 200
SEED = 5
# The ServiceTitan side of the project: staging, its intermediates and the master tables.
ST_SELECTOR = [
    "path:dbt_project/models/staging/servicetitan",
    "path:dbt_project/models/intermediate/servicetitan",
    "path:dbt_project/models/master",
    "customer_names",  # the vocabulary of master.customers' names for fuzzy lookups
]
INCREMENTAL_MODELS = ("customers", "jobs", "invoices", "estimates", "locations")
MASTER_MODELS = (
    "customers",
    "jobs",
    "estimates",
    "invoices",
    "technicians",
    "pricebook_items",
    "business_units",
    "job_types",
    "campaigns",
    "tag_types",
    "zones",
    "locations",
)


@dataclass
class DbtRun:
    seconds: float
    results: list[dict[str, Any]]

    def status_of(self, name: str) -> str:
        return next(r["status"] for r in self.results if r["unique_id"].endswith(f".{name}"))

    def rows_affected(self, model: str) -> int | None:
        for r in self.results:
            if r["unique_id"] == f"model.lazi.{model}":
                return (r.get("adapter_response") or {}).get("rows_affected")
        return None


@dataclass
class StWarehouse:
    url: str
    sandbox: Sandbox
    workdir: Path
    dbt_seconds: list[tuple[str, float]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)  # what a fixture did, for its tests

    @property
    def world(self) -> Any:
        return self.sandbox.world

    def load(self) -> None:
        run_vendor("servicetitan", self.url)

    def dbt(self, *args: str) -> DbtRun:
        """Run dbt with a private target folder; fail the test with dbt's output on error."""
        env = {
            **os.environ,
            **dbt_environment(self.url),
            "DBT_TARGET_PATH": str(self.workdir / "target"),
            "DBT_LOG_PATH": str(self.workdir / "logs"),
        }
        started = time.perf_counter()
        done = subprocess.run(
            [DBT, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - started
        self.dbt_seconds.append((" ".join(args[:2]), elapsed))
        if done.returncode != 0:
            lines = [
                ln for ln in done.stdout.splitlines() if " START " not in ln and " PASS " not in ln
            ]
            pytest.fail(f"dbt {' '.join(args)} failed:\n" + "\n".join(lines[-80:]), pytrace=False)
        results_file = self.workdir / "target" / "run_results.json"
        results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
        return DbtRun(elapsed, results)

    def build(self, *extra: str) -> DbtRun:
        return self.dbt("build", "--select", *ST_SELECTOR, *extra)

    def run_master(self, *extra: str) -> DbtRun:
        return self.dbt(
            "run",
            "--select",
            "path:dbt_project/models/master",
            # what master.technicians credits
            "int_job_revenue",
            "int_technician_job_totals",
            "customer_names",
            *extra,
        )

    def rows(self, query: str | sql.Composable, params: Any = None) -> list[dict[str, Any]]:
        with psycopg.connect(self.url, row_factory=dict_row) as conn:
            return conn.execute(query, params).fetchall()

    def execute(self, query: str | sql.Composable, params: Any = None) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(query, params)


@contextmanager
def st_warehouse_on(
    cluster: LocalCluster, workdir: Path, *, scale: int = SCALE
) -> Iterator[StWarehouse]:
    """A migrated database with the ServiceTitan stand-in loaded into raw once."""
    sandbox = start_sandbox(scale, SEED, limits=False)
    try:
        url = create_database(cluster, "transform")
        migrate(url)
        with pytest.MonkeyPatch.context() as patch:
            for key, value in source_env(describe(sandbox)).items():
                patch.setenv(key, value)
            patch.setenv("LAZI_STATE_DIR", str(workdir / "state"))
            warehouse = StWarehouse(url, sandbox, workdir)
            warehouse.load()
            yield warehouse
    finally:
        sandbox.stop()


@pytest.fixture(scope="module")
def st_warehouse(
    pg_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StWarehouse]:
    with st_warehouse_on(pg_cluster, tmp_path_factory.mktemp("st_transform")) as warehouse:
        yield warehouse


# ---- the answers the world knows ----------------------------------------------------------


def truth_mismatches(warehouse: StWarehouse) -> dict[str, list[Any]]:
    """Every master value that differs from the stand-in's truth, by field (exact compare)."""
    world, truth = warehouse.world, warehouse.world.truth
    customers = {
        (r["tenant_id"], r["customer_id"]): r
        for r in warehouse.rows(
            "select tenant_id, customer_id, lifetime_value, total_jobs from master.customers"
        )
    }
    invoices = {
        (r["tenant_id"], r["invoice_id"]): r["paid_amount"]
        for r in warehouse.rows("select tenant_id, invoice_id, paid_amount from master.invoices")
    }
    technicians = {
        (r["tenant_id"], r["technician_id"]): r["total_revenue"]
        for r in warehouse.rows(
            "select tenant_id, technician_id, total_revenue from master.technicians"
        )
    }
    bad: dict[str, list[Any]] = {
        "missing": [],
        "lifetime_value": [],
        "total_jobs": [],
        "paid_amount": [],
        "total_revenue": [],
    }
    for tenant in world.tenants:
        for _, record in world.collection("servicetitan", "customers", tenant).iter_from(0):
            key = (tenant, record["id"])
            row = customers.get(key)
            if row is None:
                bad["missing"].append(("customer", key))
                continue
            expected_value = truth.customer_lifetime_value(tenant, record["id"])
            if row["lifetime_value"] != expected_value:
                bad["lifetime_value"].append((key, row["lifetime_value"], expected_value))
            expected_jobs = truth.customer_job_count(tenant, record["id"])
            if row["total_jobs"] != expected_jobs:
                bad["total_jobs"].append((key, row["total_jobs"], expected_jobs))
        for _, record in world.collection("servicetitan", "invoices", tenant).iter_from(0):
            key = (tenant, record["id"])
            if key not in invoices:
                bad["missing"].append(("invoice", key))
                continue
            expected_paid = truth.invoice_paid_amount(tenant, record["id"])
            if invoices[key] != expected_paid:
                bad["paid_amount"].append((key, invoices[key], expected_paid))
        for _, record in world.collection("servicetitan", "technicians", tenant).iter_from(0):
            key = (tenant, record["id"])
            if key not in technicians:
                bad["missing"].append(("technician", key))
                continue
            expected_revenue = truth.technician_revenue(tenant, record["id"])
            if technicians[key] != expected_revenue:
                bad["total_revenue"].append((key, technicians[key], expected_revenue))
    return {name: found for name, found in bad.items() if found}


def checked_counts(warehouse: StWarehouse) -> dict[str, Decimal | int]:
    """Sizes of what truth_mismatches compared (so a test can show it compared something)."""
    row = warehouse.rows(
        "select (select count(*) from master.customers) as customers,"
        " (select count(*) from master.invoices) as invoices,"
        " (select count(*) from master.technicians) as technicians,"
        " (select sum(lifetime_value) from master.customers) as lifetime_value,"
        " (select sum(total_revenue) from master.technicians) as revenue"
    )[0]
    return dict(row)


# ---- incremental equals full refresh ----------------------------------------------------


def snapshot_master(
    warehouse: StWarehouse, schema: str, models: tuple[str, ...], source: str = "master"
) -> None:
    """Copy tables of `source` (master) into `schema` (replacing an earlier copy)."""
    warehouse.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    warehouse.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
    for model in models:
        warehouse.execute(
            sql.SQL("create table {}.{} as select * from {}.{}").format(
                sql.Identifier(schema),
                sql.Identifier(model),
                sql.Identifier(source),
                sql.Identifier(model),
            )
        )


def differences(
    warehouse: StWarehouse, schema: str, model: str, source: str = "master"
) -> tuple[int, int, int]:
    """(rows only in the copy, rows only in `source`, rows in `source`): EXCEPT both ways, on
    every column but batch_at (when the run that wrote the row started)."""
    copy = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(model))
    live = sql.SQL("{}.{}").format(sql.Identifier(source), sql.Identifier(model))
    names = warehouse.rows(
        "select column_name from information_schema.columns where table_schema = %s"
        " and table_name = %s and column_name <> 'batch_at' order by ordinal_position",
        (source, model),
    )
    columns = sql.SQL(", ").join(sql.Identifier(r["column_name"]) for r in names)
    query = sql.SQL(
        "select (select count(*) from (select {c} from {copy} except all select {c} from {live}) a)"
        " as only_copy,"
        " (select count(*) from (select {c} from {live} except all select {c} from {copy}) b)"
        " as only_master,"
        " (select count(*) from {live}) as total"
    ).format(c=columns, copy=copy, live=live)
    row = warehouse.rows(query)[0]
    return row["only_copy"], row["only_master"], row["total"]
