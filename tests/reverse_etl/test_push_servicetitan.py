"""Pushes 2 (ServiceTitan customers <- GoHighLevel) and 4 (ServiceTitan pricebook <-
crm.pricebook_overrides) end to end: a warehouse built from the stand-ins, the queue, the
worker as lazi_reverse_etl, real HTTP to the ServiceTitan stand-in, read back through the
ServiceTitan API. Mapping rows and transformations change what is sent without code."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from lazi.config import PROJECT_ROOT
from lazi.reverse_etl import servicetitan, worker
from lazi.reverse_etl.push import push
from lazi.reverse_etl.worker import RetryPolicy, WorkerOptions
from tests.reverse_etl.conftest import connect, st_get, st_writes, statuses
from tests.transform._crm_fixtures import CrmWarehouse

FAST = WorkerOptions(retry=RetryPolicy(base_s=0.05, max_s=0.5), seed=16)
GUID = servicetitan.DEFAULT_APPLICATION_GUID
CUSTOMERS = ["servicetitan_customers"]
TAGS = ["servicetitan_customer_tags"]
PRICEBOOK = ["servicetitan_pricebook"]
PRICEBOOK_PATHS = {"material": "materials", "service": "services", "equipment": "equipment"}


@pytest.fixture
def st(fresh: CrmWarehouse) -> Iterator[CrmWarehouse]:
    """`fresh`, no overrides, and the mapping rows a test adds removed afterwards."""
    fresh.execute("delete from crm.pricebook_overrides")
    with connect(fresh) as conn:
        before = {row[0] for row in conn.execute("select id from workflow.field_mappings")}
    yield fresh
    with connect(fresh) as conn:
        conn.execute("delete from workflow.field_mappings where id <> all(%s)", (list(before),))
        conn.execute("delete from workflow.transformations where name like 'test_%%'")


def run_seed() -> int:
    seed = int(os.environ.get("LAZI_TEST_SEED") or random.randrange(2**31))
    print(f"seed {seed} (LAZI_TEST_SEED={seed} replays this run)")
    return seed


def build(wh: CrmWarehouse, *models: str) -> None:
    wh.dbt("build", "--select", "stg_workflow__field_mappings", *models)


def add_mapping(
    wh: CrmWarehouse, entity: str, source: str, dest_entity: str, dest: str, **kw: Any
) -> None:
    wh.execute(
        "insert into workflow.field_mappings (source_system, source_entity, source_field, "
        "dest_system, dest_entity, dest_field, transform) "
        "values (%s, %s, %s, 'servicetitan', %s, %s, %s)",
        (kw.get("system", "warehouse"), entity, source, dest_entity, dest, kw.get("transform")),
    )


def desired(wh: CrmWarehouse, model: str) -> list[dict[str, Any]]:
    return wh.rows(f"select * from marts.{model} order by entity_id")


def external_by_contact(wh: CrmWarehouse, rows: list[dict[str, Any]]) -> dict[str, dict]:
    """`<tenant>/<customer>` -> the customer's externalData of our application, found the way
    an integration links records: by our key's values (at most 50 per request)."""
    found: dict[str, dict[str, str]] = {}
    per_tenant: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        per_tenant[row["tenant_id"]].append(row["ghl_contact_id"])
    for tenant, contacts in per_tenant.items():
        for start in range(0, len(contacts), 50):
            page = st_get(
                wh,
                tenant,
                "crm/customers",
                externalDataApplicationGuid=GUID,
                externalDataKey="ghl_contact_id",
                externalDataValues=",".join(contacts[start : start + 50]),
                pageSize=100,
            )
            for customer in page["data"]:
                found[f"{tenant}/{customer['id']}"] = {
                    e["key"]: e["value"] for e in customer["externalData"]
                }
    return found


def test_customers_are_linked_read_back_and_a_second_push_sends_nothing(st: CrmWarehouse) -> None:
    wanted = desired(st, "sync_servicetitan_customers")
    assert len(wanted) >= 10, "the world links too few customers to test anything"
    assert all(
        row["payload"]
        == {
            "externalData.ghl_contact_id": row["ghl_contact_id"],
            "externalData.ghl_location_id": row["ghl_location_id"],
        }
        for row in wanted
    )

    first = push(st.url, CUSTOMERS, options=FAST)
    assert first["enqueued"] == {"servicetitan_customers": len(wanted)}
    assert first["delivery"]["succeeded"] == len(wanted)
    linked = external_by_contact(st, wanted)
    assert set(linked) == {row["entity_id"] for row in wanted}
    for row in wanted:
        assert linked[row["entity_id"]] == {
            "ghl_contact_id": row["ghl_contact_id"],
            "ghl_location_id": row["ghl_location_id"],
        }, row["entity_id"]
    patches = [w for w in st_writes(st) if w["method"] == "PATCH"]
    assert patches[-1]["body"]["externalData"]["patchMode"] == "Merge"
    requests = st.rows(
        "select method, status_code from audit.api_log where queue_id is not null "
        "and vendor = 'servicetitan'"
    )
    assert [(r["method"], r["status_code"]) for r in requests] == [("PATCH", 200)] * len(wanted)

    sent = len(st_writes(st))
    build(st, "sync_servicetitan_customers")
    second = push(st.url, CUSTOMERS, options=FAST)
    assert second["enqueued"] == {"servicetitan_customers": 0}
    assert second["delivery"]["succeeded"] == 0
    assert len(st_writes(st)) == sent


