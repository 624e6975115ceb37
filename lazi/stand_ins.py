"""The local vendor stand-ins for the vendors that have no credentials: what `lazi run` starts
around the elt flow and `lazi serve` beside its worker, so a machine with no vendor accounts
runs the whole job. The flows themselves never start them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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


@dataclass
class StandIns:
    vendors: list[str] = field(default_factory=list)  # the vendors pointed at the stand-ins
    migrations_applied: list[str] = field(default_factory=list)  # to seed the demo overrides


def seed_demo_overrides(url: str, world: Any) -> list[str]:
    """A manager's price 10 % up on the first two active materials and the first active service
    of the stand-ins' first tenant, so that a new user's `make run` shows the pricebook push
    too (people make these; the stand-ins have nobody to). The stand-ins start from the same
    seed every run, so the same rows come back, and a run that finds them (delivered) adds
    nothing. Returns the migrations it applied first (the table must exist before the flow's
    first run, which would otherwise apply them). Only called with the ServiceTitan stand-in."""
    from lazi.db.migrate import migrate
    from lazi.db.warehouse import connect

    applied = migrate(url).applied
    tenant = world.tenants[0]
    picked = []
    for item_type, name, wanted in (
        ("material", "pricebook_materials", 2),
        ("service", "pricebook_services", 1),
    ):
        collection = world.collection("servicetitan", name, tenant)
        items = [
            record
            for _, record in collection.iter_from(0)
            if record.get("active", True) and not collection.is_deleted(record)
        ]
        picked += [(item_type, item) for item in items[:wanted]]
    with connect(url, autocommit=True) as conn:
        for item_type, item in picked:
            price = round(float(item["price"]) * 1.1, 2)
            conn.execute(
                "insert into crm.pricebook_overrides"
                " (tenant_id, item_type, st_pricebook_id, override_price, reason)"
                " values (%s, %s, %s, %s, 'stand-in demo: a manager''s price')"
                " on conflict (tenant_id, item_type, st_pricebook_id) do nothing",
                (tenant, item_type, item["id"], price),
            )
    return list(applied)


@contextmanager
def stand_ins_where_needed(scale: int, url: str | None = None) -> Iterator[StandIns]:
    """Start the stand-ins for the vendors without credentials and point those vendors at them
    in this process's environment (the flow's tasks and the syncs it starts read it) until the
    block ends. With the warehouse's `url` and the ServiceTitan stand-in, the demo price
    overrides are put in (seed_demo_overrides)."""
    missing = vendors_without_credentials()
    if not missing:
        yield StandIns()
        return
    from lazi.sandbox.server import describe, start_sandbox

    sandbox = start_sandbox(scale, STAND_IN_SEED)
    saved = dict(os.environ)
    os.environ.update(settings_for(missing, describe(sandbox)))
    try:
        started = StandIns(missing)
        if url is not None and "servicetitan" in missing:
            started.migrations_applied = seed_demo_overrides(url, sandbox.world)
        yield started
    finally:
        os.environ.clear()
        os.environ.update(saved)
        sandbox.stop()
