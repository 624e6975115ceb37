"""The ServiceTitan side of the dbt project on PostgreSQL 15, the oldest server we support:
safe casts without pg_input_is_valid, incremental merges (MERGE arrived in 15), the build's
tests, the truth and incremental == full refresh."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lazi.db.cluster import LocalCluster
from tests.transform.conftest import (
    MASTER_MODELS,
    StWarehouse,
    differences,
    snapshot_master,
    st_warehouse_on,
    truth_mismatches,
)
from tests.transform.test_master_incremental import awkward_changes

pytestmark = pytest.mark.pg15


@pytest.fixture(scope="module")
def pg15_warehouse(
    pg15_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StWarehouse]:
    with st_warehouse_on(pg15_cluster, tmp_path_factory.mktemp("st_pg15")) as warehouse:
        yield warehouse


def test_build_incremental_and_full_refresh_on_postgres_15(pg15_warehouse: StWarehouse) -> None:
    version = pg15_warehouse.rows("show server_version_num")[0]["server_version_num"]
    assert version.startswith("15"), version
    pg15_warehouse.build()
    for round_number in range(3):
        pg15_warehouse.world.advance(24)
        awkward_changes(pg15_warehouse, round_number)
        pg15_warehouse.load()
        pg15_warehouse.run_master()
    assert truth_mismatches(pg15_warehouse) == {}
    snapshot_master(pg15_warehouse, "incremental_copy", MASTER_MODELS)
    pg15_warehouse.build("--full-refresh")
    for model in MASTER_MODELS:
        only_incremental, only_full, _ = differences(pg15_warehouse, "incremental_copy", model)
        assert (only_incremental, only_full) == (0, 0), model
