"""CallRail → raw.callrail_*: calls, text messages, companies, trackers and users of every
configured account.

Configuration (environment or an untracked .dlt/secrets.toml, section [sources.callrail]):
  base_url       SOURCES__CALLRAIL__BASE_URL       default https://api.callrail.com
  api_key        SOURCES__CALLRAIL__API_KEY        the user's API key (sees that user's accounts)
  accounts       SOURCES__CALLRAIL__ACCOUNTS       JSON list of account ids ("ACC...")
  lookback_days  SOURCES__CALLRAIL__LOOKBACK_DAYS  calls re-read before the newest one (default 7)
  deep_lookback_days, deep_every_hours               a wider re-read (default 30 days) at least
                 every 24 hours, for calls edited long after they ended
  start_date     SOURCES__CALLRAIL__START_DATE     first-run start (YYYY-MM-DD); default: no date
                 filter, i.e. whatever CallRail still keeps (25 months)
  text_lookback_days SOURCES__CALLRAIL__TEXT_LOOKBACK_DAYS  conversations re-read before the
                 newest last_message_at (default 3)

Calls have no modified-since filter: each run lists the calls that started within the look-back
window (calls change after they end), which also finds calls deleted in that window; once a day
the window is wider. Text messages (one record per conversation) are listed by last_message_at
from a look-back before the newest one seen: a new message moves its conversation forward, so
the window finds every changed conversation and, as for calls, the deleted ones. Companies,
trackers and users are small and listed in full each run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dlt
import httpx
from dlt.extract.source import DltSource

from dlt_pipelines.callrail.helpers import (
    call_pages,
    error_message,
    lookback_day,
    newest,
    offset_pages,
    oldest,
    recent_requests,
    safe_window_start,
    spend,
    token_auth,
)
from dlt_pipelines.callrail.settings import (
    API_PREFIX,
    CALL_FIELDS,
    CALLS,
    COMPANIES,
    DAILY_LIMIT,
    DAY_S,
    DEEP_EVERY_HOURS,
    DEEP_LOOKBACK_DAYS,
    DEFAULT_BASE_URL,
    HOUR_S,
    HOURLY_LIMIT,
    LOOKBACK_DAYS,
    PER_PAGE,
    TEXT_FIELDS,
    TEXT_LOOKBACK_DAYS,
    TEXT_MESSAGES,
    TRACKERS,
    USERS,
)
from dlt_pipelines.common.config import json_setting, variable
from dlt_pipelines.common.errors import ConfigError, SourceError
from dlt_pipelines.common.http import ApiClient
from dlt_pipelines.common.pipeline import SyncOptions
from dlt_pipelines.common.reconcile import missing_records
from dlt_pipelines.common.resource import Page, PageSource, once_per_run, raw_resource
from dlt_pipelines.common.rows import RawTable
from dlt_pipelines.common.stats import RunStats
from dlt_pipelines.common.throttle import Layered, SlidingWindowThrottle

Clients = dict[str, ApiClient]


@dlt.source(name="callrail", max_table_nesting=0)
def callrail_source(
    stats: RunStats,
    options: SyncOptions,
    api_key: str = dlt.secrets.value,
    accounts: Any = dlt.secrets.value,  # Any: parsed by _accounts, which names the variable
    base_url: str = DEFAULT_BASE_URL,
    lookback_days: int = LOOKBACK_DAYS,
    deep_lookback_days: int = DEEP_LOOKBACK_DAYS,
    deep_every_hours: float = DEEP_EVERY_HOURS,
    start_date: str | None = None,
    text_lookback_days: int = TEXT_LOOKBACK_DAYS,
    call_fields: Sequence[str] = CALL_FIELDS,
    text_fields: Sequence[str] = TEXT_FIELDS,
    per_page: int = PER_PAGE,
    hourly_limit: int = HOURLY_LIMIT,
    daily_limit: int = DAILY_LIMIT,
    tables: Sequence[str] | None = None,
) -> Any:
    account_list = _accounts(accounts)
    if not api_key:
        raise ConfigError(f"{variable('callrail', 'api_key')} is empty")
    http = httpx.Client(timeout=100.0)
    hourly = SlidingWindowThrottle(hourly_limit, HOUR_S)
    daily = SlidingWindowThrottle(daily_limit, DAY_S)
    clients: Clients = {
        account: ApiClient(
            "callrail",
            base_url,
            auth=token_auth(api_key),
            throttle=Layered(hourly, daily),
            throttle_key=account,  # limits are per account
            error_message=error_message,
            client=http,
        )
        for account in account_list
    }
    budgeted: set[str] = set()

    def budget(account: str) -> None:
        """Once per run and account, before its first request: count earlier runs' requests."""
        if account in budgeted or not options.warehouse_url:
            return
        budgeted.add(account)
        used_today = recent_requests(options.warehouse_url, account, DAY_S)
        if used_today >= daily.limit:
            raise SourceError(
                "callrail",
                "budget",
                f"account {account}: {used_today} requests in the last 24 hours; the daily "
                f"limit is {daily_limit} and syncs stop at {daily.limit}; try again later",
            )
        spend(daily, account, used_today)
        spend(hourly, account, recent_requests(options.warehouse_url, account, HOUR_S))

    resources: list[tuple[RawTable, str, PageSource]] = [
        (
            CALLS,
            "calls.json",
            _call_pages(
                clients,
                stats,
                options,
                budget,
                ",".join(call_fields),
                Windows(lookback_days, deep_lookback_days, deep_every_hours, start_date),
                per_page,
            ),
        ),
        (
            TEXT_MESSAGES,
            "text-messages.json",
            _text_pages(
                clients,
                stats,
                options,
                budget,
                ",".join(text_fields),
                text_lookback_days,
                start_date,
                per_page,
            ),
        ),
        (
            COMPANIES,
            "companies.json",
            _listed_pages(COMPANIES, "companies", clients, stats, options, budget, per_page),
        ),
        (
            TRACKERS,
            "trackers.json",
            _listed_pages(TRACKERS, "trackers", clients, stats, options, budget, per_page),
        ),
        (
            USERS,
            "users.json",
            _listed_pages(USERS, "users", clients, stats, options, budget, per_page),
        ),
    ]
    wanted = set(tables) if tables else None
    for table, endpoint, pages in resources:
        if wanted is None or table.name in wanted:
            yield raw_resource(table, endpoint, once_per_run(pages), stats)


