"""OAuth2 client-credentials tokens and the two-header check every ServiceTitan call needs."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

TOKEN_TTL_S = 900  # ServiceTitan access tokens live 15 minutes
SCOPE = "tn.crm.customers tn.jpm.jobs tn.dispatch tn.accounting tn.settings tn.pricebook tn.telecom"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Grant:
    client_id: str
    tenant: int
    expires_at: float


class TokenStore:
    """Issues JWT-shaped opaque tokens per tenant client and checks them on API calls."""

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        ttl_s: float = TOKEN_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_key: str = credentials["app_key"]
        self._clients = {
            str(c["client_id"]): (int(tenant), str(c["client_secret"]))
            for tenant, c in credentials["tenants"].items()
        }
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}

    def issue(self, client_id: str, client_secret: str) -> dict[str, Any] | None:
        """The token response for valid client credentials, else None."""
        client = self._clients.get(client_id)
        if client is None or not secrets.compare_digest(client[1], client_secret):
            return None
        now = self._clock()
        expires_at = now + self.ttl_s
        claims = {"client_id": client_id, "tenant": str(client[0]), "iat": int(now)}
        claims["exp"] = int(expires_at)
        token = ".".join(
            (
                _b64(orjson.dumps({"alg": "RS256", "typ": "at+jwt"})),
                _b64(orjson.dumps(claims)),
                _b64(secrets.token_bytes(32)),
            )
        )
        with self._lock:
            # Drop expired grants so long-running demos don't accumulate them.
            self._grants = {t: g for t, g in self._grants.items() if g.expires_at > now}
            self._grants[token] = Grant(client_id, client[0], expires_at)
        return {
            "access_token": token,
            "expires_in": int(self.ttl_s),
            "token_type": "Bearer",
            "scope": SCOPE,
        }

    def check(self, authorization: str | None, app_key: str | None) -> tuple[Grant | None, str]:
        """(grant, "") when both headers are valid, else (None, why)."""
        if not app_key or not secrets.compare_digest(app_key, self.app_key):
            return None, "The ST-App-Key header is missing or invalid"
        token = _access_token(authorization)
        if not token:
            return None, "The Authorization header is missing or holds no access token"
        with self._lock:
            grant = self._grants.get(token)
        if grant is None:
            return None, "The access token is invalid"
        if grant.expires_at <= self._clock():
            return None, "The access token has expired"
        return grant, ""


def _access_token(authorization: str | None) -> str:
    """The token of `Bearer <token>` or of a bare `<token>`, else "".

    The spec asks for the Bearer scheme, but production also answers clients that send the
    access token alone; any other scheme (Basic, ...) is still refused.
    """
    value = (authorization or "").strip()
    scheme, space, token = value.partition(" ")
    if not space:
        return value
    return token.strip() if scheme.lower() == "bearer" else ""
