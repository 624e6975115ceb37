"""HTTP plumbing shared by the GoHighLevel and CallRail stand-ins: JSON answers, the
fault-injection middleware, World-lock handling, the /_sandbox control routes and the
app layout both use."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lazi.sandbox.common import (
    FaultConfig,
    FaultInjector,
    SlidingWindowLimiter,
    WriteLog,
    drop_connection,
    send_truncated,
)

logger = logging.getLogger(__name__)
JSON_TYPE = "application/json; charset=utf-8"
# (status, headers, body) of a response a layer sends instead of, or on behalf of, the routes.
Rendered = tuple[int, list[tuple[bytes, bytes]], bytes]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON_TYPE, headers=headers)


def json_bytes_headers(
    body: bytes, extra: dict[str, str] | None = None
) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", JSON_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    return headers


def rendered_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Rendered:
    """A JSON answer as raw ASGI parts, for layers that answer before (or instead of) the
    routes."""
    raw = orjson.dumps(body)
    return status, json_bytes_headers(raw, headers), raw


async def send_rendered(send: Send, rendered: Rendered) -> None:
    status, headers, body = rendered
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def gateway_error_page(status: int) -> Rendered:
    """502/503 as the load balancer in front of a vendor sends them: an HTML page, not the
    API's JSON, which is exactly what trips clients that always decode error bodies."""
    reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable"}.get(status, "Error")
    body = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    ).encode()
    return (
        status,
        [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())],
        body,
    )


def last_param(request: Request, name: str) -> str | None:
    """Value of a query parameter; when repeated, the last one wins (Rails and Express
    agree on that for scalar parameters)."""
    values = request.query_params.getlist(name)
    return values[-1] if values else None


