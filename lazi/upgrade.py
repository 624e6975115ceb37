"""Upgrades under running schedules: new code that changes an incremental model must not make
every scheduled build stop with dbt's schema-change error (`on_schema_change: fail`).

Each successful build saves its manifest (`manifest.json`, dbt's description of every model as
that code defined it) in the state folder, with a fingerprint of the dbt code it came from.
Before the next build, if the code's fingerprint differs, dbt compares the code with that
manifest (`state:modified`) and the incremental models whose definition changed are rebuilt
with `--full-refresh`, alone; the build then runs incrementally as always. `lazi upgrade` does
the same after applying pending migrations.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lazi.config import DBT_TARGET_DIR, PROJECT_ROOT, state_dir
from lazi.errors import LaziError

# Incremental models whose definition (SQL, config, contract, or a macro they use) changed.
CHANGED_INCREMENTAL = "state:modified,config.materialized:incremental"
# What dbt reads to build the project: a change anywhere here may change a model.
CODE_PATHS = ("dbt_project.yml", "dbt_project/models", "dbt_project/macros", "dbt_project/seeds")


class UpgradeFailed(LaziError):
    """A changed incremental model could not be rebuilt."""


def state_path(url: str) -> Path:
    """Where the manifest of the last successful build against this warehouse is kept: in the
    state folder, per warehouse (`sync.warehouse_identity`), since each warehouse was last built
    by its own code (a development database ahead of production, from one checkout)."""
    from lazi.db.fetch import fetch_value
    from lazi.db.warehouse import connect

    with connect(url) as conn:
        identity = fetch_value(conn, "select id from sync.warehouse_identity")
    return state_dir() / "dbt-state" / str(identity)


def code_fingerprint(project_dir: Path = PROJECT_ROOT) -> str:
    """A hash of the dbt code (file names and contents): cheap next to a dbt parse, so a build
    asks dbt to compare only when the code changed."""
    digest = hashlib.sha256()
    for relative in CODE_PATHS:
        root = project_dir / relative
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass
class BuildCheck:
    """What `before_build` found; `saved` records the build's manifest once it succeeded."""

    fingerprint: str
    state: Path
    rebuilt: list[str] = field(default_factory=list)  # unique ids rebuilt with --full-refresh

    def saved(self, target_path: Path | None = None) -> None:
        """Keep the manifest of the build that just succeeded as the one to compare with. The
        fingerprint is the code's when the build began: code that arrived during the build is
        compared at the next one."""
        save_state(self.fingerprint, target_path, self.state)


def save_state(fingerprint: str, target_path: Path | None, state: Path) -> None:
    target = target_path or Path(os.environ.get("DBT_TARGET_PATH") or DBT_TARGET_DIR)
    state.mkdir(parents=True, exist_ok=True)
    # Written beside, then renamed: a kill mid-copy leaves the previous manifest whole.
    partial = state / "manifest.json.partial"
    shutil.copyfile(target / "manifest.json", partial)
    os.replace(partial, state / "manifest.json")
    (state / "fingerprint.partial").write_text(fingerprint)
    os.replace(state / "fingerprint.partial", state / "fingerprint")


def before_build(
    url: str,
    *,
    project_dir: Path = PROJECT_ROOT,
    target_path: Path | None = None,
    state: Path | None = None,
) -> BuildCheck:
    """Rebuild, alone and with --full-refresh, the incremental models whose definition changed
    since the last successful build (none when the code is the same, or when no build has
    succeeded yet: the first build creates every model). dbt's connection comes from the DBT_*
    variables (lazi.dbt_env), set by the caller."""
    state = state or state_path(url)
    check = BuildCheck(code_fingerprint(project_dir), state)
    manifest = state / "manifest.json"
    fingerprint = state / "fingerprint"
    if not manifest.exists() or (
        fingerprint.exists() and fingerprint.read_text() == check.fingerprint
    ):
        return check
    check.rebuilt = _full_refresh_changed(project_dir, target_path, state)
    # The rebuilt models now match the code: later builds compare with this manifest.
    check.saved(target_path)
    return check


def _full_refresh_changed(project_dir: Path, target_path: Path | None, state: Path) -> list[str]:
    from dbt.cli.main import dbtRunner  # imports in ~4 s: only when there is something to do

    args = [
        "run",
        "--full-refresh",
        "--select",
        CHANGED_INCREMENTAL,
        "--state",
        str(state),
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
    ]
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    result = dbtRunner().invoke(args)
    nodes = getattr(result.result, "results", None) or []
    if not result.success:
        failures = [f"{n.node.unique_id}: {n.message}" for n in nodes if str(n.status) == "error"]
        detail = "; ".join(failures[:5]) or str(result.exception)
        raise UpgradeFailed(f"rebuilding the changed incremental models failed: {detail}")
    return sorted(n.node.unique_id for n in nodes)


@dataclass(frozen=True)
class UpgradeResult:
    migrations_applied: list[str]
    rebuilt: list[str]
    compared: bool  # False: no successful build saved its manifest yet, nothing to compare


def upgrade(
    url: str,
    *,
    project_dir: Path = PROJECT_ROOT,
    target_path: Path | None = None,
    state: Path | None = None,
) -> UpgradeResult:
    """`lazi upgrade`: apply pending migrations, then rebuild the changed incremental models."""
    from lazi.db.migrate import migrate
    from lazi.dbt_env import dbt_environment

    migrated = migrate(url)
    os.environ.update(dbt_environment(url))
    state = state or state_path(url)
    check = before_build(url, project_dir=project_dir, target_path=target_path, state=state)
    return UpgradeResult(migrated.applied, check.rebuilt, (state / "manifest.json").exists())
