"""ServiceTitan raw → staging → master on the stand-in: the build passes, every computed field
equals the generator's truth exactly, deactivated and deleted records stay visible, values
that cannot be cast are flagged instead of dropped, BI lookups on master.customers have
their indexes."""

from __future__ import annotations

import psycopg
import pytest

from tests.transform.conftest import MASTER_MODELS, StWarehouse, checked_counts, truth_mismatches


@pytest.fixture(scope="module")
def built(st_warehouse: StWarehouse) -> StWarehouse:
    """Two days of changes on top of the first load (inactive, deleted, moved records), then
    one invoice with a malformed balance and due date, then a full build."""
    for _ in range(2):
        st_warehouse.world.advance(24)
        st_warehouse.load()
    tenant = st_warehouse.world.tenants[0]
    invoices = st_warehouse.world.collection("servicetitan", "invoices", tenant)
    victim = next(r for _, r in invoices.iter_from(0) if r["active"])
    # values the truth never reads, so only the warehouse has to cope with them
    invoices.patch(victim["id"], {"balance": "12,34 USD", "dueDate": "2024-02-30T00:00:00Z"})
    st_warehouse.load()
    st_warehouse.notes["malformed_invoice"] = (tenant, victim["id"])
    st_warehouse.build()
    return st_warehouse


def test_build_passes_and_every_master_table_is_filled(built: StWarehouse) -> None:
    for model in MASTER_MODELS:
        assert built.rows(f"select count(*) as n from master.{model}")[0]["n"] > 0, model


def test_computed_fields_equal_the_truth(built: StWarehouse) -> None:
    mismatches = truth_mismatches(built)
    assert mismatches == {}
    counts = checked_counts(built)
    assert counts["customers"] > 150 and counts["invoices"] > 300 and counts["revenue"] > 0


def test_one_row_per_record_and_nothing_dropped(built: StWarehouse) -> None:
    world = built.world
    for model, collection in (
        ("customers", "customers"),
        ("jobs", "jobs"),
        ("invoices", "invoices"),
        ("estimates", "estimates"),
        ("locations", "locations"),
        ("technicians", "technicians"),
    ):
        expected = sum(
            len(world.collection("servicetitan", collection, tenant)) for tenant in world.tenants
        )
        assert built.rows(f"select count(*) as n from master.{model}")[0]["n"] == expected, model


def test_inactive_and_deleted_records_stay_visible_with_flags(built: StWarehouse) -> None:
    world = built.world
    inactive = {
        (tenant, r["id"])
        for tenant in world.tenants
        for _, r in world.collection("servicetitan", "customers", tenant).iter_from(0)
        if not r["active"]
    }
    flagged = {
        (r["tenant_id"], r["customer_id"])
        for r in built.rows(
            "select tenant_id, customer_id from master.customers where not is_active"
        )
    }
    assert inactive and flagged == inactive
    deleted_jobs = built.rows("select count(*) as n from master.jobs where not is_active")[0]["n"]
    assert deleted_jobs > 0


def test_uncastable_value_is_kept_and_flagged(built: StWarehouse) -> None:
    tenant, invoice_id = built.notes["malformed_invoice"]
    staged = built.rows(
        "select has_type_errors, cast_error_columns, total"
        " from staging.stg_servicetitan__invoices"
        " where tenant_id = %s and invoice_id = %s",
        (tenant, invoice_id),
    )
    assert staged[0]["has_type_errors"] is True
    assert staged[0]["cast_error_columns"] == "balance, due_at"
    assert staged[0]["total"] is not None, "the other values of the record still convert"
    master = built.rows(
        "select has_type_errors from master.invoices where tenant_id = %s and invoice_id = %s",
        (tenant, invoice_id),
    )
    assert master == [{"has_type_errors": True}]
    results = built.dbt("test", "--select", "stg_servicetitan__invoices__no_type_errors").results
    assert [r["status"] for r in results] == ["warn"]


@pytest.mark.parametrize(
    ("lookup", "where", "index_hint"),
    [
        ("phone", "primary_phone_normalized = '+15125550100'", "primary_phone_normalized"),
        ("email", "lower(primary_email) = 'someone@example.com'", "lower(primary_email)"),
        ("name", "customer_name % 'Jon Smith'", "gin_trgm_ops"),
        ("date", "created_at >= now() - interval '1 day'", "created_at"),
    ],
)
def test_bi_lookups_on_customers_use_an_index(
    built: StWarehouse, lookup: str, where: str, index_hint: str
) -> None:
    indexes = {
        r["indexdef"]
        for r in built.rows(
            "select indexdef from pg_indexes "
            "where schemaname = 'master' and tablename = 'customers'"
        )
    }
    assert any(index_hint in d for d in indexes), (lookup, indexes)
    with psycopg.connect(built.url) as conn:
        conn.execute("set enable_seqscan = off")  # the table is tiny here: force the question
        plan = "\n".join(
            row[0] for row in conn.execute("explain select * from master.customers where " + where)
        )
    assert "Index" in plan, plan


def test_bi_reader_can_read_master(built: StWarehouse) -> None:
    granted = built.rows(
        "select table_name from information_schema.role_table_grants"
        " where table_schema = 'master' and grantee = 'bi_reader' and privilege_type = 'SELECT'"
    )
    assert {r["table_name"] for r in granted} >= set(MASTER_MODELS)
