"""Glue between the CLI/flows and the dlt sources: which vendors exist, how the stand-ins'
URLs and demo credentials become source configuration, and running one vendor's sync."""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from typing import Any

import orjson

VENDORS = ("servicetitan", "gohighlevel", "callrail")


def source_env(sandbox: Mapping[str, Any]) -> dict[str, str]:
    """dlt configuration (SOURCES__<VENDOR>__…) pointing the sources at running stand-ins."""
    st, ghl, cr = sandbox["servicetitan"], sandbox["gohighlevel"], sandbox["callrail"]
    tenants = [
        {"tenant_id": int(tenant), "client_id": c["client_id"], "client_secret": c["client_secret"]}
        for tenant, c in st["tenants"].items()
    ]
    locations = [{"location_id": loc, "token": token} for loc, token in ghl["tokens"].items()]
    return {
        "SOURCES__SERVICETITAN__BASE_URL": st["base_url"],
        "SOURCES__SERVICETITAN__AUTH_URL": st["auth_url"],
        "SOURCES__SERVICETITAN__APP_KEY": st["app_key"],
        "SOURCES__SERVICETITAN__TENANTS": orjson.dumps(tenants).decode(),
        "SOURCES__GOHIGHLEVEL__BASE_URL": ghl["base_url"],
        "SOURCES__GOHIGHLEVEL__LOCATIONS": orjson.dumps(locations).decode(),
        "SOURCES__CALLRAIL__BASE_URL": cr["base_url"],
        "SOURCES__CALLRAIL__API_KEY": cr["api_key"],
        "SOURCES__CALLRAIL__ACCOUNTS": orjson.dumps(cr["accounts"]).decode(),
    }


def vendor_configured(vendor: str) -> bool:
    """Real credentials present in the environment (secrets.toml is checked by dlt itself)."""
    required = {
        "servicetitan": ("SOURCES__SERVICETITAN__APP_KEY", "SOURCES__SERVICETITAN__TENANTS"),
        "gohighlevel": ("SOURCES__GOHIGHLEVEL__LOCATIONS",),
        "callrail": ("SOURCES__CALLRAIL__API_KEY", "SOURCES__CALLRAIL__ACCOUNTS"),
    }[vendor]
    return all(os.environ.get(name) for name in required)


def check_settings() -> None:
    """Every vendor's list setting (tenants, locations, accounts) the environment gives, parsed
    now: `lazi run` says what is malformed in one line before anything starts, instead of
    each failed sync's error repeated by the flow's logs."""
    from dlt_pipelines.common.errors import ConfigError
    from lazi.errors import LaziError

    for vendor in VENDORS:
        try:
            importlib.import_module(f"dlt_pipelines.{vendor}").check_settings()
        except ConfigError as exc:
            raise LaziError(f"{vendor}: {exc}") from None


def run_vendor(vendor: str, warehouse_url: str, **options: Any):
    """Run one vendor's sync in this process; returns a SyncResult."""
    from dlt_pipelines.common.pipeline import SyncOptions, run_sync

    if vendor not in VENDORS:
        raise ValueError(f"unknown vendor {vendor!r}; choose one of {', '.join(VENDORS)}")
    module = importlib.import_module(f"dlt_pipelines.{vendor}")
    return run_sync(vendor, module.build, warehouse_url, SyncOptions(**options))


# A vendor's answer that stays the same however often one asks: a bad request, bad or
# revoked credentials, a missing resource. 408 (timeout) and 429 (rate limit) heal.
_PERMANENT_HTTP = re.compile(r"HTTP 4(?!08|29)\d\d")


def sync_failure_is_transient(message: str) -> bool:
    """Whether a failed sync (its first `error:` line) may succeed when run again: 5xx, a
    timeout, a refused connection, the vendor's lock still held by a sync killed a moment ago
    — anything but a vendor's 4xx refusal or a configuration error."""
    if _PERMANENT_HTTP.search(message):
        return False
    permanent = ("SOURCES__", "no credentials", "is malformed", "unknown vendor")
    return not any(words in message for words in permanent)