@dataclass(frozen=True)
class Windows:
    """How far back each run re-reads calls, counted back from the newest start_time seen."""

    lookback_days: int
    deep_lookback_days: int
    deep_every_hours: float
    first_start: str | None  # first run / --full: None means no date filter at all


def _call_pages(
    clients: Clients,
    stats: RunStats,
    options: SyncOptions,
    budget: Callable[[str], None],
    fields: str,
    windows: Windows,
    per_page: int,
) -> PageSource:
    """Calls that started in a window before the newest one seen: `lookback_days` each run and
    `deep_lookback_days` at least every `deep_every_hours` (by the wall clock, or by how far the
    newest start_time moved, so a quiet clock on either side cannot postpone it). A call raw holds
    but the listing of its period no longer returned was deleted."""
    endpoint = "calls.json"
    every = timedelta(hours=windows.deep_every_hours)

    def pages(state: dict[str, Any]) -> Iterator[Page]:
        cursors = state.setdefault("cursors", {})
        deep_reads = state.setdefault("deep_reread", {})  # account -> {"at": epoch, "cursor"}
        for account, client in clients.items():
            budget(account)
            account_stats = stats.endpoint(CALLS.name, endpoint, account)
            cursor = cursors.get(account)
            account_stats.cursor_before = cursor
            deep = deep_reads.get(account)
            complete = options.full or (cursor is None and options.since is None)
            if complete:
                day, is_deep = windows.first_start, True
            elif options.since is not None:
                day, is_deep = options.since.date().isoformat(), False
            elif deep is None or time.time() - deep["at"] >= every.total_seconds():
                day, is_deep = lookback_day(cursor, windows.deep_lookback_days), True
            else:
                day, is_deep = lookback_day(cursor, windows.lookback_days), False
            listing = _CallListing(client, account, fields, per_page, endpoint)
            yield from listing.read(day)
            best = newest_of(listing.best, cursor)
            moved = (
                deep is not None and best is not None and _ts(best) - _ts(deep["cursor"]) >= every
            )
            if not is_deep and moved and best is not None:
                day = lookback_day(best, windows.deep_lookback_days)
                yield from listing.read(day)
                is_deep = True
            # With no date filter, calls older than the oldest returned may just have aged out.
            bound = safe_window_start(day) if day else listing.oldest
            if options.warehouse_url and bound is not None:
                gone = missing_records(
                    options.warehouse_url, CALLS, account, listing.seen, since=("start_time", bound)
                )
                if gone:
                    yield Page(account, gone, deleted=True)
            cursors[account] = best
            if is_deep and best is not None:
                deep_reads[account] = {"at": time.time(), "cursor": best}
            account_stats.full = complete and not day
            account_stats.cursor_after = best
            account_stats.requests = client.requests_made[endpoint]

    return pages


