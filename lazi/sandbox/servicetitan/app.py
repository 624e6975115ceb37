"""The ServiceTitan stand-in: a FastAPI app over a World, faithful to the real API's behaviour.

Every API request goes through one pipeline, in the order the real stack applies it:
route match (APIM) -> ST-App-Key + bearer token -> per (app key, tenant) rate limit ->
injected fault, if any -> parameter/body binding (ASP.NET) -> handler -> JSON via orjson.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from lazi.sandbox.common import (
    FaultConfig,
    FaultInjector,
    SlidingWindowLimiter,
    WriteLog,
    drop_connection,
    send_truncated,
)
from lazi.sandbox.servicetitan import handlers
from lazi.sandbox.servicetitan.auth import TOKEN_TTL_S, TokenStore
from lazi.sandbox.servicetitan.errors import (
    JSON,
    Rejected,
    api_error,
    gateway_error,
    json_response,
    oauth_error,
    rate_limited,
    route_not_found,
    unauthorized,
    validation_error,
)
from lazi.sandbox.servicetitan.listing import ListCache
from lazi.sandbox.servicetitan.params import BindError
from lazi.sandbox.servicetitan.routing import Router
from lazi.sandbox.servicetitan.shapes import drift_body
from lazi.sandbox.servicetitan.stores import ExternalDataStore, NoteStore
from lazi.sandbox.servicetitan.validate import BodyErrors

VENDOR = "servicetitan"
logger = logging.getLogger(__name__)
RATE_LIMIT = 60  # requests per second per (app key, tenant)
DEFAULT_EXPORT_PAGE_SIZE = 500
_FAULT_STATUS_MESSAGES = {
    "502": "Bad Gateway",
    "503": "Service Unavailable",
}


@dataclass
class ServiceTitanState:
    """Everything one app instance owns; reachable as app.state.sandbox for tests and tools."""

    world: Any
    tokens: TokenStore
    limiter: SlidingWindowLimiter
    faults: FaultInjector
    write_log: WriteLog
    export_page_size: int = DEFAULT_EXPORT_PAGE_SIZE
    # Benchmarks only: serialized export pages, so the stand-in's own record generation does
    # not bound the client being measured. Keys include the collection's end position, so any
    # change to the data makes new pages instead of serving stale ones.
    export_cache: dict[tuple[Any, ...], bytes] | None = None
    external: ExternalDataStore = field(default_factory=ExternalDataStore)
    notes: NoteStore = field(default_factory=NoteStore)
    cache: ListCache = field(default_factory=ListCache)

    def now_iso(self) -> str:
        now = self.world.now.astimezone(UTC)
        return f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}Z"


class _DroppedResponse(Response):
    """Closes the connection without answering (a load balancer resetting it)."""

    def __init__(self) -> None:
        super().__init__(status_code=500)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await drop_connection(scope)


class _TruncatedResponse(Response):
    """Declares the full Content-Length but sends only half the body, then hangs up."""

    def __init__(self, payload: bytes, status: int) -> None:
        super().__init__(status_code=status)
        self.payload = payload

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", JSON.encode())]
        await send_truncated(scope, send, self.status_code, headers, self.payload)


def _fault_response(kind: str) -> Response | None:
    if kind == "429":
        return rate_limited(1.0)
    if kind == "500":
        return api_error(500, "An unexpected error occurred while processing the request.")
    if kind in _FAULT_STATUS_MESSAGES:
        return gateway_error(int(kind), _FAULT_STATUS_MESSAGES[kind])
    if kind == "drop":
        return _DroppedResponse()
    return None


def create_app(
    world: Any,
    *,
    limits_enabled: bool = True,
    faults: FaultConfig | FaultInjector | None = None,
    write_log: WriteLog | None = None,
    token_ttl_s: float = TOKEN_TTL_S,
    export_page_size: int = DEFAULT_EXPORT_PAGE_SIZE,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """Build the ServiceTitan app over `world`.

    token_ttl_s shortens token lifetime for tests; export_page_size is the server-chosen
    export page size (benchmarks raise it); clock is wall time used for token expiry.
    """
    limiter = SlidingWindowLimiter(RATE_LIMIT, 1.0)
    limiter.enabled = limits_enabled
    injector = (
        faults if isinstance(faults, FaultInjector) else FaultInjector(faults or FaultConfig())
    )
    state = ServiceTitanState(
        world=world,
        tokens=TokenStore(world.credentials[VENDOR], ttl_s=token_ttl_s, clock=clock),
        limiter=limiter,
        faults=injector,
        write_log=write_log if write_log is not None else WriteLog(),
        export_page_size=export_page_size,
    )
    router = Router()
    handlers.register(router)

    app = FastAPI(title="ServiceTitan sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = state

    @app.post("/connect/token")
    @app.post("/connect/token/")
    async def token(request: Request) -> Response:
        return await _token(state, request)

    _control_routes(app, state)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def api(request: Request) -> Response:
        return await _dispatch(state, router, request)

    return app


async def _token(state: ServiceTitanState, request: Request) -> Response:
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" not in content_type.lower():
        return oauth_error("invalid_request")
    form = dict(
        parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    )
    if form.get("grant_type") != "client_credentials":
        return oauth_error(
            "unsupported_grant_type" if form.get("grant_type") else "invalid_request"
        )
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    basic = request.headers.get("authorization", "")
    if not client_id and basic.lower().startswith("basic "):
        # RFC 6749 also allows client credentials in an HTTP Basic header.
        try:
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        except ValueError:
            return oauth_error("invalid_client")
    issued = state.tokens.issue(client_id, client_secret)
    if issued is None:
        return oauth_error("invalid_client")
    return json_response(issued, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def _dispatch(state: ServiceTitanState, router: Router, request: Request) -> Response:
    found = router.match(request.method, request.url.path)
    if found is None:
        return route_not_found()
    route, path_params = found
    grant, why = state.tokens.check(
        request.headers.get("authorization"), request.headers.get("st-app-key")
    )
    if grant is None:
        return unauthorized(why)
    try:
        tenant = int(path_params["tenant"])
    except ValueError:
        return validation_error({"tenant": [f"The value '{path_params['tenant']}' is not valid."]})
    if tenant != grant.tenant:
        return api_error(403, "The client is not authorized for this tenant.")
    wait = state.limiter.try_acquire(f"{state.tokens.app_key}:{tenant}")
    if wait is not None:
        return rate_limited(wait)

    fault = state.faults.pick()
    if fault:
        early = _fault_response(fault)
        if early is not None:
            return early
        if fault == "slow":
            await asyncio.sleep(state.faults.config.slow_s)

    body: Any = None
    content_type = request.headers.get("content-type", "")
    if request.method != "GET" and handlers.is_json(content_type):
        # Non-JSON bodies stay unread: endpoints that take a body answer 415 for them.
        raw = await request.body()
        if raw.strip():
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return validation_error(
                    {"$": ["The JSON value could not be parsed. Path: $ | LineNumber: 0."]}
                )
    call = handlers.Call(
        state=state,
        tenant=tenant,
        path=path_params,
        query=request.url.query,
        body=body,
        content_type=content_type,
    )
    try:
        # Three apps on three threads share the World; if it offers a lock, hold it so a
        # page is read from one consistent state.
        with getattr(state.world, "lock", None) or contextlib.nullcontext():
            status, payload = route.target(call)
    except (BindError, BodyErrors) as exc:
        return validation_error(exc.errors)
    except Rejected as exc:
        return exc.response
    except Exception:
        # A bug in the stand-in must still look like ServiceTitan's 500, not a bare text.
        logger.exception("ServiceTitan sandbox failed on %s %s", request.method, request.url.path)
        return api_error(500, "An unexpected error occurred while processing the request.")
    if request.method != "GET" and 200 <= status < 300:
        state.write_log.record(VENDOR, request.method, request.url.path, body, status)
    if fault == "drift":
        payload = drift_body(payload)
    if isinstance(payload, bytes):
        data = payload  # a cached export page, already serialized
    else:
        data = b"" if payload is None else orjson.dumps(payload)
    if fault == "truncate" and data:
        return _TruncatedResponse(data, status)
    return Response(data, status_code=status, media_type=JSON if data else None)


def _control_routes(app: FastAPI, state: ServiceTitanState) -> None:
    """/_sandbox/*: test and demo controls; never part of the vendor API."""

    @app.get("/_sandbox/writes")
    async def writes() -> Response:
        return json_response(state.write_log.entries(VENDOR))

    @app.post("/_sandbox/advance")
    async def advance(hours: float = 24.0) -> Response:
        changes = state.world.advance(hours)
        return json_response({"now": state.world.now.isoformat(), "changes": changes})

    @app.get("/_sandbox/limits")
    async def limits() -> Response:
        return json_response(
            {
                "limit": state.limiter.limit,
                "window_s": state.limiter.window_s,
                "enabled": state.limiter.enabled,
                "max_in_any_window": state.limiter.snapshot(),
            }
        )

    @app.post("/_sandbox/limits")
    async def set_limits(enabled: bool) -> Response:
        state.limiter.enabled = enabled
        return json_response({"enabled": enabled})

    @app.get("/_sandbox/faults")
    async def get_faults() -> Response:
        return json_response(
            {"config": state.faults.config.as_dict(), "counts": state.faults.counts}
        )

    @app.post("/_sandbox/faults")
    async def set_faults(request: Request) -> Response:
        try:
            raw = await request.body()
            config = FaultConfig.from_dict(orjson.loads(raw) if raw.strip() else {})
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        state.faults.configure(config)
        return json_response({"config": config.as_dict()})

    @app.post("/_sandbox/config")
    async def set_config(request: Request) -> Response:
        settings = orjson.loads(await request.body() or b"{}")
        if "export_page_size" in settings:
            state.export_page_size = max(1, int(settings["export_page_size"]))
        if "export_cache" in settings:
            state.export_cache = {} if settings["export_cache"] else None
        return json_response(
            {
                "export_page_size": state.export_page_size,
                "export_cache": state.export_cache is not None,
            }
        )
