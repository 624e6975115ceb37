"""One request to a vendor and what its answer means for the queue row: `done`, `retry`
(429, 5xx, timeouts, dropped connections, bodies cut short) or `failed` (any other 4xx:
it would fail the same way again). Retrying is the queue's job, never a loop here."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson

from dlt_pipelines.common.http import RETRY_STATUSES, default_error_message

Kind = Literal["done", "retry", "failed"]
MAX_RETRY_AFTER_S = 3_600.0


@dataclass(frozen=True)
class Request:
    method: str
    base_url: str
    path: str  # what audit.api_log shows: no host, no credentials
    body: Any  # JSON; None sends no body
    headers: Mapping[str, str]
    error_message: Callable[[httpx.Response], str] = default_error_message


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    method: str
    path: str
    status: int | None
    milliseconds: int
    message: str = ""
    retry_after_s: float | None = None
    request_id: str | None = None
    response: Any = None


def send(http: httpx.Client, request: Request) -> Outcome:
    started = time.perf_counter()

    def outcome(kind: Kind, status: int | None, message: str = "", **extra: Any) -> Outcome:
        ms = int((time.perf_counter() - started) * 1000)
        return Outcome(kind, request.method, request.path, status, ms, message, **extra)

    try:
        response = http.request(
            request.method,
            request.base_url.rstrip("/") + request.path,
            content=None if request.body is None else orjson.dumps(request.body),
            headers={
                **request.headers,
                "Accept": "application/json",
                **({} if request.body is None else {"Content-Type": "application/json"}),
            },
        )
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        return outcome("retry", None, f"{type(exc).__name__}: {exc}")
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    if status in RETRY_STATUSES:
        return outcome(
            "retry",
            status,
            f"HTTP {status}: {request.error_message(response)}",
            retry_after_s=retry_after(response),
            request_id=request_id,
        )
    if status >= 400:
        message = f"HTTP {status}: {request.error_message(response)}"
        return outcome("failed", status, message, request_id=request_id)
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        # a 2xx cut short: the write may or may not be applied; sending it again is safe
        # for the idempotent writes the targets make
        message = f"malformed JSON body ({len(response.content)} bytes)"
        return outcome("retry", status, message, request_id=request_id)
    return outcome("done", status, response=body, request_id=request_id)


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the delta form; an HTTP date is treated as absent)."""
    value = response.headers.get("Retry-After")
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_S) if value else None
    except ValueError:
        return None
