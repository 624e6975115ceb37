"""The `lazi` command as a user runs it: one clear line for bad input, no password printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from lazi.config import PROJECT_ROOT, with_database
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
        ("mysql://u:hunter22@localhost/db", "does not start with postgresql://"),
        ("postgresql://example:hunter22@127.0.0.1:1/db", "Cannot connect to PostgreSQL at"),
        ("postgresql://example:hunter22@[bad/db", "DATABASE_URL is malformed"),
        ("postgresql://example:hunter22@db.example:notaport/db", "has a port that is not a number"),
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
    env = {
        "DATABASE_URL": url,
        "LAZI_STATE_DIR": str(tmp_path / "state"),
        "LAZI_PROGRESS_INTERVAL": "0.2",
    }
    result = run_lazi("run", env=env, timeout=900)
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert result.returncode == 0, "\n".join(errors[:20]) or result.stderr[-2000:]
    assert_progress_before_summary(result.stdout.splitlines())
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
        delivered = conn.execute(
            "select count(*) from sync.outbound_queue where status = 'succeeded'"
        ).fetchone()[0]
        # each step acted as its own role (migration 0016): it owns what it made
        owners = dict(
            conn.execute(
                "select c.oid::regclass::text, c.relowner::regrole::text from pg_class as c "
                "where c.oid in ('raw.st_customers'::regclass, 'master.customers'::regclass, "
                "'staging.stg_servicetitan__customers'::regclass, 'marts.sync_callrail_calls'"
                "::regclass)"
            ).fetchall()
        )
    assert runs == {
        "lazi": "succeeded",
        "servicetitan": "succeeded",
        "gohighlevel": "succeeded",
        "callrail": "succeeded",
    }
    assert customers > 0
    assert owners == {
        "raw.st_customers": "lazi_loader",
        "master.customers": "lazi_transformer",
        "staging.stg_servicetitan__customers": "lazi_transformer",
        "marts.sync_callrail_calls": "lazi_transformer",
    }
    # the manifest the next build compares new code with (lazi upgrade)
    assert list((tmp_path / "state" / "dbt-state").glob("*/manifest.json"))
    users, conversations, sms = landed
    assert users > 0 and conversations > 0 and sms > 0
    # the push ran after the build, while the stand-ins were up, and says what it did
    (push,) = [line for line in result.stdout.splitlines() if line.startswith("  push ")]
    enqueued = int(re.search(r"(\d+) enqueued", push)[1])  # type: ignore[index]
    assert enqueued > 0 and f"{delivered} succeeded" in push and delivered > 0, push


def permanent_and_healing_failures(cluster: LocalCluster) -> dict[str, tuple[str, str]]:
    """case -> (DATABASE_URL, the words of the cause the one error line must carry)."""
    port = cluster.settings.port
    good = cluster.url("postgres")
    return {
        "wrong password": (
            f"postgresql://postgres:not-the-one@127.0.0.1:{port}/postgres",  # example: wrong
            'password authentication failed for user "postgres"',
        ),
        "closed port": (
            f"postgresql://postgres:not-the-one@127.0.0.1:{free_port()}/postgres",
            "Connection refused",
        ),
        "ssl against a server without it": (
            f"{good}{'&' if '?' in good else '?'}sslmode=require",
            "server does not support SSL, but SSL was required",
        ),
        "unknown database": (
            with_database(good, "no_such_db"),
            'database "no_such_db" does not exist',
        ),
    }


@pytest.mark.parametrize(
    "case", ["wrong password", "closed port", "ssl against a server without it", "unknown database"]
)
def test_run_fails_at_once_on_a_warehouse_it_cannot_use(
    pg_cluster: LocalCluster, tmp_path: Path, case: str
) -> None:
    """One line naming the cause, before Prefect starts; only a refused connection, which a
    restarting server heals, is retried first, and that is said in one notice."""
    url, cause = permanent_and_healing_failures(pg_cluster)[case]
    result = run_lazi("run", env={"DATABASE_URL": url, "LAZI_STATE_DIR": str(tmp_path)})
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "warehouse ready" not in output
    assert "Traceback" not in output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert cause in errors[0]
    assert "Cannot connect to PostgreSQL at 127.0.0.1:" in errors[0]
    notices = [line for line in lines if line not in errors]
    if case == "closed port":
        assert len(notices) == 1 and "Retrying for up to" in notices[0], result.stderr
    else:
        assert notices == [], result.stderr
    assert "not-the-one" not in output
    assert password_of(pg_cluster.url()) not in output


def test_the_flow_retries_only_failures_that_can_heal(pg_cluster: LocalCluster) -> None:
    """prepare_warehouse's retry condition, fed the failures a real server gives."""
    from prefect.states import Failed

    from flows.elt import can_heal
    from lazi.db.warehouse import ConnectionFailed, connect

    failures = {}
    for case, (url, _) in permanent_and_healing_failures(pg_cluster).items():
        with pytest.raises(ConnectionFailed) as caught:
            connect(url)
        failures[case] = can_heal(None, None, Failed(data=caught.value))
    assert failures == {
        "wrong password": False,
        "closed port": True,
        "ssl against a server without it": False,
        "unknown database": False,
    }
    assert can_heal(None, None, Failed(data=RuntimeError("a lost connection mid-migration")))


def assert_progress_before_summary(lines: list[str]) -> None:
    """Each vendor's sync (run in a child process) and dbt's build show progress in the run's
    own output, in plain lines since it is not a terminal, and end before the summary."""
    summary = lines.index("summary")
    progress = [i for i, line in enumerate(lines) if line.startswith("progress ")]
    assert progress and max(progress) < summary, lines
    for vendor in ("servicetitan", "gohighlevel", "callrail"):
        done = [
            line for line in lines if re.match(rf"progress {vendor} \w+: [\d,]+.*, done$", line)
        ]
        assert done, (vendor, [lines[i] for i in progress])
    builds = [line for line in lines if line.startswith("progress dbt build: ")]
    counts = [re.match(r"progress dbt build: ([\d,]+)/([\d,]+) nodes", line) for line in builds]
    assert all(counts) and builds[-1].endswith(", done"), builds
    finished, total = counts[-1].groups()  # type: ignore[union-attr]
    assert finished == total and int(total.replace(",", "")) > 0, builds[-1]