def test_a_tag_mapping_row_adds_tag_types_on_the_next_push(st: CrmWarehouse) -> None:
    """No GoHighLevel tag of the world is mapped by default; one new row maps `customer` to
    the VIP tag type, and the next push adds it to every linked customer whose contact has it."""
    assert desired(st, "sync_servicetitan_customer_tags") == []  # as the module built it
    add_mapping(st, "contact_tags", "customer", "tag_types", "VIP", system="gohighlevel")
    build(st, "sync_servicetitan_customers", "sync_servicetitan_customer_tags")
    wanted = desired(st, "sync_servicetitan_customer_tags")
    assert len(wanted) >= 5
    vip = {
        row["tenant_id"]: row["tag_type_id"]
        for row in st.rows(
            "select tenant_id, tag_type_id from master.tag_types where tag_type_name = 'VIP'"
        )
    }
    assert {(row["tenant_id"], row["tag_type_id"]) for row in wanted} <= set(vip.items())

    result = push(st.url, TAGS, options=FAST)
    assert result["delivery"]["succeeded"] == len(wanted)
    for row in wanted:
        customer = st_get(st, row["tenant_id"], f"crm/customers/{row['customer_id']}")
        assert row["tag_type_id"] in customer["tagTypeIds"], row["entity_id"]
    posts = [w["path"] for w in st_writes(st) if w["method"] == "POST"]
    assert len(posts) == len(wanted) and all(
        p.endswith(f"/tags/{vip[int(p.split('/')[4])]}") for p in posts
    )

    again = push(st.url, TAGS, options=FAST)
    assert again["enqueued"] == {"servicetitan_customer_tags": 0}


def pick_items(wh: CrmWarehouse) -> dict[str, dict[str, Any]]:
    """An active item of each pricebook of the first tenant, from ServiceTitan."""
    tenant = wh.world.tenants[0]
    items = {}
    for item_type, path in PRICEBOOK_PATHS.items():
        listed = st_get(wh, tenant, f"pricebook/{path}", active="True", pageSize=1)["data"]
        items[item_type] = {"tenant_id": tenant, "pricebook_item_id": listed[0]["id"]}
    return items


def read_item(wh: CrmWarehouse, tenant: int, item_type: str, item: int) -> dict[str, Any]:
    return st_get(wh, tenant, f"pricebook/{PRICEBOOK_PATHS[item_type]}/{item}")


