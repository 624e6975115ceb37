"""GoHighLevel (LeadConnector API v2) stand-in: the app factory."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
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
from lazi.sandbox.common import FaultConfig, SlidingWindowLimiter, WriteLog
from lazi.sandbox.gohighlevel import (
    contacts,
    conversations,
    custom_fields,
    opportunities,
    users,
)
from lazi.sandbox.gohighlevel.base import (
    BURST_LIMIT,
    BURST_WINDOW_S,
    DAILY_LIMIT,
    DAILY_WINDOW_S,
    VENDOR,
    GhlContext,
    GhlGate,
    Settings,
    bearer_token,
    error_body,
    rate_headers,
)


def create_app(
    world: Any,
    *,
    limits_enabled: bool = True,
    faults: FaultConfig | None = None,
    write_log: WriteLog | None = None,
) -> FastAPI:
    """A FastAPI app serving `world`'s GoHighLevel data at the root path, as
    https://services.leadconnectorhq.com does."""
    burst = SlidingWindowLimiter(BURST_LIMIT, BURST_WINDOW_S)
    daily = SlidingWindowLimiter(DAILY_LIMIT, DAILY_WINDOW_S)
    burst.enabled = daily.enabled = limits_enabled
    tokens = {token: loc for loc, token in world.credentials[VENDOR]["tokens"].items()}
    ctx = GhlContext(
        world=world,
        views=Views(),
        write_log=write_log if write_log is not None else WriteLog(),
        settings={loc: Settings() for loc in world.ghl_locations},
    )
    custom_fields.seed(ctx)

    def warm() -> None:
        for location in world.ghl_locations:
            with world_lock(world):
                contacts.warm(ctx, location)
                opportunities.warm(ctx, location)
                conversations.warm(ctx, location)

    def render_fault(status: int, scope: Scope) -> Rendered:
        if status in (502, 503):
            return gateway_error_page(status)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        location = tokens.get(bearer_token(headers.get("authorization", "")))
        if status == 429:
            body = error_body(429, "Too Many Requests")
            return rendered_json(429, body, rate_headers(burst, daily, location))
        return rendered_json(status, error_body(status, "Internal server error"))

    gate = {
        "token_locations": tokens,
        "burst": burst,
        "daily": daily,
        "lock": getattr(world, "lock", None),
    }
    return assemble_app(
        vendor=VENDOR,
        world=world,
        state=ctx,
        routers=[
            contacts.router,
            opportunities.router,
            conversations.router,
            users.router,
            custom_fields.router,
            _settings_router(ctx),
        ],
        limiters={"burst": burst, "daily": daily},
        faults=faults,
        write_log=ctx.write_log,
        warm=warm,
        http_error=_not_found,
        gate=(GhlGate, gate),
        render_error=render_fault,
        drift=lambda payload: drift_records(
            payload, "attributionScore", {"model": "v2", "score": 0.82}
        ),
    )


async def _not_found(request: Request, exc: HTTPException) -> Response:
    # Express answers unknown routes and unsupported methods alike with 404.
    if exc.status_code in (404, 405):
        message = f"Cannot {request.method} {request.url.path}"
        return json_response(error_body(404, message), 404)
    return json_response(error_body(exc.status_code, str(exc.detail)), exc.status_code)


def _settings_router(ctx: GhlContext) -> APIRouter:
    """GET/POST /_sandbox/settings: each location's duplicate-contact settings."""
    router = APIRouter(prefix="/_sandbox")

    @router.get("/settings")
    async def get_settings() -> Response:
        return json_response({loc: vars(s) for loc, s in ctx.settings.items()})

    @router.post("/settings")
    async def set_settings(request: Request) -> Response:
        """{"locationId", "allow_duplicate_contact": bool, "duplicate_fields": [...]}"""
        body = orjson.loads(await request.body() or b"{}")
        settings = ctx.settings.get(body.get("locationId"))
        if settings is None:
            return json_response({"error": "unknown locationId"}, 400)
        if "allow_duplicate_contact" in body:
            settings.allow_duplicate_contact = bool(body["allow_duplicate_contact"])
        if "duplicate_fields" in body:
            fields = list(body["duplicate_fields"])
            if not set(fields) <= {"email", "phone"}:
                return json_response({"error": "duplicate_fields: email and/or phone"}, 400)
            settings.duplicate_fields = fields
        return json_response(vars(settings))

    return router
