"""Building blocks shared by the three vendor stand-ins (ServiceTitan, GoHighLevel, CallRail).

Rate limiting, fault injection, the write log and an in-process uvicorn runner. The vendor
apps render their own error bodies; this module only decides *when* something happens and
offers the two transport-level faults (dropped connection, truncated body) that cannot be
expressed as an ordinary ASGI response.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = [
    "FAULT_KINDS",
    "FaultConfig",
    "FaultInjector",
    "RunningServer",
    "SlidingWindowLimiter",
    "WriteLog",
    "drop_connection",
    "send_truncated",
    "serve_in_thread",
]


class SlidingWindowLimiter:
    """Admits at most `limit` requests per key in any `window_s`-long interval.

    A true sliding log rather than fixed buckets, because fixed buckets let 2x the limit
    through across a bucket boundary and the tests assert "never more than N in ANY window".
    """

    def __init__(self, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.enabled = True
        self._lock = threading.Lock()
        self._log: dict[str, deque[float]] = {}
        self._max_seen: dict[str, int] = {}

    def try_acquire(self, key: str) -> float | None:
        """None when the request is admitted, else the seconds until a slot frees up."""
        now = time.monotonic()
        with self._lock:
            log = self._log.setdefault(key, deque())
            horizon = now - self.window_s
            while log and log[0] <= horizon:
                log.popleft()
            if self.enabled and len(log) >= self.limit:
                return max(log[0] + self.window_s - now, 0.001)
            log.append(now)
            # Any window's peak is reached at an admission, so measuring here is exact.
            if len(log) > self._max_seen.get(key, 0):
                self._max_seen[key] = len(log)
            return None

    def remaining(self, key: str) -> int:
        """Admissions left in the current window for `key`, without taking one (vendors such
        as GoHighLevel advertise it in X-RateLimit-Remaining)."""
        horizon = time.monotonic() - self.window_s
        with self._lock:
            in_window = sum(1 for t in self._log.get(key, ()) if t > horizon)
        return max(self.limit - in_window, 0)

    def max_in_any_window(self, key: str) -> int:
        with self._lock:
            return self._max_seen.get(key, 0)

    def snapshot(self) -> dict[str, int]:
        """Highest count seen in one window, per key (served by GET /_sandbox/limits)."""
        with self._lock:
            return dict(self._max_seen)

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
            self._max_seen.clear()


FAULT_KINDS = ("429", "500", "502", "503", "slow", "drop", "truncate", "drift")


@dataclass
class FaultConfig:
    """Per-request probabilities of each fault; they are exclusive and should sum to <= 1."""

    rate_429: float = 0
    rate_5xx: float = 0
    rate_slow: float = 0
    slow_s: float = 2.0
    rate_drop: float = 0
    rate_truncate: float = 0
    rate_schema_drift: float = 0
    seed: int = 0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FaultConfig:
        """Build from a mapping; unknown keys raise, so a typo never silently disables a fault."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, raw in d.items():
            values[name] = int(raw) if name == "seed" else float(raw)
        config = cls(**values)
        config.validate()
        return config

    @classmethod
    def from_env(cls, prefix: str) -> FaultConfig:
        """Read e.g. `<prefix>RATE_429=0.1` from the environment (names are upper-cased fields)."""
        found = {
            f.name: os.environ[prefix + f.name.upper()]
            for f in fields(cls)
            if prefix + f.name.upper() in os.environ
        }
        return cls.from_dict(found)

    def validate(self) -> None:
        rates = [v for k, v in asdict(self).items() if k.startswith("rate_")]
        if any(r < 0 or r > 1 for r in rates) or sum(rates) > 1 + 1e-9:
            raise ValueError("fault rates must each lie in [0, 1] and sum to at most 1")
        if self.slow_s < 0:
            raise ValueError("slow_s must be >= 0")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultInjector:
    """Decides, per request, which fault (if any) to inject. Deterministic for a given seed."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.configure(config)

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> None:
        """Swap settings at runtime (POST /_sandbox/faults); restarts the random stream."""
        config.validate()
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)  # noqa: S311 - test determinism, not crypto
            third = config.rate_5xx / 3
            self._table = [
                ("429", config.rate_429),
                ("500", third),
                ("502", third),
                ("503", third),
                ("slow", config.rate_slow),
                ("drop", config.rate_drop),
                ("truncate", config.rate_truncate),
                ("drift", config.rate_schema_drift),
            ]
            self._active = any(rate > 0 for _, rate in self._table)

    def pick(self) -> str | None:
        if not self._active:  # fast path: benchmarks run with no faults at all
            return None
        with self._lock:
            roll = self._rng.random()
            acc = 0.0
            for kind, rate in self._table:
                acc += rate
                if roll < acc:
                    self.counts[kind] += 1
                    return kind
            return None


class WriteLog:
    """Every write a stand-in accepted, in order, so tests can check what reverse ETL sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def record(self, vendor: str, method: str, path: str, body: object, status: int) -> None:
        entry = {
            "seq": 0,
            "at": time.time(),
            "vendor": vendor,
            "method": method.upper(),
            "path": path,
            "body": body,
            "status": status,
        }
        with self._lock:
            entry["seq"] = len(self._entries) + 1
            self._entries.append(entry)

    def entries(self, vendor: str | None = None) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self._entries if vendor is None or e["vendor"] == vendor]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# --- transport-level faults -------------------------------------------------------------
