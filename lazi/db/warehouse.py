"""Resolve, check and connect to the warehouse in use."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import psycopg

from lazi.config import EXPECTED_URL, display_url, local_cluster_settings, mask_secrets, url_problem
from lazi.db.cluster import LocalCluster
from lazi.errors import LaziError

MIN_SERVER_VERSION = 150000


@dataclass(frozen=True)
class Warehouse:
    url: str = field(repr=False)  # holds the password; a repr may end up in a log
    local: bool  # True: the project-local cluster, started by us

    @property
    def masked_url(self) -> str:
        return display_url(self.url)


def local_cluster() -> LocalCluster:
    return LocalCluster(local_cluster_settings())


def resolve(*, start_local: bool = True) -> Warehouse:
    """DATABASE_URL if set; otherwise the local cluster (started when `start_local`)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        _validate_url(url)
        return Warehouse(url=url, local=False)
    cluster = local_cluster()
    if start_local:
        cluster.start()
        for notice in cluster.notices:
            print(f"notice: {notice}", file=sys.stderr)
    elif not cluster.status().running:
        raise LaziError(
            "The local PostgreSQL server is not running; start it with `lazi db start`."
        )
    return Warehouse(url=cluster.url(), local=True)


def _validate_url(url: str) -> None:
    problem = url_problem(url)
    if problem is not None:
        raise LaziError(f"DATABASE_URL {problem}; {EXPECTED_URL}.")


def connect(url: str, **kwargs: object) -> psycopg.Connection:
    """Connect, turning failures into one line that names the server but never the password."""
    kwargs.setdefault("connect_timeout", 10)
    try:
        conn = psycopg.connect(url, **kwargs)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        reason = _last_line(mask_secrets(str(exc)))
        raise LaziError(
            f"Cannot connect to PostgreSQL at {_where(url)}: {reason}. "
            "Check DATABASE_URL (or unset it to use the local cluster) and that the server is up."
        ) from None
    version = conn.info.server_version
    if version < MIN_SERVER_VERSION:
        conn.close()
        raise LaziError(
            f"PostgreSQL at {_where(url)} is version {version // 10000}; "
            "the warehouse needs PostgreSQL 15 or newer."
        )
    return conn


def _where(url: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"
