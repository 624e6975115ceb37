"""Telecom call shapes. The World stores calls as export records (Telecom.V2.ExportCallResponse);
the v2 and v3 list endpoints serve a "bundle": job facts beside the call under `leadCall`.

The bundle's job facts and the v2 call's customer/campaign objects are joined from the
World, as ServiceTitan joins them server-side. Integer ids that C# declares as non-nullable
`long` come out as 0 when there is nothing to point to; objects come out as null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

Record = dict[str, Any]
_BU_ADDRESS = ("street", "unit", "city", "state", "zip", "country")
_CUSTOMER_ADDRESS = (*_BU_ADDRESS, "latitude", "longitude")


@overload
def _pick(source: Record, keys: tuple[str, ...]) -> Record: ...
@overload
def _pick(source: Record | None, keys: tuple[str, ...]) -> Record | None: ...
def _pick(source: Record | None, keys: tuple[str, ...]) -> Record | None:
    return None if source is None else {k: source.get(k) for k in keys}


class _Lookups:
    """Per-request memo: a page of calls refers to the same few campaigns, BUs and job types."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self._memo: dict[tuple[str, Any], Record | None] = {}

    def get(self, collection: str, record_id: Any) -> Record | None:
        if record_id is None:
            return None
        key = (collection, record_id)
        if key not in self._memo:
            self._memo[key] = self.call.coll(collection).get(record_id)
        return self._memo[key]


@overload
def _named(ref: Record) -> Record: ...
@overload
def _named(ref: Record | None) -> Record | None: ...
def _named(ref: Record | None) -> Record | None:
    return None if ref is None else {"id": ref.get("id"), "name": ref.get("name")}


def _reason(look: _Lookups, reason: Record | None) -> Record | None:
    if reason is None:
        return None
    full = look.get("call_reasons", reason.get("id")) or {}
    return {
        "id": reason.get("id"),
        "name": reason.get("name"),
        "lead": bool(full.get("isLead", False)),
        "active": bool(full.get("active", True)),
    }


def _job_facts(look: _Lookups, record: Record, v2: bool) -> Record:
    job_ref = record.get("job")
    job = look.get("jobs", job_ref.get("id")) if job_ref else None
    if job is None:
        return {"jobNumber": None, "projectId": 0, "businessUnit": None, "type": None}
    bu = look.get("business_units", job.get("businessUnitId"))
    job_type = look.get("job_types", job.get("jobTypeId"))
    type_model = None
    if job_type is not None:
        type_model = {
            "id": job_type["id"],
            "name": job_type.get("name"),
            "modifiedOn": job_type.get("modifiedOn"),
        }
    return {
        "jobNumber": job.get("jobNumber"),
        "projectId": job.get("projectId") or 0,
        "businessUnit": _business_unit_v2(bu) if v2 else _named(bu),
        "type": type_model,
    }


def _business_unit_v2(bu: Record | None) -> Record | None:
    if bu is None:
        return None
    tenant = bu.get("tenant") or {}
    return {
        "id": bu["id"],
        "active": bu.get("active", True),
        "name": bu.get("name"),
        "officialName": bu.get("officialName"),
        "email": bu.get("email"),
        "currency": bu.get("currency"),
        "phoneNumber": bu.get("phoneNumber"),
        "invoiceHeader": bu.get("invoiceHeader"),
        "invoiceMessage": bu.get("invoiceMessage"),
        "defaultTaxRate": bu.get("defaultTaxRate"),
        "authorizationParagraph": bu.get("authorizationParagraph"),
        "acknowledgementParagraph": bu.get("acknowledgementParagraph"),
        "address": _pick(bu.get("address"), _BU_ADDRESS),
        "materialSku": bu.get("materialSku"),
        "quickbooksClass": bu.get("quickbooksClass"),
        "accountCode": bu.get("accountCode"),
        "franchiseId": bu.get("franchiseId"),
        "conceptCode": bu.get("conceptCode"),
        "corporateContractNumber": bu.get("corporateContractNumber"),
        "tenant": None
        if not tenant
        else {
            "id": tenant.get("id"),
            "name": tenant.get("name"),
            "quickbooksClass": tenant.get("quickbooksClass"),
            "accountCode": tenant.get("accountCode"),
            "franchiseId": tenant.get("franchiseId"),
            "conceptCode": tenant.get("conceptCode"),
            "modifiedOn": tenant.get("modifiedOn"),
        },
        "modifiedOn": bu.get("modifiedOn"),
    }


