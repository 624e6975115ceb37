"""The local vendor stand-ins for the vendors that have no credentials: what `lazi run` starts
around the elt flow and `lazi serve` beside its worker, so a machine with no vendor accounts
runs the whole job. The flows themselves never start them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lazi import ingest
from lazi.config import PROJECT_ROOT

STAND_IN_SEED = 7


def vendors_without_credentials() -> list[str]:
    """Vendors with neither settings in the environment nor a .dlt/secrets.toml."""
    if (PROJECT_ROOT / ".dlt" / "secrets.toml").exists():
        return []
    return [vendor for vendor in ingest.VENDORS if not ingest.vendor_configured(vendor)]


def settings_for(vendors: list[str], description: dict[str, Any]) -> dict[str, str]:
    """The source settings that point `vendors`, and only them, at the stand-ins described."""
    config = ingest.source_env(description)
    return {k: v for k, v in config.items() if any(f"__{m.upper()}__" in k for m in vendors)}


@contextmanager
def stand_ins_where_needed(scale: int) -> Iterator[list[str]]:
    """Start the stand-ins for the vendors without credentials and point those vendors at them
    in this process's environment (the flow's tasks and the syncs it starts read it) until the
    block ends; yields their names."""
    missing = vendors_without_credentials()
    if not missing:
        yield []
        return
    from lazi.sandbox.server import describe, start_sandbox

    sandbox = start_sandbox(scale, STAND_IN_SEED)
    saved = dict(os.environ)
    os.environ.update(settings_for(missing, describe(sandbox)))
    try:
        yield missing
    finally:
        os.environ.clear()
        os.environ.update(saved)
        sandbox.stop()
