"""dbt reads its connection from DBT_* variables (see profiles.yml); derive them from the
warehouse in use so dbt, sqlfluff's dbt templater and the flows all target the same database.

`python -m lazi.dbt_env <command …>` runs a command with those variables set.
"""

from __future__ import annotations

import os
import sys

import psycopg

from lazi.config import PROJECT_ROOT


def dbt_environment(url: str) -> dict[str, str]:
    info = psycopg.conninfo.conninfo_to_dict(url)
    env = {
        "DBT_HOST": str(info.get("host", "127.0.0.1")),
        "DBT_PORT": str(info.get("port", 5432)),
        "DBT_USER": str(info.get("user", "postgres")),
        "DBT_PASSWORD": str(info.get("password", "")),
        "DBT_DBNAME": str(info.get("dbname", "postgres")),
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_PROJECT_DIR": str(PROJECT_ROOT),
        "DBT_TARGET_PATH": str(PROJECT_ROOT / "dbt_project" / "target"),
        "DBT_LOG_PATH": str(PROJECT_ROOT / "dbt_project" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if "sslmode" in info:
        env["DBT_SSLMODE"] = str(info["sslmode"])
    return env


def main(argv: list[str]) -> int:
    from lazi.db.warehouse import resolve

    if not argv:
        print("usage: python -m lazi.dbt_env <command> [args…]", file=sys.stderr)
        return 2
    env = {**os.environ, **dbt_environment(resolve().url)}
    os.execvpe(argv[0], argv, env)  # noqa: S606 - replaces this process with the given command


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
