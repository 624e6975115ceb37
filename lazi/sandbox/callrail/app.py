"""CallRail API v3 stand-in: the app factory."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from lazi.sandbox._ghl_cr_kit import (
    Rendered,
    Views,
    assemble_app,
    drift_records,
    gateway_error_page,
    json_response,
    rendered_json,
    world_lock,
)
from lazi.sandbox.callrail import calls, routes, text_messages
from lazi.sandbox.callrail.base import DAILY_LIMIT, HOURLY_LIMIT, VENDOR, CallRailGate, CrContext
from lazi.sandbox.common import FaultConfig, SlidingWindowLimiter, WriteLog

_REASONS = {404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests"}


def create_app(
    world: Any,
    *,
    limits_enabled: bool = True,
    faults: FaultConfig | None = None,
    write_log: WriteLog | None = None,
) -> FastAPI:
    """A FastAPI app serving `world`'s CallRail data under /v3, as
    https://api.callrail.com/v3 does."""
    hourly = SlidingWindowLimiter(HOURLY_LIMIT, 3_600.0)
    daily = SlidingWindowLimiter(DAILY_LIMIT, 86_400.0)
    hourly.enabled = daily.enabled = limits_enabled
    ctx = CrContext(
        world=world, views=Views(), write_log=write_log if write_log is not None else WriteLog()
    )

    def warm() -> None:
        for account in world.callrail_accounts:
            with world_lock(world):
                calls.warm(ctx, account)
                text_messages.warm(ctx, account)

    gate = {
        "api_key": world.credentials[VENDOR]["api_key"],
        "accounts": set(world.callrail_accounts),
        "hourly": hourly,
        "daily": daily,
        "lock": getattr(world, "lock", None),
    }
    return assemble_app(
        vendor=VENDOR,
        world=world,
        state=ctx,
        routers=[routes.router, calls.router, text_messages.router],
        limiters={"hourly": hourly, "daily": daily},
        faults=faults,
        write_log=ctx.write_log,
        warm=warm,
        http_error=_http_error,
        gate=(CallRailGate, gate),
        render_error=_render_fault,
        drift=lambda payload: drift_records(
            payload, "conversation_intelligence", {"sentiment": "positive", "talk_ratio": 0.6}
        ),
    )


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return json_response({"error": _REASONS.get(exc.status_code, str(exc.detail))}, exc.status_code)


def _render_fault(status: int, scope: Scope) -> Rendered:
    if status in (502, 503):
        return gateway_error_page(status)
    message = "Too Many Requests" if status == 429 else "Internal Server Error"
    return rendered_json(status, {"error": message})
