"""A warehouse loaded from the stand-ins and built by dbt up to the sync_* models (once per
module), and helpers to read the CallRail stand-in and reset the queue between tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from lazi.db.cluster import LocalCluster
from tests.transform._crm_fixtures import CrmWarehouse, build_warehouse

SYNC_SELECTOR = ["stg_workflow__field_mappings", "sync_callrail_calls"]


@pytest.fixture(scope="module")
def wh(pg_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmWarehouse]:
    for built in build_warehouse(
        pg_cluster, tmp_path_factory.mktemp("reverse_etl"), scale=200, seed=16
    ):
        built.dbt("build", "--select", *SYNC_SELECTOR)
        yield built


@pytest.fixture
def fresh(wh: CrmWarehouse) -> CrmWarehouse:
    """The queue and its bookkeeping emptied, faults off, the default mappings only."""
    wh.execute(
        "truncate sync.outbound_queue, sync.entity_hashes, sync.rate_buckets, "
        "sync.callrail_conversion_log cascade"
    )
    wh.execute("delete from audit.api_log where queue_id is not null")
    set_faults(wh, {})
    return wh


def callrail(wh: CrmWarehouse) -> str:
    return wh.sandbox.base_url("callrail")


def set_faults(wh: CrmWarehouse, faults: dict[str, Any]) -> None:
    httpx.post(f"{callrail(wh)}/_sandbox/faults", json=faults).raise_for_status()


def writes(wh: CrmWarehouse) -> list[dict[str, Any]]:
    return httpx.get(f"{callrail(wh)}/_sandbox/writes").json()


def read_call(wh: CrmWarehouse, account: str, call: str) -> dict[str, Any]:
    api_key = wh.world.credentials["callrail"]["api_key"]
    response = httpx.get(
        f"{callrail(wh)}/v3/a/{account}/calls/{call}.json",
        params={"fields": "value,lead_status,tags,note"},
        headers={"Authorization": f'Token token="{api_key}"'},
    )
    response.raise_for_status()
    return response.json()


def desired(wh: CrmWarehouse) -> list[dict[str, Any]]:
    return wh.rows("select * from marts.sync_callrail_calls order by entity_id")


def queue_rows(wh: CrmWarehouse) -> list[dict[str, Any]]:
    return wh.rows("select * from sync.outbound_queue order by id")


def statuses(wh: CrmWarehouse) -> dict[str, int]:
    rows = wh.rows("select status, count(*) as n from sync.outbound_queue group by 1")
    return {row["status"]: row["n"] for row in rows}


def connect(wh: CrmWarehouse) -> psycopg.Connection:
    return psycopg.connect(wh.url, autocommit=True)
