"""A warehouse loaded from the stand-ins and built by dbt up to the sync_* models (once for
the package: every push module shares it, each test starting from `fresh`), and helpers to
read the CallRail and GoHighLevel stand-ins and reset the queue between tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from lazi.db.cluster import LocalCluster
from tests.transform._crm_fixtures import CrmWarehouse, build_warehouse

SYNC_SELECTOR = [
    "stg_workflow__field_mappings",
    "path:dbt_project/models/staging/crm_editable",
    "sync_callrail_calls",
    "sync_servicetitan_customers",
    "sync_servicetitan_customer_tags",
    "sync_servicetitan_pricebook",
    "sync_ghl_contacts",
    "sync_ghl_opportunities",
]
MERGE_RULE = "update workflow.merge_rules set is_enabled = {enabled} where name = 'callrail_calls'"
TEST_BUCKET = (
    "update sync.rate_limits set capacity = 400, refill_per_s = 0.1 "
    "where vendor = 'callrail' and window_name = 'hour'"
)
# GoHighLevel's documented burst, 100 requests per 10 s per location, used to the full
# (50 + 5/s * 10 s); the seeded bucket keeps 10 % of it for the loader.
GHL_TEST_BUCKET = (
    "update sync.rate_limits set capacity = 50, refill_per_s = 5 "
    "where vendor = 'gohighlevel' and window_name = 'burst'"
)


# One warehouse for every module here: its build is most of their time.
@pytest.fixture(scope="package")
def wh(
    pg_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrmWarehouse]:
    for built in build_warehouse(
        pg_cluster, tmp_path_factory.mktemp("reverse_etl"), scale=100, seed=16
    ):
        # estimates are not upstream of the CRM models build_warehouse builds
        built.dbt("build", "--select", "+estimates", *SYNC_SELECTOR)
        # The seeded bucket (100 at once, then 800 an hour) would make the module wait for
        # minutes. This one still keeps the worker under the stand-in's 1,000 an hour per
        # account (400 + 0.1/s * 3,600 = 760), which the tests check at the stand-in.
        built.execute(TEST_BUCKET)
        built.execute(GHL_TEST_BUCKET)
        # The tests undo pushes at CallRail as a person would (clear_calls); with the merge
        # rule on, the next push would rightly keep those edits. Its own test turns it on.
        built.execute(MERGE_RULE.format(enabled="false"))
        yield built


@pytest.fixture
def fresh(wh: CrmWarehouse) -> CrmWarehouse:
    """The queue and its bookkeeping emptied, faults off, the default mappings only, and every
    rate limit's budget whole again, in the warehouse's buckets and in the stand-ins' windows:
    each test spends its own (the modules share one warehouse and one set of stand-ins, and
    a budget an earlier test spent would make a later one wait for the refill)."""
    wh.execute(
        "truncate sync.outbound_queue, sync.entity_hashes, sync.callrail_conversion_log, "
        "sync.ghl_contact_upserts, sync.conflicts, sync.rate_buckets cascade"
    )
    wh.execute("delete from audit.api_log where queue_id is not null")
    set_faults(wh, {})
    for vendor in ("callrail", "gohighlevel"):
        httpx.post(f"{wh.sandbox.base_url(vendor)}/_sandbox/limits/reset").raise_for_status()
    return wh


def st_base(wh: CrmWarehouse) -> str:
    return wh.sandbox.base_url("servicetitan")


def st_writes(wh: CrmWarehouse) -> list[dict[str, Any]]:
    """The ServiceTitan stand-in's write log: every write it accepted, in order."""
    return httpx.get(f"{st_base(wh)}/_sandbox/writes").json()


_ST_TOKENS: dict[tuple[str, int], tuple[float, dict[str, str]]] = {}


def st_headers(wh: CrmWarehouse, tenant: int) -> dict[str, str]:
    """A tenant's token, as an integration gets it (client credentials), kept for 10 of its
    15 minutes."""
    key = (st_base(wh), tenant)
    held = _ST_TOKENS.get(key)
    if held is not None and time.monotonic() - held[0] < 600:
        return held[1]
    st = wh.world.credentials["servicetitan"]
    client = st["tenants"][tenant]
    token = httpx.post(
        f"{st_base(wh)}/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        },
    )
    token.raise_for_status()
    headers = {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "ST-App-Key": st["app_key"],
    }
    _ST_TOKENS[key] = (time.monotonic(), headers)
    return headers


