"""A polite, resilient JSON client for vendor APIs.

- throttles before the documented limit (see throttle.py), per scope key;
- retries 429, 5xx, timeouts, dropped connections and truncated bodies with exponential backoff,
  honouring Retry-After;
- refreshes credentials once on a 401 (expired token) before giving up;
- raises SourceError naming the endpoint and the vendor's message when retries are exhausted.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx
import orjson

from dlt_pipelines.common.errors import SourceError
from dlt_pipelines.common.throttle import Layered, SlidingWindowThrottle, Unlimited

log = logging.getLogger("lazi.sources")

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class Auth(Protocol):
    def headers(self) -> Mapping[str, str]: ...

    def invalidate(self) -> None: ...


class StaticAuth:
    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def headers(self) -> Mapping[str, str]:
        return self._headers

    def invalidate(self) -> None:
        """Static credentials cannot be refreshed; a second 401 ends the request."""


class ApiClient:
    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        auth: Auth,
        throttle: SlidingWindowThrottle | Layered | Unlimited | None = None,
        throttle_key: str = "",
        timeout_s: float = 100.0,
        max_attempts: int = 8,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 60.0,
        error_message: Callable[[httpx.Response], str] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.throttle = throttle or Unlimited()
        self.throttle_key = throttle_key
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.error_message = error_message or default_error_message
        self.requests_made: Counter[str] = Counter()
        self._http = client or httpx.Client(timeout=timeout_s, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, endpoint: str) -> Any:
        return self.request("GET", path, params=params, endpoint=endpoint)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        endpoint: str,
    ) -> Any:
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        refreshed = False
        last_problem = "no attempt made"
        for attempt in range(1, self.max_attempts + 1):
            self.throttle.wait(self.throttle_key)
            self.requests_made[endpoint] += 1
            try:
                with self._http.stream(
                    method,
                    url,
                    params=_clean(params),
                    content=orjson.dumps(json) if json is not None else None,
                    headers={
                        **self.auth.headers(),
                        "Accept": "application/json",
                        **({"Content-Type": "application/json"} if json is not None else {}),
                    },
                ) as response:
                    # The whole body is read here, so a cut connection raises here. A page is
                    # joined from its chunks rather than read(): read() keeps the body on the
                    # response, which httpx leaves in a reference cycle that only the cycle
                    # collector frees, and pages (megabytes each) piled up until it ran.
                    if response.status_code >= 400:
                        body = response.read()  # the vendor's error message
                    else:
                        body = b"".join(response.iter_bytes())
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
                self._pause(attempt, None, endpoint, last_problem)
                continue
            status = response.status_code
            if status == 401 and not refreshed:
                # Tokens expire (ServiceTitan: 15 minutes); fetch a new one once, then retry.
                refreshed = True
                self.auth.invalidate()
                continue
            if status in RETRY_STATUSES:
                last_problem = f"HTTP {status}: {self.error_message(response)}"
                self._pause(attempt, _retry_after(response), endpoint, last_problem)
                continue
            if status >= 400:
                raise SourceError(self.vendor, endpoint, self.error_message(response), status)
            if not body:
                return None
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                # A body cut short with a complete header is a transport fault: retry it.
                last_problem = f"malformed JSON body ({len(body)} bytes)"
                self._pause(attempt, None, endpoint, last_problem)
        raise SourceError(
            self.vendor,
            endpoint,
            f"gave up after {self.max_attempts} attempts; last: {last_problem}",
        )

    def _pause(self, attempt: int, retry_after: float | None, endpoint: str, problem: str) -> None:
        if attempt >= self.max_attempts:
            return
        backoff = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        delay = max(retry_after or 0.0, backoff * (0.5 + random.random() / 2))  # noqa: S311
        log.warning(
            "%s %s: %s; retry %d/%d in %.1f s",
            self.vendor,
            endpoint,
            problem,
            attempt,
            self.max_attempts - 1,
            delay,
        )
        time.sleep(delay)


def default_error_message(response: httpx.Response) -> str:
    """The vendor's own words: `message`, `title`, `error` or `errors` from a JSON body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip() or response.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "title", "error_description", "error", "errors", "msg"):
            value = body.get(key)
            if value:
                return value if isinstance(value, str) else orjson.dumps(value).decode()[:300]
    return orjson.dumps(body).decode()[:300]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(float(value), 300.0)
    except ValueError:
        return None


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {
        key: ("true" if v is True else "false" if v is False else v)
        for key, v in params.items()
        if v is not None
    }
