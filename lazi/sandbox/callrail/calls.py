"""CallRail v3 calls: list (offset or relative pagination, date windows, filters,
`fields=`), get, and PUT (tags, note, value, lead_status, customer_name; null leaves a field
as it is)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from lazi.sandbox._ghl_cr_kit import (
    Page,
    Record,
    SortedView,
    all_of,
    iso_to_ms,
    json_response,
    last_param,
    prefix_component,
    select,
    sort_component,
)
from lazi.sandbox.callrail.base import (
    BadParam,
    CrContext,
    account_zone,
    context,
    date_bound_ms,
    error,
    extra_fields,
    int_param,
    offset_envelope,
    page_url,
    paging,
)

router = APIRouter()

RETENTION_MONTHS = 25
# Returned on every call; anything else only when named in `fields=`.
CALL_FIELDS = (
    "answered", "business_phone_number", "customer_city", "customer_country", "customer_name",
    "customer_phone_number", "customer_state", "direction", "duration", "id", "recording",
    "recording_duration", "recording_player", "start_time", "tracking_phone_number",
    "voicemail",
)  # fmt: skip
EXTRA_CALL_FIELDS = frozenset(
    """call_type company_id company_name company_time_zone created_at device_type first_call
    prior_calls total_calls good_lead_call_id good_lead_call_time lead_status note value tags
    formatted_call_type formatted_customer_location formatted_business_phone_number
    formatted_customer_name formatted_customer_name_or_phone_number
    formatted_customer_phone_number formatted_duration formatted_tracking_phone_number
    formatted_tracking_source formatted_value source source_name tracker_id medium campaign
    keywords referring_url landing_page_url last_requested_url referrer_domain utm_source
    utm_medium utm_term utm_content utm_campaign utma utmb utmc utmv utmz ga gclid fbclid
    msclkid milestones waveforms speaker_percent timeline_url keywords_spotted call_highlights
    agent_email keypad_entries transcription call_summary sentiment lead_score person_id
    zip_code""".split()
)
# Fields a PUT may change, as the response shows them afterwards.
WRITABLE = ("tags", "note", "value", "lead_status", "customer_name")
LEAD_STATUSES = ("good_lead", "not_a_lead", "previously_marked_good_lead")
DATE_RANGES = (
    "recent", "today", "yesterday", "last_7_days", "last_30_days", "this_week", "last_week",
    "this_month", "last_month", "this_year", "last_year", "all_time",
)  # fmt: skip


def _project(record: Record, extra: list[str]) -> Record:
    out = {f: record.get(f) for f in CALL_FIELDS}
    for name in extra:
        out[name] = record.get(name)
    return out


def _extra_fields(request: Request) -> list[str]:
    return extra_fields(request, EXTRA_CALL_FIELDS)


def _relative_dates(name: str, today: date) -> tuple[date, date]:
    if name == "today":
        return today, today
    if name == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if name in ("last_7_days", "last_30_days", "recent"):
        days = 7 if name == "last_7_days" else 30
        return today - timedelta(days=days - 1), today
    if name == "this_week":
        return today - timedelta(days=today.weekday()), today
    if name == "last_week":
        start = today - timedelta(days=today.weekday() + 7)
        return start, start + timedelta(days=6)
    if name == "this_month":
        return today.replace(day=1), today
    if name == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if name == "this_year":
        return today.replace(month=1, day=1), today
    start = today.replace(year=today.year - 1, month=1, day=1)
    return start, start.replace(month=12, day=31)


def _date_window(ctx: CrContext, request: Request, account: str) -> tuple[int | None, int | None]:
    """(low, high) inclusive start_time bounds in epoch ms from the date parameters."""
    zone = account_zone(ctx, account)
    today = ctx.world.now.astimezone(zone).date()
    date_range = last_param(request, "date_range")
    start, end = last_param(request, "start_date"), last_param(request, "end_date")
    if date_range and date_range != "custom" and not (start or end):
        if date_range not in DATE_RANGES:
            raise BadParam(f"Invalid date_range: {date_range}")
        if date_range == "all_time":
            raise _RetentionError
        first, last = _relative_dates(date_range, today)
        start, end = first.isoformat(), last.isoformat()
    low = date_bound_ms(start, "start_date", zone, end=False) if start else None
    high = date_bound_ms(end, "end_date", zone, end=True) if end else None
    oldest = _months_before(today, RETENTION_MONTHS).isoformat()
    if low is not None and low < date_bound_ms(oldest, "start_date", zone, end=False):
        raise _RetentionError
    return low, high


class _RetentionError(BadParam):
    def __init__(self) -> None:
        super().__init__(
            "Call data is retained for 25 months. The requested date range reaches outside "
            "the retention window; please revise your date range."
        )


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, 28))


def _call_predicate(request: Request) -> Any:
    """Checks the index cannot answer: tags and free-text search."""
    checks: list[Any] = []
    tags = [
        t
        for t in request.query_params.getlist("tags[]") + request.query_params.getlist("tags")
        if t
    ]
    if tags:
        checks.append(lambda r: bool(set(tags) & set(r.get("tags") or [])))
    search = (last_param(request, "search") or "").strip().lower()
    if search:
        checks.append(lambda r: _matches_search(r, search))
    if not checks:
        return None
    return lambda r: all(check(r) for check in checks)


def _partition(request: Request) -> dict[str, str]:
    """The equality filters present in the request (param -> value); they select a
    partition of the calls index, so filtered paging stays proportional to the page."""
    wanted = {}
    for param, allowed in _PARTITION_VALUES.items():
        value = last_param(request, param)
        if value and (allowed is None or value in allowed):
            wanted[param] = value
    return wanted


def _answer_status(record: Record) -> str:
    if record.get("answered"):
        return "answered"
    return "voicemail" if record.get("voicemail") else "missed"


# Equality filters: how to read each from a call, and the values a request may ask for
# (None = any); other values are ignored, as Rails ignores unusable parameters.
_PARTITIONS: dict[str, Any] = {
    "company_id": lambda r: r.get("company_id"),
    "tracker_id": lambda r: r.get("tracker_id"),
    "direction": lambda r: r.get("direction"),
    "lead_status": lambda r: r.get("lead_status"),
    "answered": lambda r: "true" if r.get("answered") else "false",
    "answer_status": _answer_status,
}
_PARTITION_VALUES: dict[str, tuple[str, ...] | None] = {
    "company_id": None,
    "tracker_id": None,
    "direction": ("inbound", "outbound"),
    "lead_status": None,
    "answered": ("true", "false"),
    "answer_status": ("answered", "missed", "voicemail"),
}


def _matches_search(record: Record, needle: str) -> bool:
    digits = "".join(c for c in needle if c.isdigit())
    if digits and digits in "".join(
        c for c in str(record.get("customer_phone_number")) if c.isdigit()
    ):
        return True
    return any(needle in str(record.get(f) or "").lower() for f in ("customer_name", "source_name"))


def _calls_page(
    request: Request, account: str, per_page: int, offset: int
) -> tuple[Page, list[str]]:
    ctx = context(request)
    low, high = _date_window(ctx, request, account)
    sort = last_param(request, "sort") or last_param(request, "sorting") or "start_time"
    if sort not in CALL_FIELDS and sort not in EXTRA_CALL_FIELDS:
        sort = "start_time"
    default_order = "desc" if sort == "start_time" else "asc"
    descending = (last_param(request, "order") or default_order).lower() == "desc"

    wanted = _partition(request)
    params = tuple(sorted(wanted))
    prefix = tuple(wanted[p] for p in params)
    view = calls_view(ctx, account, sort, descending, params, since_ms=low)
    lo, hi = view.range_of(prefix)
    predicate = _call_predicate(request)
    if sort == "start_time" and (low is not None or high is not None):
        if descending:
            low, high = (None if high is None else -high), (None if low is None else -low)
        lo, hi = view.range_of(prefix, low, high, missing=False)
    elif low is not None or high is not None:  # no start_time index for this order
        predicate = all_of(predicate, _start_between(low, high))
    return select(
        view, lo=lo, hi=hi, predicate=predicate, offset=offset, limit=per_page
    ), _extra_fields(request)


def calls_view(
    ctx: CrContext,
    account: str,
    sort: str,
    descending: bool,
    params: tuple[str, ...] = (),
    *,
    refresh: bool = True,
    since_ms: int | None = None,
) -> SortedView:
    """Calls keyed by the equality-filter values in `params`, then the sort field. With a
    start_time lower bound, the change feed since then is enough (a call is never touched
    before it starts)."""

    def key(record: Record) -> tuple:
        head = tuple(prefix_component(_PARTITIONS[p](record)) for p in params)
        raw = record.get(sort)
        value = iso_to_ms(raw) if sort == "start_time" and raw else raw
        return (*head, sort_component(value, descending))

    calls = ctx.collection("calls", account)
    name = ("sort", sort, descending, params)
    if since_ms is not None:
        return ctx.views.sorted_since(calls, name, key, since_ms)
    return ctx.views.sorted(calls, name, key, refresh=refresh)


def warm(ctx: CrContext, account: str) -> None:
    calls_view(ctx, account, "start_time", True, refresh=False)
    ctx.views.warm(ctx.collection("calls", account))


def _start_between(low: int | None, high: int | None) -> Any:
    def check(record: Record) -> bool:
        ms = iso_to_ms(record["start_time"])
        return (low is None or ms >= low) and (high is None or ms <= high)

    return check


@router.get("/v3/a/{account_id}/calls")
async def list_calls(request: Request, account_id: str) -> Response:
    page, per_page = paging(request)
    relative = (last_param(request, "relative_pagination") or "").lower() == "true"
    offset = max(int_param(request, "offset", 0), 0) if relative else (page - 1) * per_page
    try:
        result, extra = _calls_page(request, account_id, per_page, offset)
    except BadParam as exc:
        return error(400, str(exc))
    calls = [_project(r, extra) for r in result.records]
    if not relative:
        return offset_envelope(request, "calls", calls, result.total)
    next_url = (
        page_url(request, offset=offset + per_page, relative_pagination="true")
        if result.has_more
        else None
    )
    return json_response(
        {
            "per_page": per_page,
            "has_next_page": result.has_more,
            "next_page": next_url,
            "calls": calls,
        }
    )


@router.get("/v3/a/{account_id}/calls/{call_id}")
async def get_call(request: Request, account_id: str, call_id: str) -> Response:
    record = _find_call(request, account_id, call_id)
    if record is None:
        return error(404, "Not Found")
    return json_response(_project(record, _extra_fields(request)))


def _find_call(request: Request, account: str, call_id: str) -> Record | None:
    calls = context(request).collection("calls", account)
    record = calls.get(call_id)
    return None if record is None or calls.is_deleted(record) else record


@router.put("/v3/a/{account_id}/calls/{call_id}")
async def update_call(request: Request, account_id: str, call_id: str) -> Response:
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    if raw.strip() and "json" not in content_type:
        return error(406, "Parameters must be sent as JSON")
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        return error(400, "Invalid JSON in request body")
    if not isinstance(body, dict):
        return error(400, "Invalid JSON in request body")
    current = _find_call(request, account_id, call_id)
    if current is None:
        return error(404, "Not Found")
    try:
        changes = _call_changes(current, body)
    except BadParam as exc:
        return error(422, str(exc))
    ctx = context(request)
    record = ctx.collection("calls", account_id).patch(call_id, changes) if changes else current
    ctx.log_write(request, body, 200)
    return json_response(_project(record, list(WRITABLE)))


def _call_changes(current: Record, body: dict[str, Any]) -> dict[str, Any]:
    # Some clients send every updatable field, the unset ones as null; CallRail leaves those
    # unchanged (clear a note or value with "" instead).
    body = {name: value for name, value in body.items() if value is not None}
    changes: dict[str, Any] = {}
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise BadParam("tags must be an array of tag names")
        old = list(current.get("tags") or [])
        changes["tags"] = list(dict.fromkeys(old + tags)) if body.get("append_tags") else tags
    if "note" in body:
        changes["note"] = str(body["note"])
    if "value" in body:
        changes["value"], changes["formatted_value"] = _money(body["value"])
    if "lead_status" in body:
        status = body["lead_status"]
        if status not in LEAD_STATUSES:
            raise BadParam(f"lead_status must be one of {', '.join(LEAD_STATUSES)}")
        changes["lead_status"] = status
    if "customer_name" in body:
        changes["customer_name"] = body["customer_name"]
    return changes


def _money(value: Any) -> tuple[str | None, str]:
    if value in (None, ""):
        return None, "--"
    try:
        amount = float(value)
    except (TypeError, ValueError) as exc:
        raise BadParam("value must be a number") from exc
    return f"{amount:.2f}", f"${amount:,.2f}"
