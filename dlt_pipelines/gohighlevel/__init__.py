"""GoHighLevel → raw.ghl_*: contacts, opportunities and pipelines of every configured location.

Configuration (environment or an untracked .dlt/secrets.toml, section [sources.gohighlevel]):
  base_url        SOURCES__GOHIGHLEVEL__BASE_URL         default https://services.leadconnectorhq.com
  locations       SOURCES__GOHIGHLEVEL__LOCATIONS        JSON list of
                  {"location_id": "...", "token": "..."} (private integration or location token)
  reconcile_hours SOURCES__GOHIGHLEVEL__RECONCILE_HOURS  complete contacts listing at least this
                  often (default 24)
  contacts_page_limit, opportunities_page_limit          default to the documented maxima

Contacts are read incrementally (dateUpdated since the cursor) and checked for hard deletes with a
count probe each run; opportunities and pipelines have no change filter and are listed in full.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar

import dlt
import httpx
from dlt.extract.source import DltSource

from dlt_pipelines.common.config import json_setting, variable
from dlt_pipelines.common.errors import ConfigError
from dlt_pipelines.common.http import ApiClient
from dlt_pipelines.common.pipeline import SyncOptions
from dlt_pipelines.common.reconcile import missing_records
from dlt_pipelines.common.resource import Page, PageSource, once_per_run, raw_resource
from dlt_pipelines.common.rows import RawTable
from dlt_pipelines.common.stats import EndpointStats, RunStats
from dlt_pipelines.common.throttle import Layered, SlidingWindowThrottle
from dlt_pipelines.gohighlevel.helpers import (
    ProbeResult,
    dated_after,
    error_message,
    iso_ms,
    latest_cursor,
    live_contacts,
    location_auth,
    opportunity_pages,
    pipelines,
    probe_deletions,
    rewind,
    search_contacts,
)
from dlt_pipelines.gohighlevel.settings import (
    BURST_LIMIT,
    BURST_WINDOW_S,
    CONTACTS,
    CONTACTS_PAGE_LIMIT,
    CONTACTS_SEARCH_PATH,
    DAILY_LIMIT,
    DAY_S,
    DEFAULT_BASE_URL,
    OPPORTUNITIES,
    OPPORTUNITIES_PAGE_LIMIT,
    OPPORTUNITIES_PATH,
    OVERLAP_S,
    PIPELINES,
    PIPELINES_PATH,
    RECONCILE_HOURS,
)

Clients = dict[str, ApiClient]

# One throttle per process, not per run: the vendor's 10-second window does not restart when the
# next run does (back-to-back runs would otherwise burst into a window the last run filled).
_THROTTLES: dict[int, Layered] = {}
_THROTTLES_LOCK = threading.Lock()


def _throttle(burst_limit: int) -> Layered:
    with _THROTTLES_LOCK:
        if burst_limit not in _THROTTLES:
            _THROTTLES[burst_limit] = Layered(
                SlidingWindowThrottle(burst_limit, BURST_WINDOW_S),
                SlidingWindowThrottle(DAILY_LIMIT, DAY_S),
            )
        return _THROTTLES[burst_limit]


Listing = Callable[[ApiClient, str], Iterator[list[dict[str, Any]]]]


@dlt.source(name="gohighlevel", max_table_nesting=0)
def gohighlevel_source(
    stats: RunStats,
    options: SyncOptions,
    locations: Any = dlt.secrets.value,  # Any: parsed by _locations, which names the variable
    base_url: str = DEFAULT_BASE_URL,
    reconcile_hours: float = RECONCILE_HOURS,
    contacts_page_limit: int = CONTACTS_PAGE_LIMIT,
    opportunities_page_limit: int = OPPORTUNITIES_PAGE_LIMIT,
    burst_limit: int = BURST_LIMIT,
    tables: Sequence[str] | None = None,
) -> Any:
    location_list = _locations(locations)
    http = httpx.Client(timeout=100.0)
    throttle = _throttle(burst_limit)
    clients: Clients = {
        loc["location_id"]: ApiClient(
            "gohighlevel",
            base_url,
            auth=location_auth(loc["token"]),
            throttle=throttle,
            throttle_key=loc["location_id"],  # limits are per app and location
            error_message=error_message,
            client=http,
        )
        for loc in location_list
    }
    contacts = _contact_pages(clients, stats, options, reconcile_hours, contacts_page_limit)
    resources: list[tuple[RawTable, str, PageSource]] = [
        (CONTACTS, CONTACTS_SEARCH_PATH, contacts),
        (
            OPPORTUNITIES,
            OPPORTUNITIES_PATH,
            _listed_pages(
                OPPORTUNITIES,
                OPPORTUNITIES_PATH,
                clients,
                stats,
                options,
                lambda client, loc: opportunity_pages(
                    client, loc, limit=opportunities_page_limit, endpoint=OPPORTUNITIES_PATH
                ),
            ),
        ),
        (
            PIPELINES,
            PIPELINES_PATH,
            _listed_pages(
                PIPELINES,
                PIPELINES_PATH,
                clients,
                stats,
                options,
                lambda client, loc: iter([pipelines(client, loc, endpoint=PIPELINES_PATH)]),
            ),
        ),
    ]
    wanted = set(tables) if tables else None
    for table, endpoint, pages in resources:
        if wanted is None or table.name in wanted:
            yield raw_resource(table, endpoint, once_per_run(pages), stats)


def _contact_pages(
    clients: Clients,
    stats: RunStats,
    options: SyncOptions,
    reconcile_hours: float,
    page_limit: int,
) -> PageSource:
    endpoint = CONTACTS_SEARCH_PATH

    def pages(state: dict[str, Any]) -> Iterator[Page]:
        cursors = state.setdefault("cursors", {})
        reconciled = state.setdefault("reconciled_at", {})  # epoch seconds, per location
        for loc, client in clients.items():
            loc_stats = stats.endpoint(CONTACTS.name, endpoint, loc)
            cursor = cursors.get(loc)
            loc_stats.cursor_before = cursor
            due = time.time() - reconciled.get(loc, 0.0) >= reconcile_hours * 3600
            if options.full or cursor is None or due:
                yield from _complete_contacts(client, loc, state, options, loc_stats, page_limit)
            else:
                # --since re-reads from a date; a complete listing would cover it anyway.
                start = iso_ms(options.since) if options.since else rewind(cursor, OVERLAP_S)
                yield from _changed_contacts(
                    client, loc, start, state, options, loc_stats, page_limit
                )
            loc_stats.cursor_after = cursors.get(loc)
            loc_stats.requests = client.requests_made[endpoint]

    return pages


def _complete_contacts(
    client: ApiClient,
    loc: str,
    state: dict[str, Any],
    options: SyncOptions,
    loc_stats: EndpointStats,
    page_limit: int,
) -> Iterator[Page]:
    """Every contact of the location; those raw holds but the vendor no longer returns are gone."""
    seen: set[str] = set()
    best = state["cursors"].get(loc)
    for records in search_contacts(
        client, loc, [], page_limit=page_limit, endpoint=CONTACTS_SEARCH_PATH
    ):
        best = latest_cursor(records, "dateUpdated", best)
        seen.update(str(r.get("id")) for r in records)
        yield Page(loc, records)
    if options.warehouse_url:
        gone = missing_records(options.warehouse_url, CONTACTS, loc, seen)
        if gone:
            yield Page(loc, gone, deleted=True)
    state["cursors"][loc] = best
    state["reconciled_at"][loc] = time.time()
    loc_stats.full = True


def _changed_contacts(
    client: ApiClient,
    loc: str,
    start: str,
    state: dict[str, Any],
    options: SyncOptions,
    loc_stats: EndpointStats,
    page_limit: int,
) -> Iterator[Page]:
    """Contacts updated since `start`, then a count probe for contacts deleted meanwhile."""
    seen: dict[str, str | None] = {}
    best = state["cursors"].get(loc)
    for records in search_contacts(
        client,
        loc,
        dated_after("dateUpdated", start),
        page_limit=page_limit,
        endpoint=CONTACTS_SEARCH_PATH,
    ):
        best = latest_cursor(records, "dateUpdated", best)
        seen.update((str(r.get("id")), r.get("dateAdded")) for r in records)
        yield Page(loc, records)
    state["cursors"][loc] = best
    if not options.warehouse_url:
        return
    in_raw = live_contacts(options.warehouse_url, CONTACTS, loc)
    result: ProbeResult = yield from _as_pages(
        loc,
        probe_deletions(
            client,
            loc,
            {**in_raw, **seen},
            page_limit=page_limit,
            endpoint=CONTACTS_SEARCH_PATH,
        ),
    )
    if result.needs_listing:
        yield from _complete_contacts(client, loc, state, options, loc_stats, page_limit)
    elif result.gone:
        still_live = set(in_raw) - result.gone
        gone = missing_records(options.warehouse_url, CONTACTS, loc, still_live)
        if gone:
            yield Page(loc, gone, deleted=True)


Returned = TypeVar("Returned")


def _as_pages(
    scope: str, records: Generator[list[dict[str, Any]], None, Returned]
) -> Generator[Page, None, Returned]:
    """Wrap a generator of record lists into Pages, passing its return value through."""
    while True:
        try:
            batch = next(records)
        except StopIteration as stop:
            return stop.value
        yield Page(scope, batch)


def _listed_pages(
    table: RawTable,
    endpoint: str,
    clients: Clients,
    stats: RunStats,
    options: SyncOptions,
    listing: Listing,
) -> PageSource:
    """Endpoints without a change filter: a complete listing each run, then tombstones."""

    def pages(state: dict[str, Any]) -> Iterator[Page]:
        cursors = state.setdefault("cursors", {})
        for loc, client in clients.items():
            loc_stats = stats.endpoint(table.name, endpoint, loc)
            loc_stats.full = True
            loc_stats.cursor_before = cursors.get(loc)
            seen: set[str] = set()
            best = cursors.get(loc)
            for records in listing(client, loc):
                if table.modified_path:
                    best = latest_cursor(records, table.modified_path, best)
                seen.update(str(r.get("id")) for r in records)
                yield Page(loc, records)
            if options.warehouse_url:
                gone = missing_records(options.warehouse_url, table, loc, seen)
                if gone:
                    yield Page(loc, gone, deleted=True)
            cursors[loc] = best
            loc_stats.cursor_after = best
            loc_stats.requests = client.requests_made[endpoint]

    return pages


LOCATIONS_SHAPE = 'a list like [{"location_id": "…", "token": "…"}]'


def check_settings() -> None:
    """The locations setting as the environment gives it, parsed now (before a run starts)."""
    value = os.environ.get(variable("gohighlevel", "locations"))
    if value:
        _locations(value)


def _locations(locations: Any) -> list[dict[str, str]]:
    locations = json_setting("gohighlevel", "locations", locations, LOCATIONS_SHAPE)
    if isinstance(locations, dict):
        locations = [locations]
    if (
        not isinstance(locations, list)
        or not locations
        or not all(isinstance(location, dict) for location in locations)
    ):
        raise ConfigError(f"{variable('gohighlevel', 'locations')} must be {LOCATIONS_SHAPE}")
    cleaned = []
    for location in locations:
        missing = {"location_id", "token"} - set(location)
        if missing:
            raise ConfigError(
                f"a location in {variable('gohighlevel', 'locations')} lacks "
                f"{', '.join(sorted(missing))}; expected {LOCATIONS_SHAPE}"
            )
        cleaned.append({"location_id": str(location["location_id"]), "token": location["token"]})
    return cleaned


def build(stats: RunStats, options: SyncOptions) -> DltSource:
    return gohighlevel_source(stats, options)