def test_pricebook_overrides_are_written_marked_synced_and_a_rejected_one_stays_pending(
    st: CrmWarehouse,
) -> None:
    items = pick_items(st)
    material, service, equipment = items["material"], items["service"], items["equipment"]
    tenant = material["tenant_id"]
    overrides = [
        # (tenant, type, id, price, member price, cost)
        (tenant, "material", material["pricebook_item_id"], "123.45", None, "61.10"),
        (service["tenant_id"], "service", service["pricebook_item_id"], None, "88.00", None),
        (
            equipment["tenant_id"],
            "equipment",
            equipment["pricebook_item_id"],
            "4999.99",
            None,
            None,
        ),
        (tenant, "material", 999_999_999, "10.00", None, None),  # no such material
    ]
    st.execute(
        "insert into crm.pricebook_overrides (tenant_id, item_type, st_pricebook_id, "
        "override_price, override_member_price, override_cost, reason) "
        "select *, 'test' from unnest(%s::bigint[], %s::text[], %s::bigint[], %s::numeric[], "
        "%s::numeric[], %s::numeric[])",
        tuple(list(column) for column in zip(*overrides, strict=True)),
    )
    build(st, "sync_servicetitan_pricebook")
    wanted = desired(st, "sync_servicetitan_pricebook")
    assert len(wanted) == 4
    by_id = {row["st_pricebook_id"]: row["payload"] for row in wanted}
    assert by_id[material["pricebook_item_id"]] == {"price": 123.45, "cost": 61.1}
    assert by_id[service["pricebook_item_id"]] == {"memberPrice": 88.0}

    result = push(st.url, PRICEBOOK, options=FAST)
    assert result["delivery"] == {**result["delivery"], "succeeded": 3, "failed": 1}
    assert read_item(st, tenant, "material", material["pricebook_item_id"])["price"] == 123.45
    assert read_item(st, tenant, "material", material["pricebook_item_id"])["cost"] == 61.1
    assert (
        read_item(st, service["tenant_id"], "service", service["pricebook_item_id"])["memberPrice"]
        == 88.0
    )
    assert (
        read_item(st, equipment["tenant_id"], "equipment", equipment["pricebook_item_id"])["price"]
        == 4999.99
    )
    books = {
        row["st_pricebook_id"]: row
        for row in st.rows(
            "select st_pricebook_id, pending_sync, last_synced_at, sync_error "
            "from crm.pricebook_overrides"
        )
    }
    for _, _, item, *_ in overrides[:3]:
        assert not books[item]["pending_sync"] and books[item]["last_synced_at"] is not None
        assert books[item]["sync_error"] is None
    rejected = books[999_999_999]
    assert rejected["pending_sync"] and rejected["last_synced_at"] is None
    assert rejected["sync_error"] == "HTTP 404: Material with ID 999999999 not found."

    sent = len(st_writes(st))
    again = push(st.url, PRICEBOOK, options=FAST)
    # a failed row counts as not delivered: it goes again (and fails again), nothing else;
    # the rebuild below drops the synced overrides from the model
    assert again["enqueued"] == {"servicetitan_pricebook": 1}
    assert again["delivery"]["failed"] == 1 and len(st_writes(st)) == sent

    # a manager's edit makes a synced override pending again, and the next push sends it
    st.execute(
        "update crm.pricebook_overrides set override_price = 130 where st_pricebook_id = %s",
        (material["pricebook_item_id"],),
    )
    build(st, "sync_servicetitan_pricebook")
    assert {r["st_pricebook_id"] for r in desired(st, "sync_servicetitan_pricebook")} == {
        material["pricebook_item_id"],
        999_999_999,
    }
    edited = push(st.url, PRICEBOOK, options=FAST)
    assert edited["enqueued"] == {"servicetitan_pricebook": 2}
    assert read_item(st, tenant, "material", material["pricebook_item_id"])["price"] == 130.0


def test_the_vendor_refuses_a_negative_price_with_its_validation_message(st: CrmWarehouse) -> None:
    """Such a value cannot come from crm.pricebook_overrides (it checks >= 0); a row put into
    the queue by hand fails with ServiceTitan's message and the item is unchanged."""
    material = pick_items(st)["material"]
    tenant, item = material["tenant_id"], material["pricebook_item_id"]
    before = read_item(st, tenant, "material", item)
    with connect(st) as conn:
        conn.execute(
            "insert into sync.outbound_queue (target_system, entity_type, entity_id, scope, "
            "operation, payload, idempotency_key) values ('servicetitan', "
            "'st_pricebook_override', %s, %s, 'update', %s, 'negative')",
            (f"{tenant}/material/{item}", str(tenant), Jsonb({"price": -5, "memberPrice": 3})),
        )
    result = worker.run(st.url, FAST)
    assert result.counts["failed"] == 1
    [row] = st.rows("select status, attempts, last_error from sync.outbound_queue")
    assert row["status"] == "failed" and row["attempts"] == 1
    assert row["last_error"] == (
        "HTTP 400: One or more validation errors occurred. "
        "Price: 'Price' must be greater than or equal to '0'."
    )
    assert read_item(st, tenant, "material", item) == before


