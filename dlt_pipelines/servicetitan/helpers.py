"""ServiceTitan auth (OAuth2 client credentials + ST-App-Key) and its two ways of paging."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from dlt_pipelines.common.errors import SourceError
from dlt_pipelines.common.http import ApiClient, default_error_message
from dlt_pipelines.servicetitan.settings import MAX_PAGE_SIZE, TOKEN_REFRESH_MARGIN_S


class ClientCredentialsAuth:
    """Tokens are per tenant and live 15 minutes; fetch lazily and refresh ahead of expiry."""

    def __init__(
        self, auth_url: str, app_key: str, client_id: str, client_secret: str, http: httpx.Client
    ) -> None:
        self._auth_url = auth_url
        self._app_key = app_key
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = http
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def headers(self) -> Mapping[str, str]:
        with self._lock:
            if self._token is None or time.monotonic() > self._expires_at:
                self._fetch()
            return {"Authorization": f"Bearer {self._token}", "ST-App-Key": self._app_key}

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> None:
        response = None
        for attempt in range(4):  # the token endpoint has transient faults like any other
            try:
                response = self._http.post(
                    self._auth_url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self._client_id,
                        "client_secret": self._client_secret,
                    },
                )
            except httpx.HTTPError as exc:
                if attempt == 3:
                    message = f"cannot reach the token endpoint: {exc}"
                    raise SourceError("servicetitan", "token", message) from None
                time.sleep(2**attempt)
                continue
            if response.status_code < 500 and response.status_code != 429:
                break
            time.sleep(2**attempt)
        assert response is not None
        if response.status_code != 200:
            raise SourceError(
                "servicetitan", "token", default_error_message(response), response.status_code
            )
        body = response.json()
        self._token = body["access_token"]
        lifetime = float(body.get("expires_in", 900))
        self._expires_at = time.monotonic() + max(0.0, lifetime - TOKEN_REFRESH_MARGIN_S)


def export_pages(
    client: ApiClient, path: str, start: str | None, *, endpoint: str
) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
    """Follow `continueFrom` until `hasMore` is false. `start` is a token or a date ("from")."""
    token = start
    while True:
        body = client.get(path, {"from": token}, endpoint=endpoint)
        data = body.get("data") or []
        token = body.get("continueFrom") or token
        yield data, token
        if not body.get("hasMore"):
            return


def list_pages(
    client: ApiClient,
    path: str,
    params: Mapping[str, Any],
    *,
    endpoint: str,
) -> Iterator[list[dict[str, Any]]]:
    """page/pageSize paging (page starts at 1) until `hasMore` is false."""
    page = 1
    while True:
        body = client.get(
            path, {**params, "page": page, "pageSize": MAX_PAGE_SIZE}, endpoint=endpoint
        )
        yield body.get("data") or []
        if not body.get("hasMore"):
            return
        page += 1


def modified_cursor(records: list[dict[str, Any]], current: str | None) -> str | None:
    """Highest modifiedOn seen, kept as the vendor wrote it."""
    best = current
    for record in records:
        value = record.get("modifiedOn")
        if isinstance(value, str) and (best is None or _ts(value) > _ts(best)):
            best = value
    return best


def rewind(cursor: str, seconds: int) -> str:
    """A small overlap guards against clock skew and same-instant edits; raw dedupes it."""
    return (_ts(cursor) - timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)
