"""Upgrades under running schedules: new code adds a column to an incremental model. The
ordinary incremental build stops with dbt's schema-change error; `upgrade` rebuilds that model,
and no other, with --full-refresh, from the comparison with the manifest the last successful
build saved; the next ordinary build succeeds. Runs on a copy of the dbt project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lazi import upgrade
from lazi.db.cluster import LocalCluster
from tests.conftest import create_database
from tests.dbt_copy import copy_project, dbt_env, run_dbt
from tests.foundation.test_cli import run_lazi
from tests.transform.conftest import StWarehouse

MODEL = "dbt_project/models/marts/customer_names.sql"
SELECT = ["--select", "+customer_names"]
OLD_COLUMNS = "customers.customer_name,\n        max(customers.last_load_id) as last_load_id"
NEW_COLUMNS = OLD_COLUMNS + ",\n        count(*) as customers_seen"


@pytest.fixture(scope="module")
def upgraded(st_warehouse: StWarehouse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url = st_warehouse.url
    project = copy_project(tmp_path_factory.mktemp("upgrade_project"))
    target, state = project / "target", tmp_path_factory.mktemp("upgrade_state")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in dbt_env(project, url).items():
            patch.setenv(key, value)
        places = {"project_dir": project, "target_path": target, "state": state}
        # a scheduled build: the check (nothing saved yet), the build, its manifest saved
        first_check = upgrade.before_build(url, **places)
        first = run_dbt(project, url, "run", *SELECT)
        assert first.returncode == 0, first.output[-3000:]
        first_check.saved(target)
        # new code arrives
        path = project / MODEL
        assert OLD_COLUMNS in path.read_text()
        path.write_text(path.read_text().replace(OLD_COLUMNS, NEW_COLUMNS))
        without_upgrade = run_dbt(project, url, "run", "--select", "customer_names")
        result = upgrade.upgrade(url, **places)
        rebuilt_run = run_dbt_results(target)
        next_check = upgrade.before_build(url, **places)
        after = run_dbt(project, url, "run", *SELECT)
    return {
        "first": first,
        "without_upgrade": without_upgrade,
        "result": result,
        "rebuilt_run": rebuilt_run,
        "next_check": next_check,
        "after": after,
    }


def run_dbt_results(target: Path) -> list[str]:
    import json

    results = json.loads((target / "run_results.json").read_text())["results"]
    return sorted(r["unique_id"] for r in results if r["status"] == "success")


def test_without_upgrade_the_incremental_build_stops_on_the_new_column(
    upgraded: dict[str, Any],
) -> None:
    run = upgraded["without_upgrade"]
    assert run.returncode != 0
    assert "customers_seen" in run.output and "on_schema_change" in run.output


def test_upgrade_rebuilds_that_model_and_no_other(
    upgraded: dict[str, Any], st_warehouse: StWarehouse
) -> None:
    assert upgraded["first"].models().count("model.lazi.customer_names") == 1
    assert len(upgraded["first"].models()) > 5  # the first build made its upstream too
    assert upgraded["result"].rebuilt == ["model.lazi.customer_names"]
    assert upgraded["result"].compared
    assert upgraded["rebuilt_run"] == ["model.lazi.customer_names"]
    (row,) = st_warehouse.rows(
        "select count(*) as names, sum(customers_seen) as seen, count(distinct customer_name)"
        " as distinct_names from marts.customer_names"
    )
    (truth,) = st_warehouse.rows(
        "select count(distinct customer_name) as names, count(customer_name) as seen"
        " from master.customers"
    )
    assert row["names"] == row["distinct_names"] == truth["names"] > 0
    assert row["seen"] == truth["seen"]


def test_the_next_ordinary_build_succeeds_incrementally(upgraded: dict[str, Any]) -> None:
    assert upgraded["next_check"].rebuilt == []  # the upgrade saved the new manifest
    after = upgraded["after"]
    assert after.returncode == 0, after.output[-3000:]
    assert after.status("model.lazi.customer_names") == "success"
    assert "full-refresh" not in after.output


def test_lazi_upgrade_applies_migrations_and_says_what_it_compared(
    pg_cluster: LocalCluster, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": create_database(pg_cluster, "upgrade_cli")}
    env["LAZI_STATE_DIR"] = str(tmp_path / "state")
    first = run_lazi("upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_schemas_and_extensions" in first.stdout
    assert "no manifest of a successful build to compare with yet" in first.stdout
    second = run_lazi("upgrade", env=env)
    assert second.returncode == 0, second.stderr
    assert "0 migrations applied, 0 changed incremental models rebuilt" in second.stdout
