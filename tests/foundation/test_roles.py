"""Least privilege: each role can do its job and nothing else (asserted as permission errors)."""

from __future__ import annotations

import psycopg
import pytest


def as_role(url: str, role: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(f"set role {role}")
    return conn


@pytest.fixture(scope="module")
def db(migrated_db: str) -> str:
    """Tables created after the migrations, as dlt and dbt would, to exercise default grants."""
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("set role lazi_loader")
        conn.execute("create table raw.st_probe (id bigint, full_data jsonb)")
        conn.execute("insert into raw.st_probe values (1, '{}')")
        conn.execute("reset role")
        conn.execute("set role lazi_transformer")
        conn.execute("create table master.probe as select id from raw.st_probe")
        conn.execute("create table marts.probe as select id from raw.st_probe")
        conn.execute("reset role")
    return migrated_db


def test_bi_reader_reads_master_crm_marts(db: str) -> None:
    with as_role(db, "bi_reader") as conn:
        assert conn.execute("select count(*) from master.probe").fetchone()[0] == 1
        assert conn.execute("select count(*) from marts.probe").fetchone()[0] == 1


@pytest.mark.parametrize("query", ["select * from raw.st_probe", "select * from raw.sync_state"])
def test_bi_reader_cannot_read_raw(db: str, query: str) -> None:
    with as_role(db, "bi_reader") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(query)


@pytest.mark.parametrize(
    "statement",
    [
        "insert into master.probe values (2)",
        "update master.probe set id = 3",
        "delete from marts.probe",
        "insert into crm.pricebook_overrides (tenant_id, item_type, st_pricebook_id, "
        "override_price) values (1, 'material', 1, 1)",
        "insert into sync.locks (lock_key, locked_by, expires_at) values ('k', 'x', now() + '1m')",
        "create table master.mine (id int)",
        "create table public.mine (id int)",
        "truncate master.probe",
    ],
)
def test_bi_reader_cannot_write_anything(db: str, statement: str) -> None:
    with as_role(db, "bi_reader") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "insert into master.probe values (2)",
        "create table master.mine (id int)",
        "insert into sync.locks (lock_key, locked_by, expires_at) values ('k', 'x', now() + '1m')",
        "select * from master.probe",
    ],
)
def test_loader_cannot_touch_master_or_sync(db: str, statement: str) -> None:
    with as_role(db, "lazi_loader") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_loader_writes_raw_and_its_sync_state(db: str) -> None:
    with as_role(db, "lazi_loader") as conn:
        conn.execute("insert into raw.st_probe values (2, '{}')")
        conn.execute(
            "insert into raw.sync_state (vendor, table_name, endpoint) "
            "values ('servicetitan', 'st_probe', '/probe')"
        )


def test_transformer_reads_raw_but_cannot_write_it(db: str) -> None:
    with as_role(db, "lazi_transformer") as conn:
        assert conn.execute("select count(*) from raw.st_probe").fetchone()[0] >= 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("insert into raw.st_probe values (9, '{}')")


def test_reverse_etl_reads_marts_writes_sync_and_audit(db: str) -> None:
    with as_role(db, "lazi_reverse_etl") as conn:
        assert conn.execute("select count(*) from marts.probe").fetchone()[0] == 1
        conn.execute(
            "insert into sync.outbound_queue (target_system, entity_type, entity_id, operation, "
            "payload, idempotency_key) values ('servicetitan', 'customer', '1', 'update', "
            "'{}', 'probe-1')"
        )
        conn.execute(
            "insert into audit.error_log (error_type, error_message, source) "
            "values ('probe', 'm', 'test')"
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from raw.st_probe")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("insert into marts.probe values (5)")
