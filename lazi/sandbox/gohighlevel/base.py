"""What every GoHighLevel (LeadConnector v2) request goes through: Version header, bearer
token, location scoping and the per-location rate limits; plus GHL's error bodies.

Error shapes follow the official common schemas (BadRequestDTO, UnauthorizedDTO,
UnprocessableDTO: NestJS style {statusCode, message, error?}). Version-header behaviour
(401 "version header was not found." / "version header is invalid") comes from live probes
published by third parties; api-facts.md only says the header is required.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lazi.sandbox._ghl_cr_kit import (
    Rendered,
    Views,
    call_holding,
    json_response,
    rendered_json,
    send_rendered,
    sent_path,
)
from lazi.sandbox.common import SlidingWindowLimiter, WriteLog

VENDOR = "gohighlevel"
# Every published version value is accepted on established paths (live probes, 2026-08).
VERSIONS = frozenset({"2021-07-28", "2021-04-15", "2023-02-21", "v3", "legacy"})
BURST_LIMIT, BURST_WINDOW_S = 100, 10.0
DAILY_LIMIT, DAILY_WINDOW_S = 200_000, 86_400.0

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def error_body(status: int, message: str | list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"statusCode": status, "message": message}
    if status != 400 or isinstance(message, list):
        body["error"] = _REASONS.get(status, "Error")
    return body


def error(status: int, message: str | list[str], **extra: Any) -> Response:
    return json_response({**error_body(status, message), **extra}, status)


def bad_request(message: str, **extra: Any) -> Response:
    return error(400, message, **extra)


def unprocessable(messages: list[str]) -> Response:
    return error(422, messages)


def forbidden_location() -> Response:
    return error(403, "The token does not have access to this location.")


def trace_id() -> str:
    return secrets.token_hex(16)


@dataclass
class Settings:
    """A location's "Allow Duplicate Contact" configuration, which upsert honours."""

    allow_duplicate_contact: bool = False
    # Which fields identify a duplicate, in priority order.
    duplicate_fields: list[str] = field(default_factory=lambda: ["email", "phone"])


class GhlGate:
    """ASGI layer in front of the routes, in the order the real gateway applies checks:
    Version header, bearer token, rate limits. Also folds trailing slashes (Express routes
    are not strict about them) and stamps X-RateLimit-* headers on every answer."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token_locations: dict[str, str],
        burst: SlidingWindowLimiter,
        daily: SlidingWindowLimiter,
        lock: Any = None,
    ) -> None:
        self.app = app
        self.lock = lock
        self.token_locations = token_locations
        self.burst = burst
        self.daily = daily

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        if scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        version = headers.get("version")
        if version is None:
            await send_rendered(
                send, rendered_json(401, error_body(401, "version header was not found."))
            )
            return
        if version.strip() not in VERSIONS:
            await send_rendered(
                send, rendered_json(401, error_body(401, "version header is invalid"))
            )
            return
        location = self.token_locations.get(bearer_token(headers.get("authorization", "")))
        if location is None:
            await send_rendered(
                send, rendered_json(401, error_body(401, "Invalid token: access token is invalid"))
            )
            return
        burst_wait = self.burst.try_acquire(location)
        daily_wait = None if burst_wait is not None else self.daily.try_acquire(location)
        limit_headers = rate_headers(self.burst, self.daily, location)
        if burst_wait is not None or daily_wait is not None:
            await send_rendered(
                send, rendered_json(429, error_body(429, "Too Many Requests"), limit_headers)
            )
            return
        scope = {**scope, "state": {**scope.get("state", {}), "location_id": location}}
        extra = [(k.lower().encode(), v.encode()) for k, v in limit_headers.items()]

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await call_holding(self.lock, self.app, scope, receive, send_with_limits, _crashed)


def rate_headers(
    burst: SlidingWindowLimiter, daily: SlidingWindowLimiter, location: str | None
) -> dict[str, str]:
    """The X-RateLimit-* headers GHL documents, for one location."""
    return {
        "X-RateLimit-Limit-Daily": str(DAILY_LIMIT),
        "X-RateLimit-Daily-Remaining": str(daily.remaining(location) if location else 0),
        "X-RateLimit-Interval-Milliseconds": str(int(BURST_WINDOW_S * 1000)),
        "X-RateLimit-Max": str(BURST_LIMIT),
        "X-RateLimit-Remaining": str(burst.remaining(location) if location else 0),
    }


def _crashed() -> Rendered:
    return rendered_json(500, error_body(500, "Internal server error"))


def bearer_token(value: str) -> str:
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def location_of(request: Request) -> str:
    return request.state.location_id


async def json_body(request: Request) -> tuple[dict[str, Any] | None, Response | None]:
    """Parsed JSON object body, or the 400 NestJS's body parser answers with."""
    raw = await request.body()
    if not raw.strip():
        return {}, None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, bad_request(f"Unexpected token in JSON at position {exc.pos}")
    if not isinstance(body, dict):
        return None, unprocessable(["body must be an object"])
    return body, None


