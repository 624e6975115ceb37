"""An analyst's one step to run dbt by hand against the warehouse in use: `lazi dbt …`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg

from tests.foundation.test_cli import LAZI


def test_lazi_dbt_runs_dbt_against_the_warehouse_in_use(migrated_db: str, tmp_path: Path) -> None:
    """From any folder, every argument goes to dbt and the connection comes from DATABASE_URL;
    the password shows nowhere."""
    info = psycopg.conninfo.conninfo_to_dict(migrated_db)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DBT_")},
        "DATABASE_URL": migrated_db,
        "LAZI_STATE_DIR": str(tmp_path / "state"),
        "DBT_USE_COLORS": "false",
    }
    result = subprocess.run(
        [LAZI, "dbt", "debug"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Connection test: [OK connection ok]" in output
    assert f"database: {info['dbname']}" in output
    assert f"port: {info['port']}" in output
    assert info["password"] not in output
