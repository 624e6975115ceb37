"""Pushes 2 and 4, to ServiceTitan: customers <- GoHighLevel (`PATCH …/customers/{id}` with
externalData, and `POST …/customers/{id}/tags/{tagTypeId}`) and pricebook <-
crm.pricebook_overrides (`PATCH …/{materials|services|equipment}/{id}`).

Credentials are the ServiceTitan source's (SOURCES__SERVICETITAN__APP_KEY, __TENANTS, __BASE_URL,
__AUTH_URL, or [sources.servicetitan] in .dlt/secrets.toml): one OAuth token per tenant,
refreshed ahead of expiry. externalData keys are written under the integration's application
guid (SOURCES__SERVICETITAN__APPLICATION_GUID, default DEFAULT_APPLICATION_GUID) with patchMode
Merge, so keys other pushes wrote stay. Every request is idempotent: a PATCH repeated after a kill
writes the same values again, and adding a tag the customer already carries changes nothing.

Pricebook overrides go one PATCH per item, not through the bulk `PATCH …/pricebook`: the bulk
items must carry every field of the item (a read of each item first), and one refused item fails
the whole batch, where one bad override must not hold back the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import psycopg

from lazi.errors import LaziError
from lazi.reverse_etl.delivery import Request
from lazi.reverse_etl.queue import Claim
from lazi.reverse_etl.targets import Endpoint, InvalidPayload, Target

VENDOR = "servicetitan"
DEFAULT_APPLICATION_GUID = "6c617a69-7761-4265-8872-656873657431"
EXTERNAL = "externalData."
# UpdateCustomerRequest members a mapping may write directly, and their JSON types.
CUSTOMER_WRITABLE: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "type": (str,),
    "doNotMail": (bool,),
    "doNotService": (bool,),
    "customFields": (list,),
}
_PRICING = ("price", "memberPrice", "addOnPrice", "addOnMemberPrice", "hours", "bonus")
_TEXT = ("code", "displayName", "description")
_FLAGS = ("active", "taxable")
# Material/Service/EquipmentUpdateRequest members an override may write (services have no cost).
PRICEBOOK_WRITABLE: dict[str, dict[str, tuple[type, ...]]] = {
    kind: {
        **dict.fromkeys(_PRICING + (("cost",) if kind != "service" else ()), (int, float, str)),
        **dict.fromkeys(_TEXT, (str,)),
        **dict.fromkeys(_FLAGS, (bool,)),
    }
    for kind in ("material", "service", "equipment")
}
PRICEBOOK_PATHS = {"material": "materials", "service": "services", "equipment": "equipment"}


@dataclass(frozen=True)
class TenantEndpoint(Endpoint):
    """The base URL, and per tenant the auth that gives its headers (a token per tenant)."""

    auth: dict[str, Any] = field(default_factory=dict)
    application_guid: str = DEFAULT_APPLICATION_GUID

    def tenant_headers(self, tenant: str) -> dict[str, str]:
        auth = self.auth.get(tenant)
        if auth is None:
            raise InvalidPayload(f"tenant {tenant!r} is not in SOURCES__SERVICETITAN__TENANTS")
        return {**self.headers, **auth.headers()}


def endpoint() -> TenantEndpoint:
    import dlt

    from dlt_pipelines.servicetitan import _tenants
    from dlt_pipelines.servicetitan.helpers import ClientCredentialsAuth
    from dlt_pipelines.servicetitan.settings import DEFAULT_AUTH_URL, DEFAULT_BASE_URL

    app_key: str | None = dlt.secrets.get("sources.servicetitan.app_key")
    tenants: Any = dlt.secrets.get("sources.servicetitan.tenants")
    if not app_key or not tenants:
        raise LaziError(
            "no ServiceTitan credentials: set SOURCES__SERVICETITAN__APP_KEY and "
            "SOURCES__SERVICETITAN__TENANTS (see README) to push to ServiceTitan"
        )
    base_url: str = dlt.config.get("sources.servicetitan.base_url") or DEFAULT_BASE_URL
    auth_url: str = dlt.config.get("sources.servicetitan.auth_url") or DEFAULT_AUTH_URL
    guid: str = dlt.config.get("sources.servicetitan.application_guid") or DEFAULT_APPLICATION_GUID
    # The token requests share one client for the run (the worker's is for the API calls).
    http = httpx.Client(timeout=30.0)
    auth = {
        str(tenant["tenant_id"]): ClientCredentialsAuth(
            str(auth_url),
            str(app_key),
            str(tenant["client_id"]),
            str(tenant["client_secret"]),
            http,
        )
        for tenant in _tenants(tenants)
    }
    return TenantEndpoint(str(base_url), {}, auth=auth, application_guid=str(guid))


def _parts(held: Claim, count: int, shape: str) -> list[str]:
    parts = held.entity_id.split("/")
    if len(parts) != count or not all(parts) or not parts[0].isdigit():
        raise InvalidPayload(f"entity id {held.entity_id!r} is not {shape}")
    return parts


def _object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        kind = type(payload).__name__ if payload is not None else "null"
        raise InvalidPayload(f"expected a JSON object of {what}, got {kind}")
    return payload


def _checked(payload: dict[str, Any], writable: dict[str, tuple[type, ...]], what: str) -> None:
    unknown = sorted(set(payload) - set(writable))
    if unknown:
        raise InvalidPayload(f"not writable {what}: {', '.join(unknown)}")
    wrong = sorted(
        name
        for name, value in payload.items()
        if value is not None
        and (
            not isinstance(value, writable[name])
            or (isinstance(value, bool) and bool not in writable[name])  # bool is an int
        )
    )
    if wrong:
        raise InvalidPayload(f"wrong JSON type for {', '.join(wrong)}")


def customer_update(held: Claim, to: Endpoint) -> Request:
    tenant, customer = _parts(held, 2, "<tenant>/<customer id>")
    payload = _object(held.payload, "ServiceTitan customer fields")
    external = {k[len(EXTERNAL) :]: v for k, v in payload.items() if k.startswith(EXTERNAL)}
    body = {k: v for k, v in payload.items() if not k.startswith(EXTERNAL)}
    _checked(body, CUSTOMER_WRITABLE, "ServiceTitan customer fields")
    if any(isinstance(v, dict | list) for v in external.values()) or "" in external:
        raise InvalidPayload("externalData values must be scalars under non-empty keys")
    if external:
        body["externalData"] = {
            "applicationGuid": _guid(to),
            "patchMode": "Merge",
            "externalData": [
                # Merge deletes a key sent with null: a mapped value that became null goes
                {"key": key, "value": None if value is None else _text(value)}
                for key, value in sorted(external.items())
            ],
        }
    if not body:
        raise InvalidPayload("nothing to write: no mapped customer field")
    return Request(
        method="PATCH",
        base_url=to.base_url,
        path=f"/crm/v2/tenant/{tenant}/customers/{quote(customer, safe='')}",
        body=body,
        headers=_headers(to, tenant),
        error_message=error_message,
    )


def customer_tag(held: Claim, to: Endpoint) -> Request:
    tenant, customer, tag_type = _parts(held, 3, "<tenant>/<customer id>/<tag type id>")
    payload = _object(held.payload, "a tag assignment")
    if str(payload.get("tagTypeId")) != tag_type:
        raise InvalidPayload(f"payload tagTypeId {payload.get('tagTypeId')!r} is not {tag_type}")
    return Request(
        method="POST",
        base_url=to.base_url,
        path=(
            f"/crm/v2/tenant/{tenant}/customers/{quote(customer, safe='')}"
            f"/tags/{quote(tag_type, safe='')}"
        ),
        body=None,
        headers=_headers(to, tenant),
        error_message=error_message,
    )


def pricebook_update(held: Claim, to: Endpoint) -> Request:
    tenant, item_type, item = _parts(held, 3, "<tenant>/<item type>/<pricebook id>")
    if item_type not in PRICEBOOK_PATHS:
        raise InvalidPayload(f"item type {item_type!r} is not material, service or equipment")
    payload = _object(held.payload, f"ServiceTitan {item_type} fields")
    _checked(payload, PRICEBOOK_WRITABLE[item_type], f"ServiceTitan {item_type} fields")
    body = {name: value for name, value in payload.items() if value is not None}
    if not body:
        raise InvalidPayload("nothing to write: no mapped override value")
    return Request(
        method="PATCH",
        base_url=to.base_url,
        path=(f"/pricebook/v2/tenant/{tenant}/{PRICEBOOK_PATHS[item_type]}/{quote(item, safe='')}"),
        body=body,
        headers=_headers(to, tenant),
        error_message=error_message,
    )


def _headers(to: Endpoint, tenant: str) -> dict[str, str]:
    if isinstance(to, TenantEndpoint):
        return to.tenant_headers(tenant)
    return dict(to.headers)


def _guid(to: Endpoint) -> str:
    return to.application_guid if isinstance(to, TenantEndpoint) else DEFAULT_APPLICATION_GUID


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def error_message(response: httpx.Response) -> str:
    """ServiceTitan's problem document: its title and each field's errors ("Price: …")."""
    from dlt_pipelines.common.http import default_error_message

    try:
        body = response.json()
    except ValueError:
        return default_error_message(response)
    if not isinstance(body, dict) or not isinstance(body.get("errors"), dict):
        return default_error_message(response)
    details = "; ".join(
        f"{name}: {' '.join(map(str, messages if isinstance(messages, list) else [messages]))}"
        if name
        else " ".join(map(str, messages if isinstance(messages, list) else [messages]))
        for name, messages in body["errors"].items()
    )
    title = str(body.get("title") or "")
    return f"{title} {details}".strip()[:500]


# --- crm.pricebook_overrides bookkeeping ----------------------------------------------------


def _override_key(held: Claim) -> tuple[int, str, int]:
    tenant, item_type, item = held.entity_id.split("/")
    return int(tenant), item_type, int(item)


def override_synced(conn: psycopg.Connection, held: Claim, body: Any, response: Any) -> None:
    """Marks the override synced, in the delivery's transaction; unless it was edited after
    this row was queued (then it stays pending and its next build sends the new values)."""
    conn.execute(
        """
        update crm.pricebook_overrides as overrides
        set pending_sync = false, last_synced_at = now(), sync_error = null
        where (overrides.tenant_id, overrides.item_type, overrides.st_pricebook_id)
            = (%s, %s, %s)
            and overrides.updated_at <= (
                select queued.created_at from sync.outbound_queue as queued where queued.id = %s
            )
        """,
        (*_override_key(held), held.id),
    )


def override_rejected(conn: psycopg.Connection, held: Claim, error: str) -> None:
    """The vendor refused the override (or it cannot be sent): it stays pending, with why."""
    try:
        key = _override_key(held)
    except ValueError:
        return  # a row put in by hand that names no override
    conn.execute(
        """
        update crm.pricebook_overrides set sync_error = %s, pending_sync = true
        where (tenant_id, item_type, st_pricebook_id) = (%s, %s, %s)
        """,
        (error, *key),
    )


CUSTOMERS = Target(
    name="servicetitan_customers",
    vendor=VENDOR,
    entity_type="st_customer",
    operation="update",
    model=("marts", "sync_servicetitan_customers"),
    scope_column="tenant_id",
    endpoint=endpoint,
    request=customer_update,
)

CUSTOMER_TAGS = Target(
    name="servicetitan_customer_tags",
    vendor=VENDOR,
    entity_type="st_customer_tag",
    operation="tag",
    model=("marts", "sync_servicetitan_customer_tags"),
    scope_column="tenant_id",
    endpoint=endpoint,
    request=customer_tag,
)

PRICEBOOK = Target(
    name="servicetitan_pricebook",
    vendor=VENDOR,
    entity_type="st_pricebook_override",
    operation="update",
    model=("marts", "sync_servicetitan_pricebook"),
    scope_column="tenant_id",
    endpoint=endpoint,
    request=pricebook_update,
    delivered=override_synced,
    rejected=override_rejected,
)