#
# ASGI has no way to say "close the socket without answering": uvicorn turns an unanswered
# request into a 500. So the server uses a protocol subclass that remembers each live
# connection's transport, keyed by the (server, client) addresses that also appear in scope.

_TRANSPORTS: dict[tuple[Any, Any], asyncio.Transport] = {}


def _conn_key(server: Any, client: Any) -> tuple[Any, Any]:
    return (tuple(server) if server else None, tuple(client) if client else None)


class _TrackingH11Protocol(H11Protocol):
    # Narrower than asyncio.Protocol's BaseTransport, as uvicorn's own override is (uvicorn
    # ignores the same error): the server always hands a protocol a full Transport.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _TRANSPORTS[_conn_key(self.server, self.client)] = transport

    def connection_lost(self, exc: Exception | None) -> None:
        _TRANSPORTS.pop(_conn_key(self.server, self.client), None)
        super().connection_lost(exc)


async def drop_connection(scope: Mapping[str, Any]) -> None:
    """Reset the request's connection without sending a single byte of response.

    The caller must return without sending anything afterwards. Only works for apps run by
    `serve_in_thread`; elsewhere (e.g. a TestClient) it raises RuntimeError.
    """
    transport = _TRANSPORTS.get(_conn_key(scope.get("server"), scope.get("client")))
    if transport is None:
        raise RuntimeError("connection is not tracked; run the app with serve_in_thread")
    transport.abort()
    # Let uvicorn process connection_lost, so it knows not to answer with its own 500.
    await asyncio.sleep(0)


async def send_truncated(
    scope: Mapping[str, Any],
    send: Any,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> None:
    """Announce the full Content-Length, send only part of the body, then cut the connection."""
    cut = max(1, len(body) // 2) if body else 0
    start_headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    start_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
    await drop_connection(scope)


# --- in-process server --------------------------------------------------------------------


@dataclass
class RunningServer:
    """An app served by uvicorn in a daemon thread; `stop()` shuts it down."""

    base_url: str
    host: str
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)


def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve `app` on host:port (0 = any free port) from a daemon thread; returns once listening."""
    # proto must be IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets
    # whose proto says TCP, and without it every keep-alive response stalls ~40 ms (Nagle
    # waiting for the client's delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        http=_TrackingH11Protocol,
        lifespan="off",
        access_log=False,
        log_config=None,  # never reconfigure the host process's logging
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox:{bound_port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            with contextlib.suppress(OSError):
                sock.close()
            raise RuntimeError(f"sandbox server on {host}:{bound_port} failed to start")
        time.sleep(0.005)
    return RunningServer(
        base_url=f"http://{host}:{bound_port}",
        host=host,
        port=bound_port,
        _server=server,
        _thread=thread,
    )
