"""Incremental master models equal a full refresh: rounds of stand-in changes (the world's own
day of business plus the awkward cases: renamed customers, technicians and job types, invoices,
jobs, contacts and payments moved to another parent, deactivations and deletions) are loaded and
merged incrementally; the result must equal a --full-refresh build row for row (EXCEPT ALL both
ways) and the truth."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from flows.transform import PER_LOAD_EXCLUDE
from tests.transform.conftest import (
    INCREMENTAL_MODELS,
    MASTER_MODELS,
    StWarehouse,
    differences,
    snapshot_master,
    truth_mismatches,
)

ROUNDS = 10


def _live(warehouse: StWarehouse, name: str, tenant: int, skip: int = 0, **match: Any) -> dict:
    collection = warehouse.world.collection("servicetitan", name, tenant)
    found = [
        record
        for _, record in collection.iter_from(0)
        if not collection.is_deleted(record)
        and record.get("active", True)
        and all(record.get(k) == v for k, v in match.items())
    ]
    return found[(skip * 7) % len(found)]


def awkward_changes(warehouse: StWarehouse, round_number: int) -> None:
    """Changes the world's own advance() rarely makes, one family per round."""
    world = warehouse.world
    tenant = world.tenants[round_number % len(world.tenants)]

    def col(name: str) -> Any:
        return world.collection("servicetitan", name, tenant)

    kind = round_number % 5
    if kind == 0:  # renames shown on other rows
        customer = _live(warehouse, "customers", tenant, round_number)
        col("customers").patch(customer["id"], {"name": customer["name"] + " Jr."})
        technician = _live(warehouse, "technicians", tenant, round_number)
        col("technicians").patch(technician["id"], {"name": technician["name"] + " II"})
        job_type = _live(warehouse, "job_types", tenant, round_number)
        col("job_types").patch(job_type["id"], {"name": job_type["name"] + " (new)"})
    elif kind == 1:  # an invoice and a job move to another customer, an invoice to another job
        a = _live(warehouse, "customers", tenant, round_number)
        b = _live(warehouse, "customers", tenant, round_number + 1)
        invoice = _live(warehouse, "invoices", tenant, round_number)
        col("invoices").patch(invoice["id"], {"customer": {"id": b["id"], "name": b["name"]}})
        job = _live(warehouse, "jobs", tenant, round_number)
        col("jobs").patch(job["id"], {"customerId": a["id"]})
        # and an invoice moves to another job (its revenue leaves the first job)
        moved = _live(warehouse, "invoices", tenant, round_number + 4)
        target = _live(warehouse, "jobs", tenant, round_number + 5, jobStatus="Completed")
        col("invoices").patch(moved["id"], {"job": {**(moved["job"] or {}), "id": target["id"]}})
    elif kind == 2:  # a payment moves to another invoice, another one is voided
        payment = _live(warehouse, "payments", tenant, round_number)
        target = _live(warehouse, "invoices", tenant, round_number + 3)
        applied = [dict(entry, appliedTo=target["id"]) for entry in payment["appliedTo"]]
        col("payments").patch(payment["id"], {"appliedTo": applied})
        voided = _live(warehouse, "payments", tenant, round_number + 5)
        col("payments").patch(voided["id"], {"active": False})
    elif kind == 3:  # contacts: one moves to another customer, one is deleted
        contact = _live(warehouse, "customer_contacts", tenant, round_number, type="Email")
        other = _live(warehouse, "customers", tenant, round_number + 2)
        col("customer_contacts").patch(contact["id"], {"customerId": other["id"]})
        gone = _live(warehouse, "customer_contacts", tenant, round_number + 4)
        col("customer_contacts").delete(gone["id"])
    else:  # a technician leaves a job, a job is canceled, an invoice is deactivated
        assignment = _live(warehouse, "appointment_assignments", tenant, round_number)
        col("appointment_assignments").patch(assignment["id"], {"active": False})
        job = _live(warehouse, "jobs", tenant, round_number + 1, jobStatus="Completed")
        col("jobs").patch(job["id"], {"jobStatus": "Canceled"})
        invoice = _live(warehouse, "invoices", tenant, round_number + 2)
        col("invoices").patch(invoice["id"], {"active": False})


