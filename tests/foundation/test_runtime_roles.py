"""Least privilege at run time: each step connects the way its code does (loads and pushes
through `warehouse.connect_as`, dbt through lazi's dbt environment) and cannot write another
step's schemas; migration 0016 hands what an older version's dbt built to lazi_transformer; the
reverse-ETL worker works through PgBouncer in transaction mode with a login of its own, and a
pooler that drops the role option is refused rather than run as the owner."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from yoyo import get_backend, read_migrations

from dlt_pipelines.common.pipeline import _loader_url
from lazi.config import MIGRATIONS_DIR, build_url
from lazi.db import warehouse
from lazi.db.cluster import SERVER_OS_USER, LocalCluster
from lazi.db.migrate import _yoyo_uri, migrate
from lazi.errors import LaziError
from lazi.reverse_etl import worker
from tests.conftest import create_database, free_port
from tests.dbt_copy import copy_project, run_dbt

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
RUNTIME_ROLES = "0016_runtime_roles"

# Probe models added to the copy of the project: dbt-built tables in master and crm, and two
# attempts to write sync (a model in that schema, a post-hook inserting into a sync table).
PROBES = {
    "master/rt_probe_master.sql": "select 1 as id",
    "crm/rt_probe_crm.sql": "select 2 as id",
    "marts/rt_probe_sync_table.sql": "{{ config(schema='sync') }}\nselect 3 as id",
    "marts/rt_probe_sync_hook.sql": (
        '{{ config(post_hook="insert into sync.locks (lock_key, locked_by, expires_at) '
        "values ('rt', 'dbt', now())\") }}\nselect 4 as id"
    ),
}
OWNED = ["model.lazi.rt_probe_master", "model.lazi.rt_probe_crm"]
WRITES_SYNC = ["model.lazi.rt_probe_sync_table", "model.lazi.rt_probe_sync_hook"]


@pytest.fixture(autouse=True)
def _no_role_logins(monkeypatch: pytest.MonkeyPatch) -> None:
    for role in ("lazi_loader", "lazi_transformer", "lazi_reverse_etl"):
        monkeypatch.delenv(warehouse.role_url_variable(role), raising=False)


@pytest.fixture(scope="module")
def db(migrated_db: str) -> str:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute("set role lazi_loader")
        conn.execute("create table raw.rt_probe (id bigint)")
        conn.execute("reset role")
        conn.execute("set role lazi_transformer")
        conn.execute("create table master.rt_probe as select 1 as id")
    return migrated_db


def owner(url: str, relation: str) -> str:
    with psycopg.connect(url) as conn:
        query = "select relowner::regrole::text from pg_class where oid = %s::regclass"
        return conn.execute(query, (relation,)).fetchone()[0]


def test_a_load_connection_writes_raw_and_its_books_but_not_master(db: str) -> None:
    with warehouse.connect_as(db, "lazi_loader", autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "lazi_loader"
        conn.execute("insert into raw.rt_probe values (1)")
        conn.execute(
            "insert into sync.inbound_log (run_id, vendor, endpoint, sync_type, status) "
            "values (gen_random_uuid(), 'probe', '(run)', 'incremental', 'running')"
        )
        conn.execute("update sync.inbound_log set status = 'failed' where vendor = 'probe'")
        for statement in (
            "insert into master.rt_probe values (2)",
            "create table master.rt_loader_probe (id int)",
            "insert into sync.locks (lock_key, locked_by, expires_at) values ('l', 'x', now())",
            "delete from sync.inbound_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_the_reverse_etl_connection_cannot_write_raw(db: str) -> None:
    with warehouse.connect_as(db, worker.ROLE, autocommit=True) as conn:
        assert conn.execute("select count(*) from master.rt_probe").fetchone()[0] == 1
        for statement in (
            "insert into raw.rt_probe values (2)",
            "select * from raw.rt_probe",
            "insert into master.rt_probe values (2)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_a_connection_not_acting_as_the_role_is_refused(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner's URL given as the worker's own login: refused, not run with every right."""
    monkeypatch.setenv(warehouse.role_url_variable(worker.ROLE), db)
    with pytest.raises(LaziError, match="acts as postgres, not as lazi_reverse_etl"):
        worker.run(db, worker.WorkerOptions(max_idle_wait_s=0))


