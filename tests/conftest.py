"""Shared fixtures: a throwaway PostgreSQL cluster started by the project's own mechanism."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from lazi.config import LocalClusterSettings, with_database
from lazi.db.cluster import LocalCluster
from lazi.db.migrate import migrate

PG15_BIN = Path(os.environ.get("LAZI_PG15_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cluster(root: Path, bin_dir: Path | None) -> LocalCluster:
    cluster = LocalCluster(
        LocalClusterSettings(
            data_dir=root / "pgdata",
            port=free_port(),
            bin_dir=bin_dir,
            db_name="lazi_test",
            fast_unsafe=True,
        )
    )
    cluster.start()
    return cluster


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The embedded PostgreSQL a newcomer gets, in a temporary folder."""
    cluster = start_cluster(tmp_path_factory.mktemp("pg"), bin_dir=None)
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="session")
def pg15_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """PostgreSQL 15, the oldest server we support (Debian's binaries; required in CI)."""
    if not (PG15_BIN / "pg_ctl").exists():
        message = f"PostgreSQL 15 binaries not found in {PG15_BIN} (set LAZI_PG15_BIN)"
        if os.environ.get("LAZI_REQUIRE_PG15") == "1":
            pytest.fail(message)
        pytest.skip(message)
    cluster = start_cluster(tmp_path_factory.mktemp("pg15"), bin_dir=PG15_BIN)
    yield cluster
    cluster.destroy()


def create_database(cluster: LocalCluster, prefix: str = "t") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return with_database(cluster.url(), name)


@pytest.fixture
def empty_db(pg_cluster: LocalCluster) -> str:
    """URL of a new, empty database."""
    return create_database(pg_cluster)


@pytest.fixture(scope="module")
def migrated_db(pg_cluster: LocalCluster) -> str:
    """URL of a database with every migration applied (shared within a test module)."""
    url = create_database(pg_cluster, "m")
    migrate(url)
    return url