class _CallListing:
    """One account's call listings in this run: what was seen, the newest and oldest start."""

    def __init__(
        self, client: ApiClient, account: str, fields: str, per_page: int, endpoint: str
    ) -> None:
        self.client = client
        self.account = account
        self.fields = fields
        self.per_page = per_page
        self.endpoint = endpoint
        self.seen: set[str] = set()
        self.best: str | None = None
        self.oldest: datetime | None = None

    def read(self, day: str | None) -> Iterator[Page]:
        params: dict[str, Any] = {"fields": self.fields}
        if day:
            params["start_date"] = day
        path = f"{API_PREFIX}/a/{self.account}/calls.json"
        for records in call_pages(
            self.client, path, params, endpoint=self.endpoint, per_page=self.per_page
        ):
            self.best = newest(records, self.best)
            self.oldest = oldest(records, self.oldest)
            self.seen.update(str(r.get("id")) for r in records)
            yield Page(self.account, records)


def _text_pages(
    clients: Clients,
    stats: RunStats,
    options: SyncOptions,
    budget: Callable[[str], None],
    fields: str,
    lookback_days: int,
    first_start: str | None,
    per_page: int,
) -> PageSource:
    """Conversations whose last message came at most `lookback_days` before the newest one seen.
    Newest first: a conversation a new message moves to the top during the walk shifts the
    others down (one is read twice) rather than up past the page being read (one skipped); the
    moved one is newer than the cursor, so the next run reads it. last_message_at only grows,
    so a conversation raw holds inside the window that the listing no longer returned was
    deleted."""
    endpoint = "text-messages.json"

    def pages(state: dict[str, Any]) -> Iterator[Page]:
        cursors = state.setdefault("cursors", {})
        for account, client in clients.items():
            budget(account)
            account_stats = stats.endpoint(TEXT_MESSAGES.name, endpoint, account)
            cursor = cursors.get(account)
            account_stats.cursor_before = cursor
            complete = options.full or (cursor is None and options.since is None)
            if complete:
                day = first_start
            elif options.since is not None:
                day = options.since.date().isoformat()
            else:
                day = lookback_day(cursor, lookback_days)
            params: dict[str, Any] = {"fields": fields, "sort": "last_message_at", "order": "desc"}
            if day:
                params["start_date"] = day
            seen: set[str] = set()
            best, first = cursor, None
            path = f"{API_PREFIX}/a/{account}/{endpoint}"
            for records in offset_pages(
                client, path, "conversations", params, endpoint=endpoint, per_page=per_page
            ):
                best = newest(records, best, "last_message_at")
                first = oldest(records, first, "last_message_at")
                seen.update(str(r.get("id")) for r in records)
                yield Page(account, records)
            bound = safe_window_start(day) if day else first
            if options.warehouse_url and bound is not None:
                gone = missing_records(
                    options.warehouse_url,
                    TEXT_MESSAGES,
                    account,
                    seen,
                    since=("last_message_at", bound),
                )
                if gone:
                    yield Page(account, gone, deleted=True)
            cursors[account] = best
            account_stats.full = complete and not day
            account_stats.cursor_after = best
            account_stats.requests = client.requests_made[endpoint]

    return pages


def newest_of(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if _ts(a) >= _ts(b) else b


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _listed_pages(
    table: RawTable,
    key: str,
    clients: Clients,
    stats: RunStats,
    options: SyncOptions,
    budget: Callable[[str], None],
    per_page: int,
) -> PageSource:
    """Small lists without a change filter: a complete listing each run, then tombstones."""
    endpoint = f"{key}.json"

    def pages(state: dict[str, Any]) -> Iterator[Page]:
        del state  # nothing to remember between runs
        for account, client in clients.items():
            budget(account)
            account_stats = stats.endpoint(table.name, endpoint, account)
            account_stats.full = True
            seen: set[str] = set()
            path = f"{API_PREFIX}/a/{account}/{endpoint}"
            for records in offset_pages(
                client, path, key, {}, endpoint=endpoint, per_page=per_page
            ):
                seen.update(str(r.get("id")) for r in records)
                yield Page(account, records)
            if options.warehouse_url:
                gone = missing_records(options.warehouse_url, table, account, seen)
                if gone:
                    yield Page(account, gone, deleted=True)
            account_stats.requests = client.requests_made[endpoint]

    return pages


ACCOUNTS_SHAPE = 'a list of account ids like ["ACC…"]'


def check_settings() -> None:
    """The accounts setting as the environment gives it, parsed now (before a run starts)."""
    value = os.environ.get(variable("callrail", "accounts"))
    if value:
        _accounts(value)


def _accounts(accounts: Any) -> list[str]:
    if isinstance(accounts, str) and not accounts.lstrip().startswith("["):
        accounts = [accounts]  # one id, as `accounts = "ACC…"` in secrets.toml
    accounts = json_setting("callrail", "accounts", accounts, ACCOUNTS_SHAPE)
    if not isinstance(accounts, list) or not accounts:
        raise ConfigError(f"{variable('callrail', 'accounts')} must be {ACCOUNTS_SHAPE}")
    return [str(account) for account in accounts]


def build(stats: RunStats, options: SyncOptions) -> DltSource:
    return callrail_source(stats, options)
