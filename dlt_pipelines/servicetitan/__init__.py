"""ServiceTitan → raw.st_*: every tenant of one app, export endpoints where they exist.

Configuration (environment or an untracked .dlt/secrets.toml, section [sources.servicetitan]):
  base_url   SOURCES__SERVICETITAN__BASE_URL   default https://api.servicetitan.io
  auth_url   SOURCES__SERVICETITAN__AUTH_URL   default https://auth.servicetitan.io/connect/token
  app_key    SOURCES__SERVICETITAN__APP_KEY    the application's ST-App-Key
  tenants    SOURCES__SERVICETITAN__TENANTS    JSON list of
             {"tenant_id": 123, "client_id": "...", "client_secret": "..."}
  optional   …__ENDPOINTS (raw table names), …__RATE_LIMIT_PER_SECOND (60), …__MAX_ATTEMPTS (8)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import dlt
import httpx
from dlt.extract.source import DltSource

from dlt_pipelines.common.config import json_setting, variable
from dlt_pipelines.common.errors import ConfigError
from dlt_pipelines.common.http import ApiClient
from dlt_pipelines.common.pipeline import SyncOptions
from dlt_pipelines.common.prefetch import prefetch
from dlt_pipelines.common.reconcile import missing_records
from dlt_pipelines.common.resource import Page, raw_resource
from dlt_pipelines.common.stats import RunStats
from dlt_pipelines.common.throttle import SlidingWindowThrottle
from dlt_pipelines.servicetitan.helpers import (
    ClientCredentialsAuth,
    export_pages,
    list_pages,
    modified_cursor,
    rewind,
)
from dlt_pipelines.servicetitan.settings import (
    DEFAULT_AUTH_URL,
    DEFAULT_BASE_URL,
    ENDPOINTS,
    RATE_LIMIT_PER_SECOND,
    Endpoint,
)

OVERLAP_S = 60


@dlt.source(name="servicetitan", max_table_nesting=0)
def servicetitan_source(
    stats: RunStats,
    options: SyncOptions,
    app_key: str = dlt.secrets.value,
    tenants: Any = dlt.secrets.value,  # Any: parsed by _tenants, which names the variable
    base_url: str = DEFAULT_BASE_URL,
    auth_url: str = DEFAULT_AUTH_URL,
    rate_limit_per_second: int = RATE_LIMIT_PER_SECOND,
    endpoints: Sequence[str] | None = None,
    max_attempts: int = 8,
) -> Any:
    tenant_list = _tenants(tenants)
    http = httpx.Client(timeout=100.0)
    throttle = SlidingWindowThrottle(rate_limit_per_second, 1.0)
    clients = {
        t["tenant_id"]: ApiClient(
            "servicetitan",
            base_url,
            auth=ClientCredentialsAuth(
                auth_url, app_key, str(t["client_id"]), str(t["client_secret"]), http
            ),
            throttle=throttle,
            throttle_key=f"{app_key}:{t['tenant_id']}",
            client=http,
            max_attempts=max_attempts,
        )
        for t in tenant_list
    }
    wanted = set(endpoints) if endpoints else None
    for endpoint in ENDPOINTS:
        if wanted is None or endpoint.name in wanted:
            yield raw_resource(
                endpoint.table,
                endpoint.path,
                _pages_for(endpoint, clients, stats, options),
                stats,
            )


def _pages_for(
    endpoint: Endpoint, clients: dict[int, ApiClient], stats: RunStats, options: SyncOptions
):
    def pages(state: dict[str, Any]) -> Iterator[Page]:
        cursors = state.setdefault("cursors", {})
        for tenant_id, client in clients.items():
            key = str(tenant_id)
            tenant_stats = stats.endpoint(endpoint.name, endpoint.path, tenant_id)
            tenant_stats.full = options.full or cursors.get(key) is None
            tenant_stats.cursor_before = cursors.get(key)
            base = f"{endpoint.module}/{endpoint.version}/tenant/{tenant_id}"
            if endpoint.export_path:
                start = None if options.full else cursors.get(key)
                if start is None and options.since is not None:
                    start = options.since.date().isoformat()
                feed = export_pages(
                    client, f"{base}/{endpoint.export_path}", start, endpoint=endpoint.path
                )
                for records, token in prefetch(feed):
                    cursors[key] = token
                    tenant_stats.requests = client.requests_made[endpoint.path]
                    yield Page(tenant_id, records)
            else:
                yield from _polled(endpoint, client, base, tenant_id, cursors, options, stats)
            tenant_stats.cursor_after = cursors.get(key)
            tenant_stats.requests = client.requests_made[endpoint.path]

    return pages


def _polled(
    endpoint: Endpoint,
    client: ApiClient,
    base: str,
    tenant_id: int,
    cursors: dict[str, Any],
    options: SyncOptions,
    stats: RunStats,
) -> Iterator[Page]:
    """Lists without an export endpoint: modifiedOnOrAfter since the cursor; with no cursor (or
    --full) a complete listing, after which records the vendor no longer returns are marked."""
    key = str(tenant_id)
    cursor = None if options.full else cursors.get(key)
    params: dict[str, Any] = dict(endpoint.inactive_param)
    if cursor is not None:
        params["modifiedOnOrAfter"] = rewind(cursor, OVERLAP_S)
    elif options.since is not None:
        params["modifiedOnOrAfter"] = options.since.isoformat()
    complete = "modifiedOnOrAfter" not in params
    seen: list[Any] = []
    best = cursors.get(key)
    for records in list_pages(client, f"{base}/{endpoint.path}", params, endpoint=endpoint.path):
        best = modified_cursor(records, best)
        seen.extend(r.get("id") for r in records)
        yield Page(tenant_id, records)
    if complete and options.warehouse_url:
        gone = missing_records(options.warehouse_url, endpoint.table, tenant_id, seen)
        if gone:
            yield Page(tenant_id, gone, deleted=True)
    cursors[key] = best
    stats.endpoint(endpoint.name, endpoint.path, tenant_id).requests = client.requests_made[
        endpoint.path
    ]


TENANTS_SHAPE = 'a list like [{"tenant_id": 123, "client_id": "…", "client_secret": "…"}]'


def check_settings() -> None:
    """The tenants setting as the environment gives it, parsed now (before a run starts)."""
    value = os.environ.get(variable("servicetitan", "tenants"))
    if value:
        _tenants(value)


def _tenants(tenants: Any) -> list[dict[str, Any]]:
    tenants = json_setting("servicetitan", "tenants", tenants, TENANTS_SHAPE)
    if isinstance(tenants, dict):
        tenants = [tenants]
    if (
        not isinstance(tenants, list)
        or not tenants
        or not all(isinstance(tenant, dict) for tenant in tenants)
    ):
        raise ConfigError(f"{variable('servicetitan', 'tenants')} must be {TENANTS_SHAPE}")
    for tenant in tenants:
        missing = {"tenant_id", "client_id", "client_secret"} - set(tenant)
        if missing:
            raise ConfigError(
                f"a tenant in {variable('servicetitan', 'tenants')} lacks "
                f"{', '.join(sorted(missing))}; expected {TENANTS_SHAPE}"
            )
        tenant["tenant_id"] = int(tenant["tenant_id"])
    return tenants


def build(stats: RunStats, options: SyncOptions) -> DltSource:
    return servicetitan_source(stats, options)
