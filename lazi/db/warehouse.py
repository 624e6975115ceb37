"""Resolve, check and connect to the warehouse in use."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

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


def _validate_url(url: str, variable: str = "DATABASE_URL") -> None:
    problem = url_problem(url)
    if problem is not None:
        raise LaziError(f"{variable} {problem}; {EXPECTED_URL}.")


def as_role(url: str, role: str | None) -> str:
    """The URL that connects as the same user but acts as `role` (a least-privilege group role,
    e.g. lazi_loader or lazi_reverse_etl) from the first statement on."""
    if not role:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-c role={role}')}"


def role_url_variable(role: str) -> str:
    """LAZI_LOADER_URL, LAZI_REVERSE_ETL_URL: a login of the step's own (dbt acts as
    lazi_transformer through `role:` in profiles.yml)."""
    return f"{role.upper()}_URL"


def role_url(url: str, role: str) -> str:
    """The URL a step that acts as `role` connects with: a login user of its own when
    LAZI_<ROLE>_URL is set (a member of `role`: what a transaction pooler such as PgBouncer
    needs, which keeps one pool per user and passes no `options`), otherwise `url` acting as
    `role` through the `options=-c role=…` startup parameter (one DATABASE_URL)."""
    if os.environ.get(role_url_variable(role), "").strip():
        return login_url(url, role)
    return as_role(url, role)


def login_url(url: str, role: str) -> str:
    """LAZI_<ROLE>_URL when set (checked), otherwise `url` itself."""
    variable = role_url_variable(role)
    own = os.environ.get(variable, "").strip()
    if not own:
        return url
    _validate_url(own, variable)
    return own


# PgBouncer's refusal of the `options` startup parameter (as_role), in every pool mode.
POOLER_REFUSES_OPTIONS = "unsupported startup parameter"


def connect_as(url: str, role: str, **kwargs: Any) -> psycopg.Connection:
    """`connect` for a step that must act as `role`, checked: a pooler that drops the `options`
    parameter (PgBouncer with `ignore_startup_parameters = options`) would leave the connection
    acting as the warehouse's owner, which may write every schema."""
    # No server-side prepared statements: a transaction pooler may run the next statement on
    # another server connection, which never saw the PREPARE (PgBouncer before 1.21).
    kwargs.setdefault("prepare_threshold", None)
    try:
        conn = connect(role_url(url, role), **kwargs)
    except ConnectionFailed as exc:
        if POOLER_REFUSES_OPTIONS not in str(exc):
            raise
        # reached as a login whose default role is `role` (ALTER ROLE … SET role), checked below
        conn = connect(login_url(url, role), **kwargs)
    try:
        check_role(conn, role)
    except BaseException:
        conn.close()
        raise
    return conn


def check_role(conn: psycopg.Connection, role: str) -> None:
    """Raise unless the connection acts as `role`, or as a login user that is a member of it
    and no superuser (LAZI_<ROLE>_URL)."""
    row = conn.execute(
        "select current_user::text, current_user::text = %s or ("
        " not (select rolsuper from pg_roles where rolname = current_user)"
        " and pg_has_role(current_user, %s, 'usage'))",
        (role, role),
    ).fetchone()
    acting, allowed = row if row else ("nobody", False)
    if not conn.autocommit:
        conn.rollback()
    if not allowed:
        raise LaziError(
            f"The connection for {role} acts as {acting}, not as {role}: the server or a pooler "
            f"ignored the role option (PgBouncer does). Give this step a login user that is a "
            f"member of {role} in {role_url_variable(role)}, or connect to the server directly."
        )


class ConnectionFailed(LaziError):
    """The warehouse refused or could not be reached; `transient` when waiting may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


# libpq's words for a server that may answer in a moment (restarting, busy, network blip).
# Everything else (authentication, SSL, unknown database or role, a bad host name) stays
# wrong however long one waits, so it is reported at once.
TRANSIENT_FAILURES = (
    "connection refused",
    "timeout expired",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "sorry, too many clients already",
    "remaining connection slots are reserved",
    "server closed the connection unexpectedly",
    "temporary failure in name resolution",
    "no route to host",
    "network is unreachable",
)


def connect(url: str, *, wait_s: float = 0, **kwargs: Any) -> psycopg.Connection:
    """Connect, turning failures into one line that names the server but never the password.

    With `wait_s`, a failure that can heal (see TRANSIENT_FAILURES) is retried for up to that
    long, saying so once on stderr; a permanent one fails at once either way."""
    kwargs.setdefault("connect_timeout", 10)
    deadline = time.monotonic() + wait_s
    delay = 0.25
    told = False
    while True:
        try:
            conn = psycopg.connect(url, **kwargs)
            break
        except psycopg.OperationalError as exc:
            failure = _connection_failed(url, exc)
        if not failure.transient or time.monotonic() + delay > deadline:
            raise failure from None
        if not told:
            print(f"notice: {failure} Retrying for up to {wait_s:.0f} s.", file=sys.stderr)
            told = True
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    version = conn.info.server_version
    if version < MIN_SERVER_VERSION:
        conn.close()
        raise LaziError(
            f"PostgreSQL at {_where(url)} is version {version // 10000}; "
            "the warehouse needs PostgreSQL 15 or newer."
        )
    return conn


def _connection_failed(url: str, exc: psycopg.OperationalError) -> ConnectionFailed:
    text = mask_secrets(str(exc))
    reason = _reason(text)
    return ConnectionFailed(
        f"Cannot connect to PostgreSQL at {_where(url)}: {reason}. Check DATABASE_URL (or "
        "unset it to use the local cluster) and that the server is up.",
        transient=any(words in text.lower() for words in TRANSIENT_FAILURES),
    )


def _where(url: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def _reason(text: str) -> str:
    """libpq's cause without its preamble: 'connection to server at "h", port p failed: '
    repeats what _where says, and the hint lines after the cause add nothing."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    cause = lines[0].rpartition(" failed: ")[2] or lines[0]
    return cause.removeprefix("FATAL:").strip().rstrip(".")
