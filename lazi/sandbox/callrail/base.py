"""What every CallRail v3 request goes through: the token, the account in the path, the
hourly and daily limits; plus CallRail's error bodies.

CallRail is a Rails app: the Authorization header is parsed the way Rails'
HttpAuthentication::Token does (scheme "Token" or "Bearer", token="..." quoted or not, or
the bare token), `.json` is an optional format suffix, and repeated scalar parameters
resolve to the last value. Error bodies are {"error": "..."} (the docs only promise JSON;
the shape is the one the unofficial spec and clients use). No rate-limit headers and no
Retry-After are documented, so none are sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from lazi.sandbox._ghl_cr_kit import (
    Record,
    Rendered,
    Views,
    call_holding,
    iso_to_ms,
    json_response,
    last_param,
    rendered_json,
    send_rendered,
    sent_path,
    url_with,
)
from lazi.sandbox.common import SlidingWindowLimiter, WriteLog

VENDOR = "callrail"
HOURLY_LIMIT, DAILY_LIMIT = 1_000, 10_000
_TOKEN_SCHEME = re.compile(r"^(Token|Bearer)\s+")
_PAIR_DELIMITER = re.compile(r"\s*(?:,|;|\t)\s*")
# /v3/a/{account}/... ; the account id is what the limits are counted against.
_ACCOUNT_PATH = re.compile(r"^/v3/a/([^/]+)(?:/|$)")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)


def api_token(header: str) -> str | None:
    """The token in an Authorization header, or None; mirrors Rails' token_and_options."""
    match = _TOKEN_SCHEME.match(header)
    if not match:
        return None
    pairs = _PAIR_DELIMITER.split(header[match.end() :].strip())
    if not pairs or not pairs[0]:
        return None
    if not pairs[0].startswith("token="):
        pairs[0] = "token=" + pairs[0]
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key == "token":
            value = value.removeprefix('"').removesuffix('"')
            return value or None
    return None


class CallRailGate:
    """ASGI layer in front of the routes: folds trailing slashes and the `.json` suffix,
    then checks the token, the account and the limits (in that order)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str,
        accounts: set[str],
        hourly: SlidingWindowLimiter,
        daily: SlidingWindowLimiter,
        lock: Any = None,
    ) -> None:
        self.app = app
        self.lock = lock
        self.api_key = api_key
        self.accounts = accounts
        self.hourly = hourly
        self.daily = daily

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/") or "/"
        if path.startswith("/_sandbox"):
            await self.app({**scope, "path": path}, receive, send)
            return
        head, _, last = path.rpartition("/")
        stem, dot, suffix = last.partition(".")
        if dot and suffix != "json":
            await send_rendered(send, rendered_json(406, {"error": "Not Acceptable"}))
            return
        scope = {**scope, "path": f"{head}/{stem}"}
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if api_token(headers.get("authorization", "")) != self.api_key:
            await send_rendered(
                send,
                rendered_json(
                    401,
                    {"error": "HTTP Token: Access denied."},
                    {"WWW-Authenticate": 'Token realm="Application"'},
                ),
            )
            return
        account_match = _ACCOUNT_PATH.match(scope["path"])
        account = account_match.group(1) if account_match else None
        if account is not None and account not in self.accounts:
            await send_rendered(send, rendered_json(404, {"error": "Not Found"}))
            return
        key = account or self.api_key
        if self.hourly.try_acquire(key) is not None or self.daily.try_acquire(key) is not None:
            await send_rendered(send, rendered_json(429, {"error": "Too Many Requests"}))
            return
        await call_holding(self.lock, self.app, scope, receive, send, _crashed)


def _crashed() -> Rendered:
    return rendered_json(500, {"error": "Internal Server Error"})


@dataclass
class CrContext:
    world: Any
    views: Views
    write_log: WriteLog

    def collection(self, name: str, account: str) -> Any:
        return self.world.collection(VENDOR, name, account)

    def log_write(self, request: Request, body: Any, status: int) -> None:
        self.write_log.record(VENDOR, request.method, sent_path(request), body, status)


def context(request: Request) -> CrContext:
    return request.app.state.vendor


# --- paging and envelopes (page/per_page/total_pages/total_records) ---------------------

DEFAULT_PER_PAGE, MAX_PER_PAGE = 100, 250


def int_param(request: Request, name: str, default: int) -> int:
    """Rails' to_i: junk reads as the default rather than failing the request."""
    raw = last_param(request, name)
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def paging(request: Request) -> tuple[int, int]:
    per_page = min(max(int_param(request, "per_page", DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    return max(int_param(request, "page", 1), 1), per_page


def page_url(request: Request, **changes: Any) -> str:
    return url_with(request, sent_path(request), **changes)


def offset_envelope(request: Request, name: str, items: list[Record], total: int) -> Response:
    page, per_page = paging(request)
    total_pages = math.ceil(total / per_page)
    body = {
        "page": page,
        "per_page": per_page,
        "total_pages": total_pages,
        "total_records": total,
        name: items,
    }
    headers = None
    if page < total_pages:
        headers = {"Link": f'<{page_url(request, page=page + 1)}>; rel="next"'}
    return json_response(body, headers=headers)


def live_records(ctx: CrContext, name: str, account: str) -> list[Record]:
    coll = ctx.collection(name, account)
    return list(coll.records(live=True))


# --- request parameters shared by the lists ---------------------------------------------


class BadParam(ValueError):
    """Rendered as 400 {"error": message} (422 for a write's body)."""


def extra_fields(request: Request, allowed: Collection[str]) -> list[str]:
    """The `fields=` names (comma lists, repeatable) that a resource knows, in order;
    unknown names are ignored, as CallRail ignores them."""
    raw = ",".join(request.query_params.getlist("fields"))
    names = [f.strip() for f in raw.split(",") if f.strip()]
    return [f for f in dict.fromkeys(names) if f in allowed]


def account_zone(ctx: CrContext, account: str) -> ZoneInfo:
    """Dates without a time are the account's calendar days (its companies' time zone)."""
    companies = live_records(ctx, "companies", account)
    return ZoneInfo(companies[0].get("time_zone") or "UTC") if companies else ZoneInfo("UTC")


def date_bound_ms(raw: str, param: str, zone: ZoneInfo, *, end: bool) -> int:
    """start_date/end_date as an inclusive epoch-ms bound: a bare date means the start (or
    the last millisecond) of that day in the account's time zone."""
    try:
        if len(raw) > 10:
            return iso_to_ms(raw)
        day = date.fromisoformat(raw) + timedelta(days=1 if end else 0)
    except ValueError as exc:
        raise BadParam(f"Invalid {param}: {raw}") from exc
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    return int(midnight.timestamp() * 1000) - (1 if end else 0)