def test_a_load_with_a_login_of_its_own_still_acts_as_lazi_loader(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What dlt creates must be the role's (dbt reads raw through lazi_loader's default
    privileges), also when LAZI_LOADER_URL names a login user."""
    login, password = f"rt_load_{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(16)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("create role {} login password {} in role lazi_loader").format(
                psycopg.sql.Identifier(login), psycopg.sql.Literal(password)
            )
        )
    try:
        info = psycopg.conninfo.conninfo_to_dict(db)
        own = build_url(login, password, info["host"], int(info["port"]), info["dbname"])
        monkeypatch.setenv(warehouse.role_url_variable("lazi_loader"), own)
        with psycopg.connect(_loader_url(db, "lazi_loader"), autocommit=True) as conn:
            acting = conn.execute("select session_user::text, current_user::text").fetchone()
            conn.execute("create table raw.rt_login_probe (id int)")
        assert acting == (login, "lazi_loader")
        assert owner(db, "raw.rt_login_probe") == "lazi_loader"
    finally:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("drop table if exists raw.rt_login_probe")
            conn.execute(psycopg.sql.SQL("drop role {}").format(psycopg.sql.Identifier(login)))


# ---- dbt as lazi_transformer; the upgrade of a database built by an older version ----------


@pytest.fixture(scope="module")
def upgraded(pg_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A database migrated up to 0016 whose probe models an older version's dbt built as the
    owner; dbt as lazi_transformer before and after migration 0016."""
    project = copy_project(tmp_path_factory.mktemp("rt_project"))
    for name, body in PROBES.items():
        (project / "dbt_project" / "models" / name).write_text(body + "\n")
    url = create_database(pg_cluster, "rt")
    backend = get_backend(_yoyo_uri(url))
    try:
        older = read_migrations(str(MIGRATIONS_DIR)).filter(lambda m: m.id < RUNTIME_ROLES)
        with backend.lock():
            backend.apply_migrations(backend.to_apply(older))
    finally:
        backend.connection.close()
    select = ["--select", *(name.split("/")[1].removesuffix(".sql") for name in PROBES)]
    as_owner = run_dbt(project, url, "run", "--select", "rt_probe_master", "rt_probe_crm", role="")
    assert as_owner.returncode == 0, as_owner.output[-3000:]
    before = run_dbt(project, url, "run", *select)
    applied = migrate(url).applied
    after = run_dbt(project, url, "run", *select)
    return {"url": url, "owner_run": as_owner, "before": before, "after": after, "applied": applied}


def test_an_older_dbt_build_is_owned_by_the_connection_user(upgraded: dict[str, Any]) -> None:
    assert RUNTIME_ROLES in upgraded["applied"]
    assert min(upgraded["applied"]) == RUNTIME_ROLES
    assert upgraded["owner_run"].status(OWNED[0]) == "success"
    for unique_id in OWNED:
        # dbt replaces a table by renaming it away: only its owner may
        assert upgraded["before"].status(unique_id) == "error"
        assert "must be owner" in upgraded["before"].message(unique_id)


def test_after_migration_0016_dbt_as_lazi_transformer_rebuilds_them(
    upgraded: dict[str, Any],
) -> None:
    url = upgraded["url"]
    for unique_id in OWNED:
        assert upgraded["after"].status(unique_id) == "success"
    assert owner(url, "master.rt_probe_master") == "lazi_transformer"
    assert owner(url, "crm.rt_probe_crm") == "lazi_transformer"
    # the table people edit in crm (a migration's, with its triggers) stays the migrations'
    assert owner(url, "crm.pricebook_overrides") == "postgres"