def loaded_ids(warehouse: StWarehouse) -> list[str]:
    return [r["load_id"] for r in warehouse.rows("select load_id from raw._dlt_loads")]


def changed_records(warehouse: StWarehouse, earlier_loads: list[str]) -> int:
    """ServiceTitan records with a new version in raw since `earlier_loads`: raw keeps at most
    one version of a record per load, so new rows are changed records."""
    tables = warehouse.rows(
        "select table_name from information_schema.columns where table_schema = 'raw'"
        " and column_name = '_dlt_load_id' and table_name like 'st\\_%%'"
    )
    total = 0
    for table in tables:
        query = sql.SQL("select count(*) as n from raw.{} where _dlt_load_id <> all(%s)").format(
            sql.Identifier(table["table_name"])
        )
        total += warehouse.rows(query, (earlier_loads,))[0]["n"]
    return total


@pytest.fixture(scope="module")
def incremental_rounds(st_warehouse: StWarehouse) -> dict[str, Any]:
    """A full build, then ROUNDS rounds of change → load → incremental run."""
    st_warehouse.build()
    full_rows = {
        model: st_warehouse.rows(f"select count(*) as n from master.{model}")[0]["n"]
        for model in INCREMENTAL_MODELS
    }
    merged: dict[str, list[int]] = {model: [] for model in INCREMENTAL_MODELS}
    differing: dict[str, list[int]] = {model: [] for model in INCREMENTAL_MODELS}
    changed: list[int] = []
    seconds = []
    for round_number in range(ROUNDS):
        st_warehouse.world.advance(24)
        awkward_changes(st_warehouse, round_number)
        earlier_loads = loaded_ids(st_warehouse)
        st_warehouse.load()
        changed.append(changed_records(st_warehouse, earlier_loads))
        snapshot_master(st_warehouse, "before_round", INCREMENTAL_MODELS)
        run = st_warehouse.run_master()
        seconds.append(run.seconds)
        for model in INCREMENTAL_MODELS:
            merged[model].append(run.rows_affected(model) or 0)
            differing[model].append(differences(st_warehouse, "before_round", model)[1])
    return {
        "full_rows": full_rows,
        "merged": merged,
        "differing": differing,
        "changed": changed,
        "seconds": seconds,
    }


def test_incremental_runs_only_touch_what_changed(incremental_rounds: dict[str, Any]) -> None:
    """Each round's run rewrites no more rows than the round changed: the rows whose values
    differ afterwards, plus one per raw record with a new version (a change may leave the
    model's values as they were, e.g. a field the model does not read). A run that redid the
    table, or all of it but a few rows, exceeds that bound, which stays far below the table."""
    full, merged = incremental_rounds["full_rows"], incremental_rounds["merged"]
    differing, changed = incremental_rounds["differing"], incremental_rounds["changed"]
    assert all(changed), changed  # every round loaded changes
    for model in INCREMENTAL_MODELS:
        for round_number, rows in enumerate(merged[model]):
            bound = differing[model][round_number] + changed[round_number]
            assert rows <= bound, (model, round_number, rows, differing[model], changed)
            assert bound < full[model] // 2, (model, round_number, bound, full[model])
    assert sum(merged["invoices"]) > 0 and sum(merged["customers"]) > 0


def test_incremental_state_matches_the_truth(
    st_warehouse: StWarehouse, incremental_rounds: dict[str, Any]
) -> None:
    assert truth_mismatches(st_warehouse) == {}