# --- class-validator style body checks ---------------------------------------------------------

# kind: "str", "str?" (nullable), "bool", "num", "tags" (list of str), "list", "obj", "any"
FieldKinds = dict[str, str]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate(body: dict[str, Any], kinds: FieldKinds, required: tuple[str, ...] = ()) -> list[str]:
    """Messages a NestJS ValidationPipe (whitelist + forbidNonWhitelisted) would produce."""
    problems = [f"property {name} should not exist" for name in body if name not in kinds]
    for name in required:
        if body.get(name) in (None, ""):
            problems.append(f"{name} should not be empty")
    for name, value in body.items():
        kind = kinds.get(name)
        if kind is None or (value is None and kind.endswith("?")):
            continue
        kind = kind.rstrip("?")
        if kind == "str" and not isinstance(value, str):
            problems.append(f"{name} must be a string")
        elif kind == "email" and (not isinstance(value, str) or not _EMAIL.match(value)):
            problems.append(f"{name} must be an email")
        elif kind == "bool" and not isinstance(value, bool):
            problems.append(f"{name} must be a boolean value")
        elif kind == "num" and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append(f"{name} must be a number conforming to the specified constraints")
        elif (
            kind == "tags"
            and (not isinstance(value, list) or not all(isinstance(t, str) for t in value))
        ) or (kind == "list" and not isinstance(value, list)):
            problems.append(f"{name} must be an array")
        elif kind == "obj" and not isinstance(value, dict):
            problems.append(f"{name} must be an object")
    return problems


def enum_problem(name: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    if value is None or value in allowed:
        return None
    return f"{name} must be one of the following values: {', '.join(allowed)}"


def normalize_phone(value: Any) -> str | None:
    """E.164 the way GHL stores phones; North American numbers get +1."""
    if not isinstance(value, str) or not value.strip():
        return None
    digits = re.sub(r"\D", "", value)
    if not digits:
        return None
    if value.strip().startswith("+"):
        return "+" + digits
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    return "+" + digits


def merge_custom_fields(
    current: Any, written: list[Any], read_key: str, key_ids: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Apply write-format custom fields ({id|key, field_value}) to the read format; reads
    call the value `value` on contacts and `fieldValue` on opportunities. A `key` (the
    field's fieldKey) is resolved to its id through `key_ids`."""
    values = {f.get("id"): f.get(read_key) for f in current or [] if isinstance(f, dict)}
    for item in written:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "")
        field_id = item.get("id") or (key_ids or {}).get(key) or key
        if field_id:
            values[field_id] = item.get("field_value")
    return [{"id": k, read_key: v} for k, v in values.items()]


def normalize_email(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


@dataclass
class GhlContext:
    """What the route modules share: the World, its live indexes, settings and the log."""

    world: Any
    views: Views
    write_log: WriteLog
    settings: dict[str, Settings]
    # location -> field id -> custom field (custom_fields.py)
    custom_fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    def collection(self, name: str, location: str) -> Any:
        return self.world.collection(VENDOR, name, location)

    def log_write(self, request: Request, body: Any, status: int) -> None:
        self.write_log.record(VENDOR, request.method, sent_path(request), body, status)


def context(request: Request) -> GhlContext:
    return request.app.state.vendor


def find_live(
    request: Request, collection: str, record_id: str, not_found: str
) -> tuple[Any, Response | None]:
    """The live record of `collection` in the token's location; 403 if it lives in another
    location, 400 `not_found` (GoHighLevel's answer for an unknown id) otherwise."""
    ctx = context(request)
    location = location_of(request)
    records = ctx.collection(collection, location)
    record = records.get(record_id)
    if record is not None and not records.is_deleted(record):
        return record, None
    for other in ctx.world.ghl_locations:
        if other != location and ctx.collection(collection, other).get(record_id) is not None:
            return None, forbidden_location()
    return None, bad_request(not_found)