def st_get(wh: CrmWarehouse, tenant: int, path: str, **params: Any) -> Any:
    """GET /{module}/v2/tenant/{tenant}/{path} from the ServiceTitan stand-in."""
    module, _, rest = path.partition("/")
    response = httpx.get(
        f"{st_base(wh)}/{module}/v2/tenant/{tenant}/{rest}",
        params=params,
        headers=st_headers(wh, tenant),
    )
    response.raise_for_status()
    return response.json()


def callrail_base(wh: CrmWarehouse) -> str:
    return wh.sandbox.base_url("callrail")


def set_faults(wh: CrmWarehouse, faults: dict[str, Any]) -> None:
    httpx.post(f"{callrail_base(wh)}/_sandbox/faults", json=faults).raise_for_status()


def writes(wh: CrmWarehouse) -> list[dict[str, Any]]:
    return httpx.get(f"{callrail_base(wh)}/_sandbox/writes").json()


def _auth(wh: CrmWarehouse) -> dict[str, str]:
    return {"Authorization": f'Token token="{wh.world.credentials["callrail"]["api_key"]}"'}


def clear_calls(wh: CrmWarehouse) -> None:
    """What a push writes undone at CallRail (as a person could), so a push must write again."""
    for row in desired(wh):
        response = httpx.put(
            f"{callrail_base(wh)}/v3/a/{row['account_id']}/calls/{row['call_id']}.json",
            json={"value": "", "lead_status": "not_a_lead", "tags": [], "note": ""},
            headers=_auth(wh),
        )
        response.raise_for_status()


def read_calls(wh: CrmWarehouse) -> dict[str, dict[str, Any]]:
    """`<account>/<call>` -> the call as CallRail lists it (one request per page)."""
    found: dict[str, dict[str, Any]] = {}
    for account in wh.world.callrail_accounts:
        page, pages = 1, 1
        while page <= pages:
            response = httpx.get(
                f"{callrail_base(wh)}/v3/a/{account}/calls.json",
                params={"fields": "value,lead_status,tags,note", "per_page": 250, "page": page},
                headers=_auth(wh),
            )
            response.raise_for_status()
            body = response.json()
            found.update({f"{account}/{call['id']}": call for call in body["calls"]})
            page, pages = page + 1, body["total_pages"]
    return found


def desired(wh: CrmWarehouse) -> list[dict[str, Any]]:
    return wh.rows("select * from marts.sync_callrail_calls order by entity_id")


def queue_rows(wh: CrmWarehouse) -> list[dict[str, Any]]:
    return wh.rows("select * from sync.outbound_queue order by id")


def statuses(wh: CrmWarehouse) -> dict[str, int]:
    rows = wh.rows("select status, count(*) as n from sync.outbound_queue group by 1")
    return {row["status"]: row["n"] for row in rows}


def connect(wh: CrmWarehouse) -> psycopg.Connection:
    return psycopg.connect(wh.url, autocommit=True)


# --- GoHighLevel ---------------------------------------------------------------------------


def ghl_base(wh: CrmWarehouse) -> str:
    return wh.sandbox.base_url("gohighlevel")


def ghl_writes(wh: CrmWarehouse) -> list[dict[str, Any]]:
    return httpx.get(f"{ghl_base(wh)}/_sandbox/writes").json()


def ghl_headers(wh: CrmWarehouse, location: str) -> dict[str, str]:
    token = wh.world.credentials["gohighlevel"]["tokens"][location]
    return {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}


def ghl(wh: CrmWarehouse, method: str, location: str, path: str, **kwargs: Any) -> Any:
    """One request to the GoHighLevel stand-in as the location's token; the JSON answer."""
    response = httpx.request(
        method, f"{ghl_base(wh)}{path}", headers=ghl_headers(wh, location), **kwargs
    )
    response.raise_for_status()
    return response.json()