def test_customer_names_answer_fuzzy_lookups_like_master_customers(
    st_warehouse: StWarehouse, incremental_rounds: dict[str, Any]
) -> None:
    """After the incremental rounds (customers renamed among them), marts.customer_names holds
    exactly the names master.customers has, and the README's fuzzy lookup through it finds the
    customers a trigram search of master.customers finds."""
    names = {r["customer_name"] for r in st_warehouse.rows("select * from marts.customer_names")}
    expected = st_warehouse.rows(
        "select distinct customer_name from master.customers where customer_name is not null"
    )
    assert names == {r["customer_name"] for r in expected}
    renamed = st_warehouse.rows(
        "select customer_name from master.customers where customer_name like '%Jr.'"
    )
    assert renamed and {r["customer_name"] for r in renamed} <= names
    direct = (
        "select customer_key, similarity(customer_name, %(q)s) as score"
        " from master.customers where customer_name %% %(q)s"
    )
    through_names = (
        "select customers.customer_key, names.score from ("
        " select customer_name, similarity(customer_name, %(q)s) as score"
        " from marts.customer_names where customer_name %% %(q)s) as names"
        " join master.customers on customers.customer_name = names.customer_name"
    )
    samples = st_warehouse.rows(
        "select customer_name from master.customers where length(customer_name) > 5"
        " order by customer_key limit 20"
    )
    found = 0
    for row in samples:
        query = row["customer_name"][:3] + row["customer_name"][4:]  # a letter dropped
        with psycopg.connect(st_warehouse.url) as conn:
            conn.execute("set pg_trgm.similarity_threshold = 0.5")
            a = sorted(conn.execute(direct, {"q": query}).fetchall())
            b = sorted(conn.execute(through_names, {"q": query}).fetchall())
        assert a == b, query
        found += len(a)
    assert found >= len(samples)


def test_incremental_equals_full_refresh(
    st_warehouse: StWarehouse, incremental_rounds: dict[str, Any]
) -> None:
    snapshot_master(st_warehouse, "incremental_copy", MASTER_MODELS)
    snapshot_master(
        st_warehouse, "incremental_staging", ("int_job_revenue",), source="intermediate"
    )
    st_warehouse.run_master("--full-refresh")
    compared = [(model, "incremental_copy", "master") for model in MASTER_MODELS]
    compared.append(("int_job_revenue", "incremental_staging", "intermediate"))
    for model, copy, source in compared:
        only_incremental, only_full, total = differences(st_warehouse, copy, model, source)
        assert (only_incremental, only_full) == (0, 0), (model, only_incremental, only_full, total)
        assert total > 0, model
    # and the incremental build still merges on top of the full refresh without change
    run = st_warehouse.run_master()
    for model in (*INCREMENTAL_MODELS, "int_job_revenue"):
        assert run.rows_affected(model) == 0, model


def test_per_load_build_skips_staging_scans_and_unit_tests(
    st_warehouse: StWarehouse, incremental_rounds: dict[str, Any]
) -> None:
    """The build a schedule runs after every load (`lazi run --no-full-checks`): models and
    the tests on master run; the tests that read whole staging views and the unit tests wait
    for the nightly build."""
    full = st_warehouse.build()
    per_load = st_warehouse.build("--exclude", *PER_LOAD_EXCLUDE)
    kinds = {r["unique_id"].split(".")[0] for r in per_load.results}
    assert kinds >= {"model", "test"} and "unit_test" not in kinds
    scanning = {r["unique_id"] for r in full.results if "stg_servicetitan__" in r["unique_id"]}
    ran = {r["unique_id"] for r in per_load.results}
    assert scanning and not {t for t in scanning if t.startswith("test.")} & ran
    assert any(r["unique_id"].startswith("unit_test.") for r in full.results)
    bad = [
        (r["unique_id"], r["status"]) for r in per_load.results if r["status"] in {"error", "fail"}
    ]
    assert not bad and any(r["status"] == "pass" for r in per_load.results), bad
