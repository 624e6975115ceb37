"""Throwaway clusters and databases (tests and benchmarks) through the same mechanism a
newcomer's cluster uses, but in a temporary folder, on a free port, with fsync off."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from lazi.config import LocalClusterSettings, with_database
from lazi.db.cluster import LocalCluster


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


def create_database(cluster: LocalCluster, prefix: str = "t") -> str:
    """URL of a new, empty database on `cluster`."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return with_database(cluster.url(), name)
