"""Resolve, check and connect to the warehouse in use."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from urllib.parse import quote

import psycopg

from lazi.config import local_cluster_settings, mask_secrets
from lazi.db.cluster import LocalCluster
from lazi.errors import LaziError

MIN_SERVER_VERSION = 150000


@dataclass(frozen=True)
class Warehouse:
    url: str
    local: bool  # True: the project-local cluster, started by us

    @property
    def masked_url(self) -> str:
        return mask_secrets(self.url)


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
    if not url.startswith(("postgresql://", "postgres://")):
        raise LaziError(
            f"DATABASE_URL={mask_secrets(url)!r} is not a PostgreSQL URL; "
            "expected postgresql://user:password@host:port/dbname[?sslmode=require]."
        )
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise LaziError(
            f"DATABASE_URL is malformed ({mask_secrets(str(exc)).strip()}); "
            "expected postgresql://user:password@host:port/dbname."
        ) from None
    port = str(info.get("port", "5432"))
    if not all(part.isdigit() for part in port.split(",")):
        raise LaziError(
            f"DATABASE_URL has port {port!r}, which is not a number; "
            "expected postgresql://user:password@host:port/dbname."
        )


def as_role(url: str, role: str | None) -> str:
    """The URL that connects as the same user but acts as `role` (a least-privilege group role,
    e.g. lazi_loader or lazi_reverse_etl) from the first statement on."""
    if not role:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-c role={role}')}"


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
