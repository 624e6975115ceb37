"""CallRail auth, error messages, paging and the hourly/daily request budget.

- Calls: relative pagination (`relative_pagination=true`, follow `next_page` while
  `has_next_page`), which CallRail recommends for calls; offset paging if a response lacks it.
- Companies, trackers, users and text messages: offset pagination (`page` from 1 until
  `total_pages`).
- The hourly budget spans runs: requests logged in sync.inbound_log during the last hour (and day)
  are counted before this run sends its first request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
import psycopg

from dlt_pipelines.callrail.settings import PER_PAGE
from dlt_pipelines.common.errors import SourceError
from dlt_pipelines.common.feed import CountedRecords
from dlt_pipelines.common.http import ApiClient, StaticAuth
from dlt_pipelines.common.throttle import SlidingWindowThrottle

log = logging.getLogger("lazi.sources")


def token_auth(api_key: str) -> StaticAuth:
    return StaticAuth({"Authorization": f'Token token="{api_key}"'})


def error_message(response: httpx.Response) -> str:
    """CallRail explains errors in a JSON body, usually {"error": "..."} (shape unverified)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        return (title.group(1).strip() if title else text)[:300] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("error", "errors", "message"):
            value = body.get(key)
            if value:
                return value if isinstance(value, str) else orjson.dumps(value).decode()[:300]
    return orjson.dumps(body).decode()[:300]


def recent_requests(warehouse_url: str, scope: str, seconds: float) -> int:
    """Requests earlier CallRail runs made for one account in the last `seconds`."""
    with psycopg.connect(warehouse_url) as conn:
        row = conn.execute(
            """
            select coalesce(sum(requests_made), 0) from sync.inbound_log
            where vendor = 'callrail' and scope = %s and endpoint <> '(run)'
              and coalesce(finished_at, started_at) > now() - make_interval(secs => %s)
            """,
            (scope, seconds),
        ).fetchone()
    return int(row[0]) if row else 0


def spend(throttle: SlidingWindowThrottle, key: str, count: int) -> None:
    """Count `count` requests made by earlier runs against this run's windows (as if just made:
    the safe side). Blocks only when the budget is already exhausted."""
    if count >= throttle.limit:
        log.warning(
            "callrail %s: %d requests in the last %.0f s already; waiting for the window",
            key,
            count,
            throttle.window_s,
        )
    for _ in range(count):
        throttle.wait(key)


def offset_pages(
    client: ApiClient,
    path: str,
    key: str,
    params: Mapping[str, Any],
    *,
    endpoint: str,
    per_page: int = PER_PAGE,
    first_page: int = 1,
) -> Iterator[list[dict[str, Any]]]:
    """page/per_page paging (pages count from 1) until `total_pages` (or a short page)."""
    page = first_page
    while True:
        query = {**params, "page": page, "per_page": per_page}
        body = client.get(path, query, endpoint=endpoint) or {}
        records = body.get(key) or []
        total = body.get("total_records")
        counted = isinstance(total, int) and not isinstance(total, bool) and total >= len(records)
        yield CountedRecords(records, total if counted else None)
        total_pages = body.get("total_pages")
        if isinstance(total_pages, int) and not isinstance(total_pages, bool):
            if page >= total_pages:
                return
        elif len(records) < per_page:
            return
        page += 1


def call_pages(
    client: ApiClient,
    path: str,
    params: Mapping[str, Any],
    *,
    endpoint: str,
    per_page: int = PER_PAGE,
) -> Iterator[list[dict[str, Any]]]:
    """Relative pagination: follow `next_page` while `has_next_page`. The next page is requested
    from our own base URL (its path and query only), with any of our parameters it dropped."""
    first = {**params, "relative_pagination": True, "per_page": per_page}
    body = client.get(path, first, endpoint=endpoint) or {}
    if "has_next_page" not in body:
        # No relative pagination in this answer: continue with offset paging.
        yield body.get("calls") or []
        if _more_offset_pages(body):
            yield from offset_pages(
                client, path, "calls", params, endpoint=endpoint, per_page=per_page, first_page=2
            )
        return
    followed: set[str] = set()
    while True:
        yield body.get("calls") or []
        next_page = body.get("next_page")
        if not body.get("has_next_page") or not next_page:
            return
        if next_page in followed:
            raise SourceError("callrail", endpoint, "next_page repeats an earlier page")
        followed.add(next_page)
        next_path, next_params = _relative(next_page, first)
        body = client.get(next_path, next_params, endpoint=endpoint) or {}


def _more_offset_pages(body: Mapping[str, Any]) -> bool:
    total_pages = body.get("total_pages")
    return isinstance(total_pages, int) and total_pages > 1


def _relative(url: str, ours: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for key, value in ours.items():
        query.setdefault(key, value)
    path = parts.path.lstrip("/")
    return path, query


def lookback_day(cursor: str, lookback_days: int) -> str:
    """The calendar day `lookback_days` before the cursor, in the cursor's own UTC offset."""
    return (_ts(cursor) - timedelta(days=lookback_days)).date().isoformat()


def safe_window_start(day: str) -> datetime:
    """An instant surely inside a window that starts on `day`, whichever time zone CallRail reads
    the date in (UTC-12 .. UTC+14): calls from then on must all have been listed."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=2)


def newest(
    records: list[dict[str, Any]], current: str | None, field: str = "start_time"
) -> str | None:
    best = current
    for record in records:
        value = record.get(field)
        if isinstance(value, str) and (best is None or _ts(value) > _ts(best)):
            best = value
    return best


def oldest(
    records: list[dict[str, Any]], current: datetime | None, field: str = "start_time"
) -> datetime | None:
    best = current
    for record in records:
        value = record.get(field)
        if isinstance(value, str) and (best is None or _ts(value) < best):
            best = _ts(value)
    return best


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)