def _customer_v2(look: _Lookups, ref: Record | None) -> Record | None:
    customer = look.get("customers", ref.get("id")) if ref else None
    if customer is None:
        return None
    address = customer.get("address")
    if address is not None:
        # AddressOutput: the v2 call model adds a one-line streetAddress.
        street = ", ".join(p for p in (address.get("street"), address.get("unit")) if p)
        address = {**_pick(address, _CUSTOMER_ADDRESS), "streetAddress": street}
    return {
        "id": customer["id"],
        "active": customer.get("active", True),
        "name": customer.get("name"),
        "email": None,
        "balance": customer.get("balance"),
        "doNotMail": customer.get("doNotMail", False),
        "address": address,
        "importId": None,
        "doNotService": customer.get("doNotService", False),
        "type": customer.get("type"),
        "contacts": [],
        "mergedToId": customer.get("mergedToId"),
        "modifiedOn": customer.get("modifiedOn"),
        "memberships": [],
        "hasActiveMembership": False,
        "customFields": customer.get("customFields") or [],
        "createdOn": customer.get("createdOn"),
        "createdBy": customer.get("createdById"),
        "phoneSettings": [],
    }


def _campaign_v2(look: _Lookups, ref: Record | None) -> Record | None:
    campaign = look.get("campaigns", ref.get("id")) if ref else None
    if campaign is None:
        return None
    category = campaign.get("category")
    return {
        "id": campaign["id"],
        "name": campaign.get("name"),
        "modifiedOn": campaign.get("modifiedOn"),
        "createdOn": campaign.get("createdOn"),
        "active": campaign.get("active", True),
        "isDefaultCampaign": campaign.get("isDefaultCampaign"),
        "category": category,
        "source": campaign.get("source"),
        "otherSource": None,
        "businessUnit": None,
        "medium": campaign.get("medium"),
        "otherMedium": None,
        "dnis": None,
    }


def _lead_call(look: _Lookups, record: Record, v2: bool, detailed: bool) -> Record:
    agent = record.get("agent")
    common = {
        "id": record["id"],
        "receivedOn": record.get("createdOn"),
        "duration": record.get("duration"),
        "from": record.get("from"),
        "to": record.get("to"),
        "direction": record.get("direction"),
        "callType": record.get("type"),
        "reason": _reason(look, record.get("reason")),
        "recordingUrl": record.get("recordingUrl"),
        "voiceMailUrl": record.get("voiceMailPath"),
        "createdBy": _named(record.get("createdBy")),
        "modifiedOn": record.get("modifiedOn"),
        "agent": None if agent is None else {**_named(agent), "externalId": None},
        "sid": None,
        "tags": [],
        "createdOn": record.get("createdOn"),
        "active": record.get("active", True),
    }
    if detailed:
        # The by-id model (DetailedCallModel) has no createdOn/active.
        del common["createdOn"], common["active"]
    if v2:
        common["customer"] = _customer_v2(look, record.get("customer"))
        common["campaign"] = _campaign_v2(look, record.get("campaign"))
    else:
        common["customer"] = _named(record.get("customer"))
        common["campaign"] = _named(record.get("campaign"))
    return common


def shaper(shape: str) -> Callable[[Any, Record], Record]:
    """A (call, record) -> bundle function for shape "call_v2", "call_v2_detail" or "call_v3"."""
    v2 = shape.startswith("call_v2")
    detailed = shape == "call_v2_detail"

    def render(call: Any, record: Record) -> Record:
        look = call.memo.get(_Lookups)
        if look is None:
            look = call.memo[_Lookups] = _Lookups(call)
        return {
            "id": record["id"],
            **_job_facts(look, record, v2),
            "leadCall": _lead_call(look, record, v2, detailed),
        }

    return render
