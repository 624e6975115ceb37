"""Prefect settings for running without a server set up by hand; import before prefect."""

from __future__ import annotations

import os

from lazi.config import state_dir


def configure() -> None:
    defaults = {
        "PREFECT_HOME": str(state_dir() / "prefect"),
        # On 2 cores the ephemeral API server's first start can exceed Prefect's 20 s default.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    # Prefect's SQLite database lives in PREFECT_HOME and cannot be opened if it is missing.
    os.makedirs(os.environ["PREFECT_HOME"], exist_ok=True)
