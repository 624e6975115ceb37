"""GoHighLevel webhook receiver: verify each event, store it once in raw, answer fast.

GHL POSTs one JSON event per request (ContactCreate, ContactDelete, OpportunityStageUpdate,
NoteCreate, ...) with `type`, `locationId`, `webhookId` and `timestamp` in the body, signed in the
`x-wh-signature` header: base64 of an RSA-SHA256 (PKCS#1 v1.5) signature over the raw body, made
with GHL's key pair and checked against its published public key (GHL `docs/oauth/
WebhookAuthentication.md`; the key is configurable so that tests and key rotations need no code).

  POST /webhooks/gohighlevel   401 unsigned or wrongly signed (nothing stored)
                               400 not a JSON object with a string webhookId and type
                               413 larger than max_body_bytes (read no further, whatever
                                   the framing: Content-Length or chunked)
                               200 stored, or already stored (a redelivery is acknowledged)
                               503 the warehouse is unreachable: GHL retries later
  GET  /healthz

Events land in raw.ghl_webhook_events keyed by webhookId (insert ... on conflict do nothing),
which is also the replay protection GHL asks for: a replayed event is a duplicate webhookId.
The payload's `timestamp` is therefore not checked by default (GHL's own retries may arrive late);
pass `max_age_s` to reject old events as well.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from psycopg.types.json import Jsonb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger("lazi.webhooks")

PATH = "/webhooks/gohighlevel"
SIGNATURE_HEADER = "x-wh-signature"
MAX_BODY_BYTES = 1_048_576
# Requests whose bodies are read and handled at once; the rest wait (unread, so their bodies
# stay in the kernel's socket buffers). Memory is bounded by this many times max_body_bytes.
MAX_CONCURRENT = 16
# Connections the server keeps at once; beyond them it answers 503 and GHL retries later.
MAX_CONNECTIONS = 256

# GHL's published webhook public key (docs/oauth/WebhookAuthentication.md). Public by design.
GHL_PUBLIC_KEY_PEM = """-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
"""

# Same definition as migrations/0010_ghl_webhook_events.sql, so the receiver also works on a
# warehouse migrated before that file existed.
CREATE_TABLE = """
create table if not exists raw.ghl_webhook_events (
    webhook_id text primary key,
    location_id text,
    event_type text not null,
    received_at timestamptz not null default now(),
    full_data jsonb not null
)
"""
INSERT = """
insert into raw.ghl_webhook_events (webhook_id, location_id, event_type, full_data)
values (%s, %s, %s, %s)
on conflict (webhook_id) do nothing
"""


class BadSignature(Exception):
    pass


class Verifier:
    def __init__(self, public_key_pem: str | bytes) -> None:
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("the GoHighLevel webhook key must be an RSA public key")
        self._key = key

    def verify(self, body: bytes, signature: str | None) -> None:
        if not signature:
            raise BadSignature(f"no {SIGNATURE_HEADER} header")
        try:
            raw = base64.b64decode(signature.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise BadSignature("the signature is not base64") from None
        try:
            self._key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise BadSignature("the signature does not match the body") from None


class Store:
    """A few reusable connections (as the loader role), opened on demand."""

    def __init__(self, warehouse_url: str, loader_role: str | None, size: int) -> None:
        self._url = warehouse_url
        self._options = f"-c role={loader_role}" if loader_role else None
        self._idle: asyncio.LifoQueue[psycopg.AsyncConnection[Any]] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(size)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        kwargs: dict[str, Any] = {"options": self._options} if self._options else {}
        return await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, connect_timeout=10, **kwargs
        )

    async def execute(self, query: str, params: tuple[Any, ...] = ()) -> int:
        """Run one statement; a connection that died while idle is replaced once."""
        async with self._slots:
            for attempt in (1, 2):
                reused = not self._idle.empty()
                conn = self._idle.get_nowait() if reused else await self._connect()
                try:
                    cursor = await conn.execute(query, params)
                except psycopg.OperationalError:
                    await conn.close()
                    if reused and attempt == 1:
                        continue
                    raise
                except BaseException:
                    await self._release(conn)
                    raise
                await self._release(conn)
                return cursor.rowcount
        raise AssertionError("unreachable")

    async def _release(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if conn.closed or conn.broken:
            await conn.close()
        else:
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        while not self._idle.empty():
            await self._idle.get_nowait().close()


def create_webhook_app(
    warehouse_url: str,
    public_key_pem: str | bytes | None = None,
    *,
    loader_role: str | None = "lazi_loader",
    max_body_bytes: int = MAX_BODY_BYTES,
    max_age_s: float | None = None,
    pool_size: int = 4,
    max_concurrent: int = MAX_CONCURRENT,
) -> Starlette:
    """The receiver as an ASGI app. `public_key_pem` defaults to GHL's published key."""
    verifier = Verifier(public_key_pem or GHL_PUBLIC_KEY_PEM)
    store = Store(warehouse_url, loader_role, pool_size)
    handling = asyncio.Semaphore(max_concurrent)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        del app
        await store.execute(CREATE_TABLE)
        try:
            yield
        finally:
            await store.close()

    async def receive(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            return _answer(413, "payload too large")
        async with handling:
            return await handle(request)

    async def handle(request: Request) -> JSONResponse:
        body = await _read_body(request, max_body_bytes)
        if body is None:
            return _answer(413, "payload too large")
        try:
            verifier.verify(body, request.headers.get(SIGNATURE_HEADER))
        except BadSignature as exc:
            log.warning("gohighlevel webhook rejected: %s", exc)
            return _answer(401, str(exc))
        try:
            event = _event(body, max_age_s)
        except ValueError as exc:
            return _answer(400, str(exc))
        try:
            stored = await store.execute(
                INSERT,
                (event["webhookId"], event.get("locationId"), event["type"], Jsonb(event)),
            )
        except psycopg.DataError as exc:  # e.g. a \u0000 jsonb cannot hold
            return _answer(400, f"cannot store the event: {exc.diag.message_primary}")
        except psycopg.Error as exc:
            log.error("gohighlevel webhook %s not stored: %s", event["webhookId"], exc)
            return JSONResponse(
                {"status": "unavailable"}, status_code=503, headers={"Retry-After": "30"}
            )
        return JSONResponse({"status": "stored" if stored else "duplicate"})

    async def healthz(request: Request) -> JSONResponse:
        del request
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route(PATH, receive, methods=["POST"]), Route("/healthz", healthz)],
        lifespan=lifespan,
    )


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it exceeds `limit`: a chunked body declares no length, and
    reading it whole first (Starlette's request.body()) let one 600 MB request take the
    receiver to 1.4 GB."""
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _event(body: bytes, max_age_s: float | None) -> dict[str, Any]:
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(event, dict):
        raise ValueError("the body is not a JSON object")
    for key in ("webhookId", "type"):
        if not isinstance(event.get(key), str) or not event[key].strip():
            raise ValueError(f"`{key}` is missing or not a string")
    location = event.get("locationId")
    if location is not None and not isinstance(location, str):
        raise ValueError("`locationId` is not a string")
    if max_age_s is not None:
        try:
            sent = datetime.fromisoformat(str(event.get("timestamp")))
        except ValueError:
            raise ValueError("`timestamp` is missing or not ISO-8601") from None
        sent = sent.replace(tzinfo=UTC) if sent.tzinfo is None else sent
        if abs((datetime.now(UTC) - sent).total_seconds()) > max_age_s:
            raise ValueError("`timestamp` is outside the accepted window")
    return event


def _answer(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": "rejected", "error": message}, status_code=status)


def serve_webhooks(
    host: str = "127.0.0.1",
    port: int = 8090,
    *,
    warehouse_url: str | None = None,
    public_key_pem: str | None = None,
) -> None:
    """Serve until interrupted (`lazi webhooks serve`). The warehouse is DATABASE_URL or the local
    cluster; the public key is GHL's unless SOURCES__GOHIGHLEVEL__WEBHOOK_PUBLIC_KEY (PEM text)
    or SOURCES__GOHIGHLEVEL__WEBHOOK_PUBLIC_KEY_FILE says otherwise."""
    import uvicorn

    if warehouse_url is None:
        from lazi.db.warehouse import resolve

        warehouse_url = resolve().url
    if public_key_pem is None:
        public_key_pem = os.environ.get("SOURCES__GOHIGHLEVEL__WEBHOOK_PUBLIC_KEY") or None
        key_file = os.environ.get("SOURCES__GOHIGHLEVEL__WEBHOOK_PUBLIC_KEY_FILE")
        if public_key_pem is None and key_file:
            with open(key_file, encoding="utf-8") as handle:
                public_key_pem = handle.read()
    app = create_webhook_app(warehouse_url, public_key_pem)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        limit_concurrency=MAX_CONNECTIONS,
    )
