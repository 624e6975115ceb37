"""Push 1, GoHighLevel contacts <- ServiceTitan facts, and push 5, GoHighLevel opportunities <-
ServiceTitan outcomes (marts.sync_ghl_contacts and marts.sync_ghl_opportunities).

Credentials are the GoHighLevel source's (SOURCES__GOHIGHLEVEL__LOCATIONS: a token per
location, and __BASE_URL), so a row goes out with its own location's token.

Contacts: a matched contact is updated (`PUT /contacts/{id}`, its id in the row's read_state);
a ServiceTitan customer without one is created with `POST /contacts/upsert`, which matches on
email and phone (sent only there, never to a matched contact): a delivery repeated after a
kill finds the contact the first one created instead of adding a second, and
sync.ghl_contact_upserts records which it was (`new`).
Custom fields are written by key (`contact.<key>`); before the first write of a run to a
location, the keys a row uses are looked up (`GET /locations/{id}/customFields`) and the
missing ones created (POST), through the same rate limit and audit log as every request.

Opportunities: `PUT /opportunities/{id}` with the won stage, status and monetary value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import psycopg

from lazi.errors import LaziError
from lazi.reverse_etl.delivery import Outcome, Request
from lazi.reverse_etl.queue import Claim, LeaseLost
from lazi.reverse_etl.targets import Endpoint, InvalidPayload, Target

VENDOR = "gohighlevel"
CONTACT_FIELDS: dict[str, tuple[type, ...]] = {
    "firstName": (str,),
    "lastName": (str,),
    "name": (str,),
    "email": (str,),
    "phone": (str,),
    "companyName": (str,),
    "address1": (str,),
    "city": (str,),
    "state": (str,),
    "postalCode": (str,),
    "website": (str,),
    "timezone": (str,),
    "source": (str,),
    "dnd": (bool,),
    "tags": (list,),
    "customFields": (dict,),
}
OPPORTUNITY_FIELDS: dict[str, tuple[type, ...]] = {
    "pipelineId": (str,),
    "pipelineStageId": (str,),
    "status": (str,),
    "monetaryValue": (int, float, Decimal),
    "name": (str,),
    "assignedTo": (str,),
}
READ_FIELDS = ("firstName", "lastName", "tags")
IDENTITY = ("email", "phone")
Send = Callable[[Request], Outcome | None]


@dataclass(frozen=True)
class GhlEndpoint(Endpoint):
    tokens: Mapping[str, str] = field(default_factory=dict)  # location -> token
    # location -> the contact custom field keys it has, as found during this run
    field_keys: dict[str, set[str]] = field(default_factory=dict)

    def for_location(self, location: str) -> dict[str, str]:
        from dlt_pipelines.gohighlevel.helpers import location_auth

        token = self.tokens.get(location)
        if not token:
            raise InvalidPayload(f"no GoHighLevel token configured for location {location!r}")
        return {**self.headers, **location_auth(token).headers()}


def endpoint() -> GhlEndpoint:
    import dlt

    from dlt_pipelines.common.errors import ConfigError
    from dlt_pipelines.gohighlevel import _locations
    from dlt_pipelines.gohighlevel.settings import DEFAULT_BASE_URL

    configured: Any = dlt.secrets.get("sources.gohighlevel.locations")
    if not configured:
        raise LaziError(
            "no GoHighLevel credentials: set SOURCES__GOHIGHLEVEL__LOCATIONS (see README) to "
            "push to GoHighLevel"
        )
    try:
        locations = _locations(configured)
    except ConfigError as exc:
        raise LaziError(str(exc)) from None
    base_url: str = dlt.config.get("sources.gohighlevel.base_url") or DEFAULT_BASE_URL
    tokens = {loc["location_id"]: str(loc["token"]) for loc in locations}
    return GhlEndpoint(str(base_url), {}, tokens=tokens)


def _ghl(to: Endpoint) -> GhlEndpoint:
    if not isinstance(to, GhlEndpoint):
        raise TypeError("a GoHighLevel push needs a GhlEndpoint")
    return to


def _checked(payload: Any, writable: dict[str, tuple[type, ...]], what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        kind = type(payload).__name__ if payload is not None else "null"
        raise InvalidPayload(f"expected a JSON object of GoHighLevel {what} fields, got {kind}")
    unknown = sorted(set(payload) - set(writable))
    if unknown:
        raise InvalidPayload(f"not writable GoHighLevel {what} fields: {', '.join(unknown)}")
    wrong = sorted(
        name
        for name, value in payload.items()
        if value is not None
        and (
            not isinstance(value, writable[name])
            or (isinstance(value, bool) and bool not in writable[name])
        )
    )
    if wrong:
        raise InvalidPayload(f"wrong JSON type for {', '.join(wrong)}")
    return payload


def _error_message(response: Any) -> str:
    from dlt_pipelines.gohighlevel.helpers import error_message

    return error_message(response)


def _request(method: str, to: Endpoint, location: str, path: str, body: Any) -> Request:
    return Request(
        method=method,
        base_url=to.base_url,
        path=path,
        body=body,
        headers=_ghl(to).for_location(location),
        error_message=_error_message,
    )


# --- contacts ----------------------------------------------------------------------------------


def _contact_id(held: Claim) -> str | None:
    read = held.read_state if isinstance(held.read_state, dict) else {}
    contact_id = read.get("id")
    return contact_id if isinstance(contact_id, str) and contact_id else None


def contact_write(held: Claim, to: Endpoint) -> Request:
    payload = dict(_checked(held.payload, CONTACT_FIELDS, "contact"))
    custom = payload.pop("customFields", None) or {}
    if not all(isinstance(v, str | int | float) for v in custom.values()):
        raise InvalidPayload("customFields values must be strings or numbers")
    if not all(isinstance(t, str) for t in payload.get("tags") or []):
        raise InvalidPayload("wrong JSON type for tags")
    body = {k: v for k, v in payload.items() if v is not None}
    if custom:
        body["customFields"] = [
            {"key": f"contact.{key}", "field_value": value} for key, value in sorted(custom.items())
        ]
    contact_id = _contact_id(held)
    if contact_id is not None:
        # identity fields only choose whom upsert creates or finds: a matched contact keeps
        # its own (another contact may hold ServiceTitan's, which GHL refuses as a duplicate)
        body = {k: v for k, v in body.items() if k not in IDENTITY}
        path = f"/contacts/{quote(contact_id, safe='')}"
        return _request("PUT", to, held.scope, path, body)
    if not body.get("email") and not body.get("phone"):
        # upsert matches on these: without either, a repeated delivery would create a twin
        raise InvalidPayload("a contact to create needs an email or a phone")
    return _request("POST", to, held.scope, "/contacts/upsert", {"locationId": held.scope, **body})


def contact_read(held: Claim, to: Endpoint) -> Request | None:
    """GET the matched contact (the conflict check before a write); none for a create."""
    contact_id = _contact_id(held)
    if contact_id is None:
        return None
    path = f"/contacts/{quote(contact_id, safe='')}"
    return _request("GET", to, held.scope, path, None)


def contact_fields(answer: Any) -> dict[str, Any]:
    contact = answer.get("contact") if isinstance(answer, dict) else None
    return {name: contact.get(name) for name in READ_FIELDS} if isinstance(contact, dict) else {}


def ensure_custom_fields(held: Claim, to: Endpoint, send: Send) -> Outcome | None:
    """The location's contact custom fields the row writes exist (created when missing).
    Returns the answer that stops the row (to retry or fail it), or None."""
    ghl = _ghl(to)
    payload = held.payload if isinstance(held.payload, dict) else {}
    custom = payload.get("customFields")
    wanted = {f"contact.{key}" for key in custom} if isinstance(custom, dict) else set()
    location = held.scope
    if wanted <= ghl.field_keys.get(location, set()):
        return None
    base = f"/locations/{quote(location, safe='')}/customFields"
    listed = _sent(send, _request("GET", to, location, f"{base}?model=contact", None))
    if listed.kind != "done":
        return listed
    fields = (listed.response or {}).get("customFields") or []
    known = {f.get("fieldKey") for f in fields if isinstance(f, dict)}
    for key in sorted(wanted - known):
        short = key.removeprefix("contact.")
        body = {"name": short.replace("_", " ").title(), "dataType": "TEXT", "model": "contact"}
        created = _sent(send, _request("POST", to, location, base, body))
        if created.kind != "done":
            return created
        made = ((created.response or {}).get("customField") or {}).get("fieldKey")
        if made != key:
            return Outcome(
                "failed",
                "POST",
                base,
                created.status,
                created.milliseconds,
                f"GoHighLevel named the new custom field {made!r}, not {key!r}",
            )
        known.add(key)
    ghl.field_keys[location] = {k for k in known if isinstance(k, str)}
    return None


def _sent(send: Send, request: Request) -> Outcome:
    outcome = send(request)
    if outcome is None:
        raise LeaseLost("lease lost while preparing custom fields")
    return outcome


def log_upsert(conn: psycopg.Connection, held: Claim, body: Any, response: Any) -> None:
    """What a create found: the contact GoHighLevel created, or the one it matched."""
    if not isinstance(body, dict) or "locationId" not in body or not isinstance(response, dict):
        return
    contact = response.get("contact") or {}
    conn.execute(
        """
        insert into sync.ghl_contact_upserts (
            queue_id, location_id, entity_id, ghl_contact_id, created
        ) values (%s, %s, %s, %s, %s)
        """,
        (held.id, held.scope, held.entity_id, contact.get("id") or "", bool(response.get("new"))),
    )


def same_contact_field(name: str, a: Any, b: Any) -> bool:
    if name == "tags":
        return set(a or []) == set(b or [])
    return (a or None) == (b or None)


# --- opportunities -----------------------------------------------------------------------------


def opportunity_write(held: Claim, to: Endpoint) -> Request:
    body = _checked(held.payload, OPPORTUNITY_FIELDS, "opportunity")
    if "status" in body and body["status"] not in ("open", "won", "lost", "abandoned"):
        raise InvalidPayload(f"status {body['status']!r} is not open, won, lost or abandoned")
    return _request("PUT", to, held.scope, _opportunity_path(held), dict(body))


def _opportunity_path(held: Claim) -> str:
    location, _, opportunity = held.entity_id.partition("/")
    if not location or not opportunity:
        raise InvalidPayload(f"entity id {held.entity_id!r} is not <location>/<opportunity id>")
    return f"/opportunities/{quote(opportunity, safe='')}"


def opportunity_read(held: Claim, to: Endpoint) -> Request:
    return _request("GET", to, held.scope, _opportunity_path(held), None)


def opportunity_fields(answer: Any) -> dict[str, Any]:
    found = answer.get("opportunity") if isinstance(answer, dict) else None
    return dict(found) if isinstance(found, dict) else {}


def same_opportunity_field(name: str, a: Any, b: Any) -> bool:
    if name == "monetaryValue":
        try:
            return Decimal(str(a or 0)) == Decimal(str(b or 0))
        except ArithmeticError:
            return False
    return a == b


CONTACTS = Target(
    name="ghl_contacts",
    vendor=VENDOR,
    entity_type="ghl_contact",
    operation="upsert",
    model=("marts", "sync_ghl_contacts"),
    scope_column="location_id",
    endpoint=endpoint,
    request=contact_write,
    delivered=log_upsert,
    current=contact_read,
    current_fields=contact_fields,
    same=same_contact_field,
    merge_rules="ghl_contacts",
    prepare=ensure_custom_fields,
)

OPPORTUNITIES = Target(
    name="ghl_opportunities",
    vendor=VENDOR,
    entity_type="ghl_opportunity",
    operation="update",
    model=("marts", "sync_ghl_opportunities"),
    scope_column="location_id",
    endpoint=endpoint,
    request=opportunity_write,
    current=opportunity_read,
    current_fields=opportunity_fields,
    same=same_opportunity_field,
    merge_rules="ghl_opportunities",
)