def test_transformations_named_by_mappings_shape_what_the_vendor_stores(st: CrmWarehouse) -> None:
    """New mapping rows with transformations (phone to E.164, date to ISO, a value map) change
    the next push; the converted values are what ServiceTitan stores. CallRail's value goes as
    the money string the seeded mapping names."""
    st.execute(
        "insert into workflow.transformations (name, source_type, dest_type, rules) values "
        "('test_kind', 'string', 'string', "
        """'[{"kind": "trim"}, {"kind": "value_map", "map": {"customer": "C"}, "default": "?"}]')"""
    )
    add_mapping(
        st,
        "sync_servicetitan_customers",
        "ghl_phone",
        "customers",
        "externalData.ghl_phone",
        transform="phone_e164",
    )
    add_mapping(
        st,
        "sync_servicetitan_customers",
        "ghl_added_at",
        "customers",
        "externalData.ghl_added_on",
        transform="date_iso",
    )
    add_mapping(
        st,
        "sync_servicetitan_customers",
        "ghl_contact_type",
        "customers",
        "externalData.ghl_kind",
        transform="test_kind",
    )
    # sync_callrail_calls too: another module may have edited its rows by hand
    build(st, "sync_servicetitan_customers", "sync_callrail_calls")
    wanted = desired(st, "sync_servicetitan_customers")
    contacts = {
        (row["location_id"], row["contact_id"]): row
        for row in st.rows(
            "select location_id, contact_id, phone_as_sent, added_at, contact_type "
            "from staging.stg_gohighlevel__contacts"
        )
    }
    push(st.url, CUSTOMERS, options=FAST)
    linked = external_by_contact(st, wanted)
    phones = 0
    for row in wanted:
        contact = contacts[(row["ghl_location_id"], row["ghl_contact_id"])]
        stored = linked[row["entity_id"]]
        digits = re.sub(r"\D", "", contact["phone_as_sent"] or "")
        if len(digits) == 10:
            assert stored["ghl_phone"] == f"+1{digits}", (contact["phone_as_sent"], stored)
            phones += 1
        assert stored["ghl_added_on"] == contact["added_at"].astimezone(UTC).date().isoformat()
        assert stored["ghl_kind"] == ("C" if contact["contact_type"] == "customer" else "?")
    assert phones >= 5
    calls = desired(st, "sync_callrail_calls")
    assert calls and all(re.fullmatch(r"\d+\.\d\d", row["payload"]["value"]) for row in calls)
    assert all(row["payload"]["value"] == f"{row['revenue']:.2f}" for row in calls)


def test_an_unknown_transformation_kind_is_refused(st: CrmWarehouse) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        st.execute(
            "insert into workflow.transformations (name, source_type, dest_type, rules) "
            """values ('test_eval', 'any', 'any', '[{"kind": "python", "code": "1"}]')"""
        )


def test_patch_repeated_after_a_kill_is_harmless(st: CrmWarehouse) -> None:
    """Killed between ServiceTitan's answer and the commit, a worker leaves its rows in
    progress; the next one sends the same PATCH again once the lease expired. And `lazi push`
    SIGKILLed at seeded random moments, then run to the end: every customer linked once, every
    row delivered once in the books, nothing left in progress."""
    seed = run_seed()
    rng = random.Random(seed)
    wanted = desired(st, "sync_servicetitan_customers")
    st.execute(
        "insert into sync.rate_limits (vendor, window_name, capacity, refill_per_s) "
        "values ('servicetitan', 'kill_test', 1, 25)"
    )
    try:
        for _ in range(8):
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lazi.cli",
                    "push",
                    "--target",
                    CUSTOMERS[0],
                    "--lease-seconds",
                    "1",
                ],
                cwd=PROJECT_ROOT,
                env={**os.environ, "DATABASE_URL": st.url},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.5, 2.5))
            process.send_signal(signal.SIGKILL)
            process.wait()
        result = push(st.url, CUSTOMERS, options=WorkerOptions(lease_s=1, retry=FAST.retry))
    finally:
        st.execute("delete from sync.rate_limits where window_name = 'kill_test'")
    assert statuses(st) == {"succeeded": len(wanted)}, f"seed {seed}: {result}"
    linked = external_by_contact(st, wanted)
    assert len(linked) == len(wanted), f"seed {seed}"
    for row in wanted:
        assert linked[row["entity_id"]]["ghl_contact_id"] == row["ghl_contact_id"], f"seed {seed}"
    pushed = st.rows(
        "select count(*) as n from sync.entity_hashes where entity_type = 'st_customer' "
        "and last_pushed_hash = master_hash"
    )[0]["n"]
    assert pushed == len(wanted), f"seed {seed}"

    # the commit lost after the vendor's answer: the rows are in progress, their lease gone
    mark = len(st_writes(st))
    st.execute(
        "update sync.outbound_queue set status = 'in_progress', attempts = 1, "
        "lease_expires_at = now() - interval '1 second', completed_at = null"
    )
    st.execute("update sync.entity_hashes set last_pushed_hash = null")
    before = {
        row["entity_id"]: st_get(st, row["tenant_id"], f"crm/customers/{row['customer_id']}")
        for row in wanted[:5]
    }
    again = worker.run(st.url, FAST)
    assert again.counts["succeeded"] == len(wanted)
    repeated = st_writes(st)[mark:]
    assert len(repeated) == len(wanted)
    assert external_by_contact(st, wanted) == linked  # the same keys, none doubled
    for entity_id, customer in before.items():
        tenant, customer_id = entity_id.split("/")
        after = st_get(st, int(tenant), f"crm/customers/{customer_id}")
        assert {k: v for k, v in after.items() if k != "modifiedOn"} == {
            k: v for k, v in customer.items() if k != "modifiedOn"
        }
