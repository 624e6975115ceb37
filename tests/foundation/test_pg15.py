"""PostgreSQL 15, the oldest server we support: migrations and the dbt build must work there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from lazi.config import PROJECT_ROOT
from lazi.db.cluster import LocalCluster
from lazi.db.migrate import migrate
from lazi.dbt_env import dbt_environment
from lazi.ingest import VENDORS, run_vendor, source_env
from lazi.sandbox.server import describe, start_sandbox
from tests.conftest import create_database

pytestmark = pytest.mark.pg15


@pytest.fixture(scope="module")
def pg15_db(pg15_cluster: LocalCluster) -> str:
    url = create_database(pg15_cluster, "pg15")
    with psycopg.connect(url) as conn:
        assert conn.info.server_version // 10000 == 15
    return url


def test_migrations_apply_twice_on_pg15(pg15_db: str) -> None:
    first = migrate(pg15_db)
    assert len(first.applied) == len(list((PROJECT_ROOT / "migrations").glob("*.sql")))
    assert migrate(pg15_db).applied == []


def test_audit_and_roles_work_on_pg15(pg15_db: str) -> None:
    migrate(pg15_db)
    with psycopg.connect(pg15_db, autocommit=True) as conn:
        conn.execute(
            "insert into crm.pricebook_overrides (tenant_id, item_type, st_pricebook_id, "
            "override_cost) values (3, 'equipment', 9, 1)"
        )
        conn.execute(
            "insert into audit.api_log (occurred_at, vendor, method, path) "
            "values (now() + interval '2 years', 'gohighlevel', 'POST', '/contacts/search')"
        )
        logged = conn.execute(
            "select count(*) from audit.change_log where table_name = 'pricebook_overrides'"
        ).fetchone()[0]
        assert logged == 1
        conn.execute("set role bi_reader")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from raw.sync_state")


def test_dbt_build_on_pg15(pg15_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole dbt project (models, snapshot, tests) on PostgreSQL 15 over loaded raw data."""
    migrate(pg15_db)
    with start_sandbox(40, 5) as sandbox:
        for key, value in source_env(describe(sandbox)).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("LAZI_STATE_DIR", str(tmp_path / "state"))
        for vendor in VENDORS:
            run_vendor(vendor, pg15_db)
    env = {**os.environ, **dbt_environment(pg15_db)}
    dbt = str(Path(sys.executable).with_name("dbt"))
    result = subprocess.run(
        [dbt, "build"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
