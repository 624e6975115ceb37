"""GoHighLevel auth, error messages and paging.

- Contacts: POST /contacts/search sorted by dateUpdated, paged with `searchAfter` (page numbers
  only reach 10,000 records).
- Opportunities: GET /opportunities/search paged with `startAfter` + `startAfterId` from `meta`.
- Deleted contacts: GHL hard-deletes and has no deleted-records listing. `probe_deletions` compares
  the vendor's count of contacts with what raw holds and, where they differ, narrows the gap with
  count-only searches over dateAdded ranges, so a run finds the few deleted contacts without a
  complete listing (which it falls back to when that is cheaper).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
from psycopg import sql

from dlt_pipelines.common.errors import SourceError
from dlt_pipelines.common.feed import CountedRecords
from dlt_pipelines.common.http import ApiClient, StaticAuth
from dlt_pipelines.common.rows import LATEST_FIRST, RawTable
from dlt_pipelines.gohighlevel.settings import (
    API_VERSION,
    CONTACTS_SEARCH_PATH,
    OPPORTUNITIES_PATH,
    PAGE_NUMBER_MAX_RECORDS,
    PIPELINES_PATH,
)

log = logging.getLogger("lazi.sources")

Filters = list[dict[str, Any]]


def location_auth(token: str) -> StaticAuth:
    """A private-integration (or sub-account OAuth) token is a static bearer token per location."""
    return StaticAuth({"Authorization": f"Bearer {token}", "Version": API_VERSION})


def error_message(response: httpx.Response) -> str:
    """GHL error bodies: {statusCode, message (a string, or a list on 422), error?, traceId?}."""
    try:
        body = response.json()
    except ValueError:
        return _plain(response)
    if not isinstance(body, dict):
        return orjson.dumps(body).decode()[:300]
    message = body.get("message")
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    error = body.get("error")
    text = f"{error}: {message}" if error and message else str(message or error or body)[:300]
    trace = body.get("traceId")
    return f"{text} (traceId {trace})" if trace else text


def _plain(response: httpx.Response) -> str:
    """A proxy's HTML error page says what it means in its <title>."""
    text = response.text.strip()
    title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title:
        return title.group(1).strip()[:300]
    return text[:300] or response.reason_phrase


def dated_after(field_name: str, start: str) -> Filters:
    return [{"field": field_name, "operator": "range", "value": {"gte": start}}]


def added_between(low: str | None, high: str | None) -> Filters:
    """dateAdded in [low, high); an open end when None."""
    value: dict[str, str] = {}
    if low is not None:
        value["gte"] = low
    if high is not None:
        value["lt"] = high
    return [{"field": "dateAdded", "operator": "range", "value": value}] if value else []


def search_contacts(
    client: ApiClient,
    location_id: str,
    filters: Filters,
    *,
    page_limit: int,
    endpoint: str,
) -> Iterator[list[dict[str, Any]]]:
    """Every contact matching `filters`, oldest dateUpdated first. A short page is the last one;
    the `searchAfter` cursor comes from the response (top level or the last contact)."""
    body: dict[str, Any] = {
        "locationId": location_id,
        "pageLimit": page_limit,
        "sort": [{"field": "dateUpdated", "direction": "asc"}],
    }
    if filters:
        body["filters"] = filters
    search_after: list[Any] | None = None
    page = 1
    while True:
        paging: dict[str, Any] = {"searchAfter": search_after} if search_after else {"page": page}
        request = {**body, **paging}
        data = client.request("POST", CONTACTS_SEARCH_PATH, json=request, endpoint=endpoint) or {}
        contacts = data.get("contacts") or []
        cursor = data.get("searchAfter") or (contacts[-1].get("searchAfter") if contacts else None)
        records = [_without_cursor(contact) for contact in contacts]
        yield CountedRecords(records, _total(data, len(contacts)))
        if len(contacts) < page_limit:
            return
        if cursor:
            if cursor == search_after:
                raise SourceError("gohighlevel", endpoint, "searchAfter did not advance")
            search_after = list(cursor)
        elif search_after is not None:
            raise SourceError("gohighlevel", endpoint, "a page came back without searchAfter")
        else:
            page += 1
            if (page - 1) * page_limit >= PAGE_NUMBER_MAX_RECORDS:
                raise SourceError(
                    "gohighlevel",
                    endpoint,
                    "no searchAfter cursor in the response and page numbers stop at 10,000",
                )


