"""Push 3, CallRail calls <- revenue: `PUT /v3/a/{account}/calls/{id}.json` with the fields of
marts.sync_callrail_calls, and a row in sync.callrail_conversion_log per conversion sent.

Credentials are the CallRail source's (SOURCES__CALLRAIL__API_KEY and __BASE_URL in the
environment, or [sources.callrail] in .dlt/secrets.toml). PUT is idempotent, so a delivery
repeated after a kill changes nothing at CallRail. Tags are appended (`append_tags`), so the
tags people set on a call stay."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.types.json import Jsonb

from lazi.errors import LaziError
from lazi.reverse_etl.delivery import Request
from lazi.reverse_etl.queue import Claim
from lazi.reverse_etl.targets import Endpoint, InvalidPayload, Target

VENDOR = "callrail"
# The call fields a PUT may set, and the JSON types CallRail takes for each.
WRITABLE: dict[str, tuple[type, ...]] = {
    "tags": (list,),
    "append_tags": (bool,),
    "note": (str,),
    "value": (int, float, str),
    "lead_status": (str,),
    "customer_name": (str,),
    "spam": (bool,),
}


def endpoint() -> Endpoint:
    import dlt

    from dlt_pipelines.callrail.helpers import token_auth
    from dlt_pipelines.callrail.settings import DEFAULT_BASE_URL

    api_key: str | None = dlt.secrets.get("sources.callrail.api_key")
    if not api_key:
        raise LaziError(
            "no CallRail credentials: set SOURCES__CALLRAIL__API_KEY (see README) to push "
            "to CallRail"
        )
    base_url: str = dlt.config.get("sources.callrail.base_url") or DEFAULT_BASE_URL
    return Endpoint(str(base_url), dict(token_auth(str(api_key)).headers()))


def call_update(held: Claim, to: Endpoint) -> Request:
    payload = held.payload
    if not isinstance(payload, dict):
        kind = type(payload).__name__ if payload is not None else "null"
        raise InvalidPayload(f"expected a JSON object of CallRail call fields, got {kind}")
    unknown = sorted(set(payload) - set(WRITABLE))
    if unknown:
        raise InvalidPayload(f"not writable CallRail call fields: {', '.join(unknown)}")
    wrong = sorted(
        name
        for name, value in payload.items()
        if value is not None and not isinstance(value, WRITABLE[name])
    )
    if wrong or not all(isinstance(t, str) for t in payload.get("tags") or []):
        raise InvalidPayload(f"wrong JSON type for {', '.join(wrong) or 'tags'}")
    path = _call_path(held)
    body = dict(payload)
    if "tags" in body:
        body.setdefault("append_tags", True)
    return Request(
        method="PUT",
        base_url=to.base_url,
        path=path,
        body=body,
        headers=to.headers,
        error_message=_error_message,
    )


def _call_path(held: Claim) -> str:
    account, _, call = held.entity_id.partition("/")
    if not account or not call:
        raise InvalidPayload(f"entity id {held.entity_id!r} is not <account>/<call id>")
    return f"/v3/a/{quote(account, safe='')}/calls/{quote(call, safe='')}.json"


def call_read(held: Claim, to: Endpoint) -> Request:
    """GET the call with its writable fields (the conflict check before a write)."""
    fields = ",".join(name for name in WRITABLE if name not in ("append_tags", "spam"))
    return Request(
        method="GET",
        base_url=to.base_url,
        path=f"{_call_path(held)}?fields={fields}",
        body=None,
        headers=to.headers,
        error_message=_error_message,
    )


def same(name: str, a: Any, b: Any) -> bool:
    """CallRail answers value as a string ("12.50"), the warehouse holds numbers; an empty
    note or value reads as absent; tags compare as sets."""
    if name == "value":
        return _number(a) == _number(b)
    if name == "tags":
        return set(a or []) == set(b or [])
    return (a if a != "" else None) == (b if b != "" else None)


def _error_message(response: Any) -> str:
    from dlt_pipelines.callrail.helpers import error_message

    return error_message(response)


def log_conversion(conn: psycopg.Connection, held: Claim, body: Any, response: Any) -> None:
    account, _, call = held.entity_id.partition("/")
    payload = {name: value for name, value in body.items() if name != "append_tags"}
    tags = payload.get("tags")
    conn.execute(
        """
        insert into sync.callrail_conversion_log (
            queue_id, account_id, call_id, value, lead_status, tags, sent_fields, response
        ) values (%s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            held.id,
            account,
            call,
            _number(payload.get("value")),
            payload.get("lead_status"),
            tags if isinstance(tags, list) else None,
            Jsonb(payload),
            Jsonb(response),
        ),
    )


def _number(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except ArithmeticError:
        return None


CALLS = Target(
    name="callrail_calls",
    vendor=VENDOR,
    entity_type="callrail_call",
    operation="update",
    model=("marts", "sync_callrail_calls"),
    scope_column="account_id",
    endpoint=endpoint,
    request=call_update,
    delivered=log_conversion,
    current=call_read,
    current_fields=lambda answer: dict(answer) if isinstance(answer, dict) else {},
    same=same,
    merge_rules="callrail_calls",
)
