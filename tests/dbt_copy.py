"""A copy of the dbt project that a test may edit (a model gains a column, a probe model is
added), run by the real dbt against a test warehouse with the connection lazi gives dbt."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lazi.config import PROJECT_ROOT
from lazi.dbt_env import dbt_environment

DBT = str(Path(sys.executable).with_name("dbt"))


@dataclass
class DbtResult:
    returncode: int
    output: str
    results: list[dict[str, Any]]

    def status(self, unique_id: str) -> str:
        return next(r["status"] for r in self.results if r["unique_id"] == unique_id)

    def message(self, unique_id: str) -> str:
        return next(r["message"] or "" for r in self.results if r["unique_id"] == unique_id)

    def models(self) -> list[str]:
        return sorted(r["unique_id"] for r in self.results if r["unique_id"].startswith("model."))


def copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy2(PROJECT_ROOT / name, dest / name)
    shutil.copytree(
        PROJECT_ROOT / "dbt_project",
        dest / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
    )
    return dest


def dbt_env(project: Path, url: str) -> dict[str, str]:
    return {
        **dbt_environment(url),
        "DBT_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
        "DBT_TARGET_PATH": str(project / "target"),
        "DBT_LOG_PATH": str(project / "logs"),
    }


def run_dbt(project: Path, url: str, *args: str, role: str | None = None) -> DbtResult:
    """`role=""` runs dbt as the connection's owner (as versions before 0016 did)."""
    env = {**os.environ, **dbt_env(project, url)}
    if role is not None:
        env["DBT_ROLE"] = role
    results_file = project / "target" / "run_results.json"
    results_file.unlink(missing_ok=True)
    done = subprocess.run(
        [DBT, *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    return DbtResult(done.returncode, done.stdout + done.stderr, results)
