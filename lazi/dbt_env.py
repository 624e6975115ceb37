"""dbt reads its connection from DBT_* variables (see profiles.yml); derive them from the
warehouse in use so dbt, sqlfluff's dbt templater and the flows all target the same database.

`lazi dbt <dbt arguments…>` (analysts) and `python -m lazi.dbt_env <command …>` (make lint) run
a command with those variables set: the password travels in the environment only, never on a
command line, in shell history or in output.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import psycopg

from lazi.config import DBT_LOG_DIR, DBT_TARGET_DIR, PROJECT_ROOT

TRANSFORMER_ROLE = "lazi_transformer"


def dbt_environment(url: str) -> dict[str, str]:
    info = psycopg.conninfo.conninfo_to_dict(url)
    env = {
        "DBT_HOST": str(info.get("host", "127.0.0.1")),
        "DBT_PORT": str(info.get("port", 5432)),
        "DBT_USER": str(info.get("user", "postgres")),
        # dbt owns what it builds as this role: a build by hand must not leave tables the
        # scheduled builds (which act as lazi_transformer) cannot drop or rename.
        "DBT_ROLE": TRANSFORMER_ROLE,
        # dbt scrubs the values of DBT_ENV_SECRET_* variables from its logs and errors.
        "DBT_ENV_SECRET_PASSWORD": str(info.get("password", "")),
        "DBT_DBNAME": str(info.get("dbname", "postgres")),
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_PROJECT_DIR": str(PROJECT_ROOT),
        "DBT_TARGET_PATH": str(DBT_TARGET_DIR),
        "DBT_LOG_PATH": str(DBT_LOG_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if "sslmode" in info:
        env["DBT_SSLMODE"] = str(info["sslmode"])
    return env


def exec_with_warehouse(argv: list[str]) -> NoReturn:
    """Replace this process with `argv`, run with the DBT_* variables of the warehouse in use."""
    from lazi.db.warehouse import resolve

    env = {**os.environ, **dbt_environment(resolve().url)}
    os.execvpe(argv[0], argv, env)  # noqa: S606 - replaces this process with the given command


def run_with_warehouse(dbt_args: list[str]) -> int:
    """Run dbt with `dbt_args` against the warehouse in use; returns its exit code."""
    import subprocess
    from pathlib import Path

    from lazi.db.warehouse import resolve

    env = {**os.environ, **dbt_environment(resolve().url)}
    dbt = str(Path(sys.executable).with_name("dbt"))
    return subprocess.run([dbt, *dbt_args], env=env, check=False).returncode


def main(argv: list[str]) -> int:
    from lazi.private_files import make_private

    if not argv:
        print("usage: python -m lazi.dbt_env <command> [args…]", file=sys.stderr)
        return 2
    make_private()
    exec_with_warehouse(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
