"""Prefect settings for running without a server set up by hand; import before prefect."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from lazi.children import die_with_parent
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


def start_temporary_server() -> None:
    """Start Prefect's temporary API server now, as a child that dies with this process.

    Prefect starts it on first use, from whichever thread first needs a client, and stops it
    at exit; a killed `lazi run` left it listening, reparented to PID 1. Started here from the
    main thread (which lives as long as the process) with die_with_parent, it is Prefect's
    one temporary server of this process, which Prefect's clients then find and use. Nothing
    to do when PREFECT_API_URL names a server of one's own."""
    import prefect
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, get_current_settings

    if PREFECT_API_URL.value():
        return

    class ServerEndingWithUs(SubprocessASGIServer):
        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            # Prefect 3's own command (prefect/server/api/server.py), plus die_with_parent.
            return subprocess.Popen(
                args=[
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--app-dir",
                    str(prefect.__module_path__.parent),
                    "--factory",
                    "prefect.server.api.server:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "error",
                    "--lifespan",
                    "on",
                ],
                env={
                    **os.environ,
                    "PREFECT_UI_ENABLED": "0",
                    "PREFECT__SERVER_EPHEMERAL": "1",
                    "PREFECT__SERVER_FINAL": "1",
                    **get_current_settings().to_environment_variables(exclude_unset=True),
                },
                preexec_fn=die_with_parent(),
            )

    ServerEndingWithUs().start()