def url_with(request: Request, path: str, **changes: Any) -> str:
    """Absolute URL of `path` on this host with the request's query parameters (repeated
    ones kept) and `changes` replacing theirs: the next-page links vendors hand out."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    query += [(k, str(v)) for k, v in changes.items()]
    return f"{str(request.base_url).rstrip('/')}{path}?{urlencode(query)}"


def sent_path(request: Request) -> str:
    """The path as the client sent it (gates fold suffixes and slashes before routing)."""
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if raw else request.url.path


async def call_holding(
    lock: Any,
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    crashed: Callable[[], Rendered],
) -> None:
    """Run the app with `lock` (the World's, shared by three apps on three threads) held
    only while it computes: the request body is read before and the response is sent
    after, so a slow client never makes world.advance() in another thread wait.

    A crash becomes the vendor's 500 (`crashed`) here, inside the app: an exception that
    reached uvicorn would make it drop the keep-alive connection, which real APIs don't."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return  # client went away before sending its body
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    try:
        with lock or contextlib.nullcontext():
            # The routes are async but never wait on I/O, so this does not suspend while
            # holding the lock (the response is buffered by _capture).
            rendered = await _capture(app, scope, replay)
    except Exception:
        logger.exception("sandbox app failed on %s %s", scope.get("method"), scope.get("path"))
        rendered = crashed()
    await send_rendered(send, rendered)


# --- fault injection -------------------------------------------------------------------------


class FaultMiddleware:
    """Outermost ASGI layer: asks the injector about every vendor request and acts on it.

    429/5xx replace the request entirely (vendor-rendered body); "slow" delays it; "drop"
    resets the socket before the app runs; "truncate" and "drift" let the app answer, so a
    write still takes effect while the client sees a broken or surprising body.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        injector: FaultInjector,
        render_error: Callable[[int, Scope], Rendered],
        drift: Callable[[Any], Any],
        exempt_prefix: str = "/_sandbox",
    ) -> None:
        self.app = app
        self.injector = injector
        self.render_error = render_error
        self.drift = drift
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        kind = self.injector.pick()
        if kind is None:
            await self.app(scope, receive, send)
        elif kind in ("429", "500", "502", "503"):
            await send_rendered(send, self.render_error(int(kind), scope))
        elif kind == "slow":
            await asyncio.sleep(self.injector.config.slow_s)
            await self.app(scope, receive, send)
        elif kind == "drop":
            await drop_connection(scope)
        else:
            status, headers, body = await _capture(self.app, scope, receive)
            if kind == "truncate":
                await send_truncated(scope, send, status, headers, body)
                return
            if 200 <= status < 300 and body[:1] in (b"{", b"["):
                body = orjson.dumps(self.drift(orjson.loads(body)))
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
            await send_rendered(send, (status, headers, body))


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> Rendered:
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def collect(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, collect)
    return start.get("status", 500), list(start.get("headers", [])), b"".join(chunks)


def drift_records(payload: Any, new_field: str, new_value: Any) -> Any:
    """Schema drift as vendors ship it: every record gains a field nobody announced and its
    numbers and booleans arrive as strings ("42", "false" - truthy, which is the point).
    Records are the dicts inside top-level lists, a top-level dict value with an id
    ({"contact": {...}}) or the body itself when it has an id; envelopes stay intact."""

    def mutate(record: dict[str, Any]) -> None:
        for key, value in list(record.items()):
            if isinstance(value, bool):
                record[key] = str(value).lower()
            elif isinstance(value, int | float):
                record[key] = str(value)
        record[new_field] = new_value

    if not isinstance(payload, dict):
        return payload
    if "id" in payload:  # the record itself (CallRail answers single objects unwrapped)
        mutate(payload)
        return payload
    for value in payload.values():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    mutate(item)
        elif isinstance(value, dict) and "id" in value:
            mutate(value)
    return payload


# --- /_sandbox control routes ----------------------------------------------------------------


class _Advancing(Protocol):
    def advance(self, hours: float = 24.0) -> dict[str, int]: ...


def sandbox_router(
    *,
    vendor: str,
    world: _Advancing,
    limiters: dict[str, SlidingWindowLimiter],
    injector: FaultInjector,
    write_log: WriteLog,
    warm: Callable[[], None] | None = None,
) -> APIRouter:
    """GET /_sandbox/writes, POST /_sandbox/advance, GET /_sandbox/limits, POST
    /_sandbox/limits/reset, GET|POST /_sandbox/faults, as lazi/sandbox/README.md lists them;
    POST /_sandbox/warm builds the indexes ahead of the first client (a cold build reads every
    record once)."""
    router = APIRouter(prefix="/_sandbox")

    @router.get("/writes")
    async def writes() -> Response:
        return json_response(write_log.entries(vendor))

    @router.post("/advance")
    async def advance(hours: float = 24.0) -> Response:
        return json_response(world.advance(hours))

    @router.post("/warm")
    async def warm_up() -> Response:
        started = time.monotonic()
        if warm is not None:
            warm()
        return json_response({"seconds": round(time.monotonic() - started, 3)})

    @router.get("/limits")
    async def limits() -> Response:
        return json_response(
            {
                name: {"limit": lim.limit, "window_s": lim.window_s, "max_seen": lim.snapshot()}
                for name, lim in limiters.items()
            }
        )

    @router.post("/limits/reset")
    async def reset_limits() -> Response:
        for limiter in limiters.values():
            limiter.reset()
        return json_response({"reset": sorted(limiters)})

    @router.get("/faults")
    async def get_faults() -> Response:
        return json_response(injector.config.as_dict())

    @router.post("/faults")
    async def set_faults(request: Request) -> Response:
        raw = await request.body()
        try:
            config = FaultConfig.from_dict(orjson.loads(raw) if raw else {})
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return json_response({"error": str(exc)}, 400)
        injector.configure(config)
        return json_response(config.as_dict())

    return router


# --- app assembly ----------------------------------------------------------------------------


def world_lock(world: Any) -> Any:
    """The World's lock if it has one (three apps touch it from three threads)."""
    return getattr(world, "lock", None) or contextlib.nullcontext()


def assemble_app(
    *,
    vendor: str,
    world: Any,
    state: Any,
    routers: list[APIRouter],
    limiters: dict[str, SlidingWindowLimiter],
    faults: FaultConfig | None,
    write_log: WriteLog,
    warm: Callable[[], None],
    http_error: Callable[[Request, Any], Awaitable[Response]],
    gate: tuple[Callable[..., ASGIApp], dict[str, Any]],
    render_error: Callable[[int, Scope], Rendered],
    drift: Callable[[Any], Any],
) -> FastAPI:
    """The layout both stand-ins share, outermost first: fault injection, the vendor's
    gate (auth, limits, path folding), FastAPI routes; /_sandbox controls beside them.
    app.state carries `state` (the vendor's context), limiters, faults, write_log, warm."""
    injector = FaultInjector(faults or FaultConfig())
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.vendor = state
    app.state.limiters = limiters
    app.state.faults = injector
    app.state.write_log = write_log
    app.state.warm = warm
    for router in routers:
        app.include_router(router)
    app.include_router(
        sandbox_router(
            vendor=vendor,
            world=world,
            limiters=limiters,
            injector=injector,
            write_log=write_log,
            warm=warm,
        )
    )
    app.add_exception_handler(HTTPException, http_error)
    gate_cls, gate_kwargs = gate
    app.add_middleware(gate_cls, **gate_kwargs)
    app.add_middleware(FaultMiddleware, injector=injector, render_error=render_error, drift=drift)
    return app


# --- rate limiting ---------------------------------------------------------------------------
