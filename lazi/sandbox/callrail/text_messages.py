"""CallRail v3 text messages: conversations with customers (list with offset paging, a
start_date/end_date window on last_message_at, `fields=`; get one)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from lazi.sandbox._ghl_cr_kit import (
    Record,
    SortedView,
    iso_to_ms,
    json_response,
    last_param,
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
    offset_envelope,
    paging,
)

router = APIRouter()

# Returned on every conversation; the rest only when named in `fields=`.
TEXT_FIELDS = (
    "id", "company_id", "customer_name", "customer_phone_number", "initial_tracker_id",
    "current_tracker_id", "initial_tracking_number", "current_tracking_number", "state",
    "last_message_at", "recent_messages",
)  # fmt: skip
EXTRA_TEXT_FIELDS = frozenset(
    """company_name company_time_zone tracker_name formatted_customer_name
    formatted_customer_phone_number formatted_initial_tracking_number
    formatted_current_tracking_number""".split()
)


def _project(record: Record, extra: list[str]) -> Record:
    out = {f: record.get(f) for f in TEXT_FIELDS}
    for name in extra:
        out[name] = record.get(name)
    return out


def _key(record: Record) -> tuple:
    raw = record.get("last_message_at")
    return (sort_component(iso_to_ms(raw) if raw else None, False),)


def texts_view(ctx: CrContext, account: str, since_ms: int | None = None) -> SortedView:
    """Conversations by last_message_at (epoch ms). A conversation's last_message_at never
    passes its change time, so a lower bound needs only the change feed since then."""
    texts = ctx.collection("text_messages", account)
    return ctx.views.sorted_since(texts, "last_message_at", _key, since_ms)


def warm(ctx: CrContext, account: str) -> None:
    texts = ctx.collection("text_messages", account)
    ctx.views.sorted(texts, "last_message_at", _key, refresh=False)
    ctx.views.warm(texts)


def _window(ctx: CrContext, request: Request, account: str) -> tuple[int | None, int | None]:
    zone = account_zone(ctx, account)
    start, end = last_param(request, "start_date"), last_param(request, "end_date")
    low = date_bound_ms(start, "start_date", zone, end=False) if start else None
    high = date_bound_ms(end, "end_date", zone, end=True) if end else None
    return low, high


@router.get("/v3/a/{account_id}/text-messages")
async def list_text_messages(request: Request, account_id: str) -> Response:
    ctx = context(request)
    try:
        low, high = _window(ctx, request, account_id)
    except BadParam as exc:
        return error(400, str(exc))
    page, per_page = paging(request)
    view = texts_view(ctx, account_id, low)
    lo, hi = view.range_of((), low, high, missing=low is None and high is None)
    descending = (last_param(request, "order") or "desc").lower() != "asc"
    total = hi - lo
    offset = (page - 1) * per_page
    if descending:  # newest first: count pages from the top of the ascending index
        first = max(hi - offset - per_page, lo)
        result = select(view, lo=first, hi=max(hi - offset, lo), limit=per_page)
        records = list(reversed(result.records))
    else:
        records = select(view, lo=lo, hi=hi, offset=offset, limit=per_page).records
    extra = extra_fields(request, EXTRA_TEXT_FIELDS)
    return offset_envelope(request, "conversations", [_project(r, extra) for r in records], total)


@router.get("/v3/a/{account_id}/text-messages/{conversation_id}")
async def get_text_message(request: Request, account_id: str, conversation_id: str) -> Response:
    texts = context(request).collection("text_messages", account_id)
    record = texts.get(conversation_id)
    if record is None or texts.is_deleted(record):
        return error(404, "Not Found")
    return json_response(_project(record, extra_fields(request, EXTRA_TEXT_FIELDS)))