@pytest.mark.parametrize("unique_id", WRITES_SYNC)
def test_dbt_as_lazi_transformer_cannot_write_sync(
    upgraded: dict[str, Any], unique_id: str
) -> None:
    run = upgraded["after"]
    assert run.status(unique_id) == "error"
    assert "permission denied for" in run.message(unique_id)
    with psycopg.connect(upgraded["url"]) as conn:
        assert conn.execute("select count(*) from sync.locks").fetchone()[0] == 0
        assert conn.execute("select to_regclass('sync.rt_probe_sync_table')").fetchone()[0] is None


# ---- the worker through PgBouncer in transaction mode -----------------------------------


@pytest.fixture(scope="module")
def bouncer(
    db: str, pg_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """PgBouncer in transaction mode before the test database, with the `options` startup
    parameter on its ignore list (as a pooler must be configured to accept clients that send
    it), a login user of the reverse-ETL role and the owner."""
    if not Path(PGBOUNCER).exists():
        pytest.skip("pgbouncer not installed (apt-get install pgbouncer)")
    login = f"rt_push_{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(16)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("create role {} login password {} in role lazi_reverse_etl").format(
                psycopg.sql.Identifier(login), psycopg.sql.Literal(password)
            )
        )
    info = psycopg.conninfo.conninfo_to_dict(db)
    folder = tmp_path_factory.mktemp("pgbouncer")
    port = free_port()
    (folder / "users.txt").write_text(
        f'"{login}" "{password}"\n"{info["user"]}" "{info["password"]}"\n'
    )
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host=127.0.0.1 port={pg_cluster.settings.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = scram-sha-256\nauth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\nignore_startup_parameters = options\n"
    )
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # it refuses to run as root
        command[1:1] = ["-u", SERVER_OS_USER]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        pooled = build_url(info["user"], info["password"], "127.0.0.1", port, info["dbname"])
        deadline = time.monotonic() + 10
        while True:
            try:
                psycopg.connect(pooled).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        own = build_url(login, password, "127.0.0.1", port, info["dbname"])
        yield {"owner_url": pooled, "worker_url": own, "login": login}
    finally:
        process.terminate()
        process.wait(10)
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(psycopg.sql.SQL("drop role {}").format(psycopg.sql.Identifier(login)))


def test_the_role_option_dropped_by_a_pooler_is_refused(bouncer: dict[str, str]) -> None:
    with pytest.raises(LaziError, match="acts as postgres, not as lazi_loader"):
        warehouse.connect_as(bouncer["owner_url"], "lazi_loader")


def test_the_worker_delivers_through_pgbouncer_with_its_own_login(
    db: str, bouncer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims, lease writes and failure books, transaction by transaction through the pooler;
    a row no push delivers fails with the reason (no vendor needed)."""
    monkeypatch.setenv(warehouse.role_url_variable(worker.ROLE), bouncer["worker_url"])
    key = f"rt-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db, autocommit=True) as conn:
        queued = conn.execute(
            "insert into sync.outbound_queue (target_system, entity_type, entity_id, operation, "
            "payload, idempotency_key) values ('callrail', 'probe', '1', 'update', '{}', %s) "
            "returning id",
            (key,),
        ).fetchone()[0]
    result = worker.run(db, worker.WorkerOptions(max_idle_wait_s=0), entity_types=["probe"])
    assert result.as_dict()["failed"] == 1
    with psycopg.connect(db) as conn:
        status, error = conn.execute(
            "select status, last_error from sync.outbound_queue where id = %s",
            (queued,),
        ).fetchone()
    assert (status, error) == ("failed", "no push delivers callrail 'probe' rows")
    with warehouse.connect_as(db, worker.ROLE, autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone()[0] == bouncer["login"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("insert into raw.rt_probe values (3)")
