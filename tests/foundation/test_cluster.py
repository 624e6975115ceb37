"""The project-local cluster: reused, crash-safe, and clear about what went wrong."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import psycopg
import pytest

from lazi.config import LocalClusterSettings
from lazi.db.cluster import LocalCluster
from lazi.errors import LaziError
from tests.conftest import free_port


def make_cluster(root: Path, port: int | None = None, *, durable: bool = False) -> LocalCluster:
    return LocalCluster(
        LocalClusterSettings(
            data_dir=root / "pgdata",
            port=port or free_port(),
            bin_dir=None,
            db_name="lazi",
            fast_unsafe=not durable,
        )
    )


@pytest.fixture
def cluster(tmp_path: Path):
    c = make_cluster(tmp_path)
    yield c
    c.destroy()


def test_start_is_reused_and_data_survives_restart(cluster: LocalCluster) -> None:
    assert cluster.start() is True
    assert cluster.start() is False  # already running: reused, not restarted
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("create table kept (x int); insert into kept values (1)")
    assert cluster.stop() is True
    assert cluster.status().running is False
    cluster.start()
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("select x from kept").fetchone() == (1,)


def test_recovers_after_the_server_is_killed(tmp_path: Path) -> None:
    # The durable settings a newcomer's cluster has: a committed row survives kill -9.
    cluster = make_cluster(tmp_path, durable=True)
    cluster.start()
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("create table kept (x int); insert into kept values (7)")
    pid = cluster.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while cluster.status().running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (cluster.data_dir / "postmaster.pid").exists(), "a killed server leaves its lock file"
    # Make the stale lock point at a live process that is not PostgreSQL (pid reuse).
    lock = cluster.data_dir / "postmaster.pid"
    lines = lock.read_text().splitlines()
    lines[0] = str(os.getpid())
    lock.write_text("\n".join(lines) + "\n")
    assert cluster.start() is True
    assert any("stale lock file" in notice for notice in cluster.notices)
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("select x from kept").fetchone() == (7,)
    cluster.destroy()


def test_port_in_use_is_one_clear_error_and_creates_nothing(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        c = make_cluster(tmp_path, port)
        with pytest.raises(LaziError, match=rf"Port {port} .* in use .*LAZI_PG_PORT"):
            c.start()
    assert not c.data_dir.exists()
    assert not c.password_file.exists()


def test_missing_server_binaries_are_named(tmp_path: Path) -> None:
    c = LocalCluster(
        LocalClusterSettings(
            data_dir=tmp_path / "pgdata",
            port=free_port(),
            bin_dir=tmp_path / "nowhere",
            db_name="lazi",
            fast_unsafe=True,
        )
    )
    with pytest.raises(LaziError, match=r"LAZI_PG_BIN=.*has no pg_ctl"):
        c.start()
    assert not c.data_dir.exists()


def test_server_does_not_run_as_root_and_listens_on_loopback_only(cluster: LocalCluster) -> None:
    cluster.start()
    pid = cluster.status().pid
    owner_uid = os.stat(f"/proc/{pid}").st_uid
    assert owner_uid != 0
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("show password_encryption").fetchone() == ("scram-sha-256",)


def test_wrong_password_is_refused(cluster: LocalCluster) -> None:
    cluster.start()
    port = cluster.settings.port
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        wrong = f"postgresql://postgres:wrong@127.0.0.1:{port}/lazi"  # example: not the password
        psycopg.connect(wrong, connect_timeout=5)
