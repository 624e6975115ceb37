"""The reverse-ETL worker behind PgBouncer in transaction pooling mode (as Supabase's pooler
runs): enqueue and two workers share one server connection, so any session state they left
(a prepared statement, a session role, an advisory lock) would break or leak between them.

Debian's `pgbouncer` package provides the binary; without it the tests skip with the reason,
and under LAZI_STRICT=1 (CI) the skip is a failure, as for PostgreSQL 15. The module also
holds the second-run test (a reload and rebuild with no vendor change sends nothing)."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from lazi.config import build_url
from lazi.db import warehouse
from lazi.db.cluster import SERVER_OS_USER
from lazi.errors import LaziError
from lazi.ingest import run_vendor
from lazi.reverse_etl import callrail, enqueue, worker
from lazi.reverse_etl.push import push
from tests.conftest import free_port
from tests.reverse_etl import test_push_callrail as callrail_tests
from tests.reverse_etl.conftest import clear_calls, desired, statuses, writes
from tests.transform._crm_fixtures import CrmWarehouse

POOL_LOGIN = "lazi_push_pooled"


def pgbouncer_binary() -> str | None:
    """PATH first, then Debian's /usr/sbin (not on a normal user's PATH)."""
    configured = os.environ.get("LAZI_PGBOUNCER_BIN")
    if configured:
        return configured if Path(configured).exists() else None
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


def pooled_url(direct: str, port: int, user: str, password: str) -> str:
    dbname = psycopg.conninfo.conninfo_to_dict(direct)["dbname"]
    return build_url(user, password, "127.0.0.1", port, dbname)


@pytest.fixture(scope="module")
def pgbouncer(wh: CrmWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """PgBouncer on a free loopback port, transaction pooling, ONE server connection per
    pool; a login whose default role is lazi_reverse_etl (the README's pooler setup)."""
    binary = pgbouncer_binary()
    if binary is None:
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    password = secrets.token_urlsafe(18)
    with psycopg.connect(wh.url, autocommit=True) as conn:
        conn.execute(f"drop role if exists {POOL_LOGIN}")
        conn.execute(
            sql.SQL("create role {} login password {} in role lazi_reverse_etl").format(
                sql.Identifier(POOL_LOGIN), sql.Literal(password)
            )
        )
        conn.execute(f"alter role {POOL_LOGIN} set role = 'lazi_reverse_etl'")
    direct = psycopg.conninfo.conninfo_to_dict(wh.url)
    folder = tmp_path_factory.mktemp("pgbouncer")
    port = free_port()
    # Plain passwords in the auth file: PgBouncer then answers the client's SCRAM and does
    # SCRAM to the server itself (the test cluster accepts nothing else).
    (folder / "users.txt").write_text(
        f'"{POOL_LOGIN}" "{password}"\n"{direct["user"]}" "{direct["password"]}"\n'
    )
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host=127.0.0.1 port={direct["port"]}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = 1
max_client_conn = 20
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
"""
    )
    run_as: dict = {}
    if os.geteuid() == 0:  # PgBouncer refuses root; run it as the test cluster's server user
        user = pwd.getpwnam(SERVER_OS_USER)
        for path in (folder, *folder.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
        run_as = {"user": user.pw_uid, "group": user.pw_gid}
    (folder / "users.txt").chmod(0o600)
    process = subprocess.Popen(
        [binary, str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **run_as,
    )
    pooled = pooled_url(wh.url, port, POOL_LOGIN, password)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                psycopg.connect(pooled, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = folder / "pgbouncer.log"
                    said = process.stderr.read() if process.stderr else b""
                    raise RuntimeError(
                        f"pgbouncer did not start: {said.decode(errors='replace')}"
                        f"{log.read_text() if log.exists() else ''}"
                    ) from None
                time.sleep(0.1)
        yield {
            "url": pooled,
            "superuser_url": pooled_url(wh.url, port, direct["user"], direct["password"]),
            "log": folder / "pgbouncer.log",
        }
    finally:
        process.terminate()
        process.wait(timeout=10)
        with psycopg.connect(wh.url, autocommit=True) as conn:
            conn.execute(f"drop role if exists {POOL_LOGIN}")


def test_enqueue_and_two_workers_deliver_everything_through_pgbouncer(
    fresh: CrmWarehouse, pgbouncer: dict
) -> None:
    """Through one pooled server connection: every call delivered once and read back, no
    row left in progress, and a re-run enqueues and sends nothing."""
    clear_calls(fresh)
    wanted = desired(fresh)
    mark = len(writes(fresh))
    with warehouse.connect_as(pgbouncer["url"], worker.ROLE, autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone() == ("lazi_reverse_etl",)
        assert enqueue.enqueue(conn, callrail.CALLS) == len(wanted)

    results: list[worker.WorkerResult] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(
                worker.run(pgbouncer["url"], callrail_tests.FAST, entity_types=["callrail_call"])
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(r.counts["succeeded"] for r in results) == len(wanted), results
    assert statuses(fresh) == {"succeeded": len(wanted)}
    per_call = Counter(entry["path"] for entry in writes(fresh)[mark:])
    assert len(per_call) == len(wanted) and set(per_call.values()) == {1}, per_call
    callrail_tests.assert_applied(fresh, "through pgbouncer")
    logged = fresh.rows("select count(*) as n from audit.api_log where queue_id is not null")
    assert logged[0]["n"] == len(wanted)

    again = push(pgbouncer["url"], callrail_tests.CALLRAIL, options=callrail_tests.FAST)
    assert again["enqueued"] == {"callrail_calls": 0}
    assert again["delivery"]["succeeded"] == 0
    assert len(writes(fresh)) == mark + len(wanted)


def test_a_login_without_the_worker_role_is_refused_through_pgbouncer(pgbouncer: dict) -> None:
    """PgBouncer refuses as_role's startup option; a login that would then act as itself
    (here the superuser) must not run the worker."""
    with pytest.raises(LaziError, match="not as lazi_reverse_etl") as refused:
        warehouse.connect_as(pgbouncer["superuser_url"], worker.ROLE, autocommit=True)
    password = psycopg.conninfo.conninfo_to_dict(pgbouncer["superuser_url"])["password"]
    assert password not in str(refused.value)


def test_a_rerun_after_a_reload_and_build_with_no_vendor_change_sends_nothing(
    fresh: CrmWarehouse,
) -> None:
    """What a second `lazi run` does: load CallRail again (it now holds what was pushed, so
    the model's read_state changes) and rebuild the model; the hash covers the sent fields
    only, so nothing is queued and nothing is sent. (Here rather than beside the other push
    tests, whose module spends most of the stand-in's hourly request budget per account.)"""
    clear_calls(fresh)
    first = push(fresh.url, callrail_tests.CALLRAIL, options=callrail_tests.FAST)
    assert first["delivery"]["succeeded"] == len(desired(fresh))
    before = {row["entity_id"]: row["read_state"] for row in desired(fresh)}
    run_vendor("callrail", fresh.url, full=True)
    fresh.dbt("build", "--select", "sync_callrail_calls")
    after = desired(fresh)
    assert any(before[row["entity_id"]] != row["read_state"] for row in after)
    callrail_tests.assert_applied(fresh)
    sent = len(writes(fresh))
    books = statuses(fresh)

    second = push(fresh.url, callrail_tests.CALLRAIL, options=callrail_tests.FAST)
    assert second["enqueued"] == {"callrail_calls": 0}
    assert second["delivery"] == dict.fromkeys(second["delivery"], 0)
    assert len(writes(fresh)) == sent
    assert statuses(fresh) == books