def count_contacts(
    client: ApiClient, location_id: str, filters: Filters, *, endpoint: str
) -> int | None:
    """The search's `total` (the spec names it `count`); None when the answer is unusable."""
    body: dict[str, Any] = {"locationId": location_id, "pageLimit": 1, "page": 1}
    if filters:
        body["filters"] = filters
    data = client.request("POST", CONTACTS_SEARCH_PATH, json=body, endpoint=endpoint) or {}
    return _total(data, len(data.get("contacts") or []))


def _total(data: Mapping[str, Any], listed: int) -> int | None:
    """A search's count of all its matches (`total`; the contact search's spec names it
    `count`); None when missing or fewer than the `listed` records of the page itself."""
    total = _integral(data.get("total", data.get("count")))
    if not isinstance(total, int) or isinstance(total, bool):
        return None
    return total if total >= listed else None


def _without_cursor(contact: dict[str, Any]) -> dict[str, Any]:
    """`searchAfter` on a search hit is a paging artifact of the chosen sort, not contact data."""
    if "searchAfter" in contact:
        contact = {k: v for k, v in contact.items() if k != "searchAfter"}
    return contact


def opportunity_pages(
    client: ApiClient, location_id: str, *, limit: int, endpoint: str
) -> Iterator[list[dict[str, Any]]]:
    """GET /opportunities/search (snake_case location_id) following meta.startAfter/startAfterId."""
    after: tuple[Any, Any] | None = None
    while True:
        params: dict[str, Any] = {"location_id": location_id, "limit": limit}
        if after is not None:
            params["startAfter"], params["startAfterId"] = after
        data = client.get(OPPORTUNITIES_PATH, params, endpoint=endpoint) or {}
        records = data.get("opportunities") or []
        meta = data.get("meta") or {}
        yield CountedRecords(records, _total(meta, len(records)))
        following = (_integral(meta.get("startAfter")), meta.get("startAfterId"))
        if len(records) < limit or not following[1]:
            return
        if "nextPageUrl" in meta and not meta["nextPageUrl"]:
            return
        if following == after:
            raise SourceError("gohighlevel", endpoint, "startAfter/startAfterId did not advance")
        after = following


def pipelines(client: ApiClient, location_id: str, *, endpoint: str) -> list[dict[str, Any]]:
    data = client.get(PIPELINES_PATH, {"locationId": location_id}, endpoint=endpoint) or {}
    return data.get("pipelines") or []


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def latest_cursor(
    records: list[dict[str, Any]], field_name: str, current: str | None
) -> str | None:
    """Highest timestamp in `field_name`, kept as the vendor wrote it."""
    best = current
    for record in records:
        value = record.get(field_name)
        if isinstance(value, str) and (best is None or _ts(value) > _ts(best)):
            best = value
    return best


def rewind(cursor: str, seconds: int) -> str:
    return iso_ms(_ts(cursor) - timedelta(seconds=seconds))


