"""The `lazi` command as a user runs it: one clear line for bad input, no password printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from lazi.config import PROJECT_ROOT
from lazi.db.cluster import LocalCluster
from tests.conftest import create_database, free_port

LAZI = str(Path(sys.executable).with_name("lazi"))


def run_lazi(*args: str, env: dict[str, str] | None = None, timeout: int = 300):
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update(env or {})
    return subprocess.run(
        [LAZI, *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
    )


def password_of(url: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(url)["password"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:hunter22@localhost/db", "is not a PostgreSQL URL"),
        ("postgresql://example:hunter22@127.0.0.1:1/db", "Cannot connect to PostgreSQL at"),
        ("postgresql://example:hunter22@[bad/db", "DATABASE_URL is malformed"),
        ("postgresql://example:hunter22@db.example:notaport/db", "port 'notaport', which is not a"),
        ("postgresql://example:hunter22@127.0.0.1:5432/db?sslmode=bogus", "invalid sslmode value"),
    ],
)
def test_bad_database_url_is_one_clear_line(url: str, message: str) -> None:
    result = run_lazi("db", "migrate", env={"DATABASE_URL": url})
    assert result.returncode == 1
    assert message in result.stderr
    assert "hunter22" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_wrong_password_is_reported_without_the_password(pg_cluster: LocalCluster) -> None:
    port = pg_cluster.settings.port
    url = f"postgresql://postgres:not-the-one@127.0.0.1:{port}/postgres"  # example: wrong
    result = run_lazi("db", "migrate", env={"DATABASE_URL": url})
    assert result.returncode == 1
    assert "password authentication failed" in result.stderr
    assert "not-the-one" not in result.stderr


def test_db_url_masks_the_password_unless_asked(pg_cluster: LocalCluster) -> None:
    url = pg_cluster.url()
    masked = run_lazi("db", "url", env={"DATABASE_URL": url})
    assert masked.returncode == 0
    assert password_of(url) not in masked.stdout
    assert masked.stdout.strip() == url.replace(password_of(url), "****")
    shown = run_lazi("db", "url", "--show-password", env={"DATABASE_URL": url})
    assert shown.stdout.strip() == url


def test_db_migrate_twice_is_a_no_op(pg_cluster: LocalCluster) -> None:
    url = create_database(pg_cluster, "cli")
    first = run_lazi("db", "migrate", env={"DATABASE_URL": url})
    assert first.returncode == 0, first.stderr
    assert "applied 0001_schemas_and_extensions" in first.stdout
    second = run_lazi("db", "migrate", env={"DATABASE_URL": url})
    assert second.returncode == 0
    assert second.stdout.strip().startswith("0 applied")


def test_local_cluster_lifecycle_through_the_cli(tmp_path: Path) -> None:
    env = {"LAZI_STATE_DIR": str(tmp_path / "state"), "LAZI_PG_PORT": str(free_port())}
    assert run_lazi("db", "status", env=env).returncode == 3  # not created yet
    started = run_lazi("db", "start", env=env)
    try:
        assert started.returncode == 0, started.stderr
        assert "started on 127.0.0.1" in started.stdout
        assert "****" in started.stdout
        assert "already running" in run_lazi("db", "start", env=env).stdout
        status = run_lazi("db", "status", env=env)
        assert status.returncode == 0 and "running" in status.stdout
        url = run_lazi("db", "url", "--show-password", env=env).stdout.strip()
        with psycopg.connect(url) as conn:
            assert conn.execute("select current_database()").fetchone() == ("lazi",)
        password = password_of(url)
        assert password not in started.stdout + status.stdout
    finally:
        stopped = run_lazi("db", "stop", env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert run_lazi("db", "status", env=env).returncode == 3


def test_bad_port_setting_is_named() -> None:
    result = run_lazi("db", "start", env={"LAZI_PG_PORT": "eighty"})
    assert result.returncode == 1
    assert "LAZI_PG_PORT='eighty' is not a TCP port" in result.stderr


def test_run_executes_the_elt_flow_and_logs_it(pg_cluster: LocalCluster, tmp_path: Path) -> None:
    """With no vendor credentials, `lazi run` loads every vendor from local stand-ins."""
    url = create_database(pg_cluster, "run")
    env = {"DATABASE_URL": url, "LAZI_STATE_DIR": str(tmp_path / "state")}
    result = run_lazi("run", env=env, timeout=900)
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert result.returncode == 0, "\n".join(errors[:20]) or result.stderr[-2000:]
    migrations = len(list((PROJECT_ROOT / "migrations").glob("*.sql")))
    assert f"{migrations} applied now" in result.stdout
    assert "stand-ins        servicetitan, gohighlevel, callrail" in result.stdout
    assert password_of(url) not in result.stdout + result.stderr
    with psycopg.connect(url) as conn:
        runs = dict(
            conn.execute(
                "select vendor, status from sync.inbound_log where endpoint in ('(run)', "
                "'migrations')"
            ).fetchall()
        )
        customers = conn.execute("select count(*) from raw.st_customers").fetchone()[0]
        # CallRail users and conversations land too, and conversations reach the timeline
        landed = conn.execute(
            "select (select count(*) from raw.callrail_users),"
            " (select count(*) from raw.callrail_text_messages),"
            " (select count(*) from crm.activities where activity_type = 'sms')"
        ).fetchone()
    assert runs == {
        "lazi": "succeeded",
        "servicetitan": "succeeded",
        "gohighlevel": "succeeded",
        "callrail": "succeeded",
    }
    assert customers > 0
    users, conversations, sms = landed
    assert users > 0 and conversations > 0 and sms > 0
