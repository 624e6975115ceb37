"""Run data is readable by its owner only: folders 0700, files 0600.

Prefect's run records, dlt's working folders and dbt's logs and compiled SQL keep what runs saw
(log lines, error messages, queries); on a machine shared with others nobody else may read them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lazi.config import DBT_LOG_DIR, DBT_TARGET_DIR, cluster_data_dir, state_dir
from lazi.errors import LaziError

OWNER_ONLY = 0o077  # the umask: what this process and its children create is theirs alone

# What the state folder holds besides the local cluster's data, which PostgreSQL guards itself.
RUN_DATA = ("prefect", "dlt")


def make_private() -> None:
    """Create every file from now on owner-only (children inherit the umask: syncs, Prefect's
    server, dbt), and take group and other access away from run data written before."""
    os.umask(OWNER_ONLY)
    state = state_dir()
    if state.is_dir():
        _restrict_state_folder(state)
        for entry in state.iterdir():
            if entry.name in RUN_DATA or (entry.is_file() and not entry.is_symlink()):
                _restrict_tree(entry)
    for folder in (DBT_TARGET_DIR, DBT_LOG_DIR):
        _restrict_tree(folder)


def _restrict_state_folder(state: Path) -> None:
    info = state.stat()
    if info.st_mode & stat.S_ISVTX:
        raise LaziError(
            f"LAZI_STATE_DIR={state} is a shared folder (like /tmp); give the warehouse a "
            "folder of its own."
        )
    if info.st_uid != os.geteuid():
        return
    wanted = 0o700
    data_dir = cluster_data_dir()
    # As root the local server runs as its own user, which must pass through this folder to
    # its data: search (x) for others, never read or write.
    if data_dir.exists() and data_dir.stat().st_uid != os.geteuid():
        wanted |= stat.S_IXOTH
    if stat.S_IMODE(info.st_mode) != wanted:
        state.chmod(wanted)


def _restrict_tree(top: Path) -> None:
    """Clear group and other bits on `top` and everything under it that this user owns."""
    if not top.exists() or top.is_symlink():
        return
    _restrict(top)
    if top.is_dir():
        for root, folders, files in os.walk(top):
            for name in folders + files:
                _restrict(Path(root) / name)


def _restrict(path: Path) -> None:
    try:
        info = path.lstat()
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid == os.geteuid() and not stat.S_ISLNK(info.st_mode) and mode & 0o077:
            path.chmod(mode & ~0o077)
    except FileNotFoundError:  # removed meanwhile by a run (dlt deletes loaded files)
        pass