def iso_ms(moment: datetime) -> str:
    """GHL's own timestamp format: UTC, milliseconds, 'Z' (naive values are taken as UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def live_contacts(warehouse_url: str, table: RawTable, location_id: str) -> dict[str, str | None]:
    """Id -> dateAdded (as the vendor wrote it) of every contact live in raw for one location."""
    query = sql.SQL(
        """
        select {id}, full_data ->> 'dateAdded' from (
            select distinct on ({id}) {id}, full_data, is_deleted
            from raw.{table}
            where {scope} = %s
            order by {id}, {latest_first}
        ) as latest
        where not is_deleted
        """
    ).format(
        latest_first=sql.SQL(LATEST_FIRST),
        id=sql.Identifier(table.id_column),
        table=sql.Identifier(table.name),
        scope=sql.Identifier(table.scope_column),
    )
    with psycopg.connect(warehouse_url) as conn:
        exists = conn.execute("select to_regclass(%s)", (f"raw.{table.name}",)).fetchone()
        if exists is None or exists[0] is None:
            return {}
        return dict(conn.execute(query, (location_id,)).fetchall())


@dataclass
class ProbeResult:
    gone: set[str] = field(default_factory=set)
    verified: bool = False  # counts matched, or every mismatched range was listed
    needs_listing: bool = False  # a complete listing is cheaper (or the only way)
    requests: int = 0


@dataclass
class _Item:
    at: datetime
    added: str
    id: str


def probe_deletions(
    client: ApiClient,
    location_id: str,
    expected: Mapping[str, str | None],
    *,
    page_limit: int,
    endpoint: str,
) -> Generator[list[dict[str, Any]], None, ProbeResult]:
    """Find contacts deleted at the vendor among `expected` (id -> dateAdded of every contact that
    should be live). Yields the contacts that listing a narrowed range returned; returns a
    ProbeResult (use `result = yield from probe_deletions(...)`).

    One count request when nothing was deleted. Otherwise it splits the dateAdded range in two,
    counts one half (the other half's count follows), and lists a range once it fits one page,
    about (deletions x log2(contacts / page)) requests, unless a complete listing costs less.
    """
    result = ProbeResult()
    total = count_contacts(client, location_id, [], endpoint=endpoint)
    result.requests += 1
    if total is None:
        log.warning("gohighlevel %s: the search gave no usable total; no deletion probe", endpoint)
        return result
    if total == len(expected):
        result.verified = True
        return result
    gap = abs(total - len(expected))
    listing_cost = max(1, math.ceil(total / page_limit))
    depth = max(1, math.ceil(math.log2(max(2.0, len(expected) / page_limit))))
    if any(added is None for added in expected.values()) or gap * (depth + 1) >= listing_cost:
        result.needs_listing = True
        return result
    items = sorted(
        (_Item(_ts(added), added, contact_id) for contact_id, added in expected.items() if added),
        key=lambda item: (item.at, item.id),
    )
    budget = listing_cost  # never spend more than the complete listing would have

    def resolve(part: list[_Item], low: str | None, high: str | None, vendor: int) -> Iterator[Any]:
        if vendor == len(part) or result.needs_listing:
            return
        split = _split_point(part)
        if len(part) <= page_limit or split is None:
            found: set[str] = set()
            for records in search_contacts(
                client,
                location_id,
                added_between(low, high),
                page_limit=page_limit,
                endpoint=endpoint,
            ):
                result.requests += 1
                found.update(str(r.get("id")) for r in records)
                yield records
                if result.requests > budget:  # the range filter is not narrowing: stop here
                    result.needs_listing = True
                    return
            result.gone.update(item.id for item in part if item.id not in found)
            return
        if result.requests >= budget:
            result.needs_listing = True
            return
        middle = part[split].added
        left = count_contacts(client, location_id, added_between(low, middle), endpoint=endpoint)
        result.requests += 1
        if left is None or not 0 <= left <= vendor:
            result.needs_listing = True
            return
        yield from resolve(part[:split], low, middle, left)
        yield from resolve(part[split:], middle, high, vendor - left)

    yield from resolve(items, None, None, total)
    result.verified = not result.needs_listing
    return result


def _split_point(part: list[_Item]) -> int | None:
    """An index near the middle where dateAdded changes, so a range boundary separates halves."""
    middle = len(part) // 2
    for offset in range(len(part)):
        for index in (middle + offset, middle - offset):
            if 0 < index < len(part) and part[index - 1].at < part[index].at:
                return index
    return None
