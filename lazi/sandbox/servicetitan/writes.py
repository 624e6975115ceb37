"""Write endpoints used by reverse ETL. Each one changes what later reads (and exports) return.

Handlers receive a body already checked against the official request schema (validate.py),
so they only implement semantics: PATCH merges the given fields (null means "not given", as
ServiceTitan's DTOs cannot tell the two apart), lists such as tagTypeIds replace, and
customFields / externalData merge by their keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lazi.sandbox.servicetitan.errors import Rejected, api_error, not_found, validation_error
from lazi.sandbox.servicetitan.stores import ExternalDataStore, NoteStore

Record = dict[str, Any]
API_USER_ID = 1  # the integration's user, shown as createdById on notes it posts


@dataclass
class WriteContext:
    world: Any
    tenant: int
    external: ExternalDataStore
    notes: NoteStore
    now_iso: Callable[[], str]

    def coll(self, name: str) -> Any:
        return self.world.collection("servicetitan", name, self.tenant)

    def live(self, name: str, record_id: int, what: str) -> Record:
        """The current record, or a 404 when it does not exist or was deleted."""
        coll = self.coll(name)
        record = coll.get(record_id)
        if record is None or coll.is_deleted(record):
            raise Rejected(not_found(what, record_id))
        return record


_LABELS = {
    "customers": "Customer",
    "locations": "Location",
    "jobs": "Job",
    "pricebook_materials": "Material",
    "pricebook_services": "Service",
    "pricebook_equipment": "Equipment",
}
# Request members that are instructions rather than stored fields.
_NOT_STORED = {"externalData", "customFields", "shouldUpdateInvoiceItems", "id"}


def _custom_field_names(ctx: WriteContext, collection: str) -> dict[int, str]:
    types = {"customers": "customer", "locations": "location", "jobs": "job"}.get(collection)
    if types is None:
        return {}
    coll = ctx.coll(f"{types}_custom_field_types")
    return {r["id"]: r.get("name") for _, r in coll.iter_from(0)}


def _merge_custom_fields(
    ctx: WriteContext, collection: str, current: list[Record] | None, updates: list[Record]
) -> list[Record]:
    merged = [dict(f) for f in current or []]
    by_type = {f.get("typeId"): f for f in merged}
    names: dict[int, str] | None = None
    for update in updates:
        existing = by_type.get(update["typeId"])
        if existing is not None:
            existing["value"] = update["value"]
            continue
        if names is None:
            names = _custom_field_names(ctx, collection)
        entry = {
            "typeId": update["typeId"],
            "name": names.get(update["typeId"]),
            "value": update["value"],
        }
        merged.append(entry)
        by_type[update["typeId"]] = entry
    return merged


def patch_record(
    ctx: WriteContext, collection: str, record_id: int, body: Record
) -> tuple[Record, str | None]:
    """Apply a PATCH body; returns the stored record and the externalData GUID used, if any."""
    record = ctx.live(collection, record_id, _LABELS.get(collection, "Entity"))
    changes: Record = {}
    for key, value in body.items():
        if value is None or key in _NOT_STORED or key not in record:
            continue
        changes[key] = value
    if body.get("customFields"):
        changes["customFields"] = _merge_custom_fields(
            ctx, collection, record.get("customFields"), body["customFields"]
        )
    guid = None
    ext = body.get("externalData")
    if ext:
        guid = ext["applicationGuid"]
        scope = (collection, ctx.tenant)
        ctx.external.apply(
            scope, record_id, guid, ext.get("externalData") or [], ext.get("patchMode") or "Replace"
        )
        changes["externalData"] = ctx.external.entries(scope, record_id, None)
    if not changes:
        return record, guid
    return ctx.coll(collection).patch(record_id, changes), guid


def check_reference(
    ctx: WriteContext, collection: str, record_id: Any, status: int, what: str
) -> None:
    """Referenced records must exist (409 for locations' customer, per the spec)."""
    if record_id is None:
        return
    coll = ctx.coll(collection)
    record = coll.get(record_id)
    if record is None or coll.is_deleted(record):
        raise Rejected(
            api_error(
                status,
                f"{what} not found.",
                {what[:1].lower() + what[1:] + "Id": [f"{what} with ID {record_id} not found."]},
            )
        )


def add_note(ctx: WriteContext, parent: str, parent_id: int, body: Record, with_id: bool) -> Record:
    if not body.get("text"):
        # The note DTO marks Text [Required], which also refuses null and "".
        raise Rejected(validation_error({"Text": ["The Text field is required."]}))
    ctx.live(parent, parent_id, _LABELS.get(parent, "Entity"))
    now = ctx.now_iso()
    note = {
        "text": body["text"],
        "isPinned": bool(body.get("pinToTop")),
        "createdById": API_USER_ID,
        "createdOn": now,
        "modifiedOn": now,
    }
    stored = ctx.notes.add((parent, ctx.tenant), parent_id, note)
    if not with_id:
        stored.pop("id")
    return stored


def _set_tags(ctx: WriteContext, customer_id: int, add: list[int], remove: list[int]) -> Record:
    record = ctx.live("customers", customer_id, "Customer")
    current = list(record.get("tagTypeIds") or [])
    wanted = [t for t in current if t not in remove] + [t for t in add if t not in current]
    if wanted != current:
        record = ctx.coll("customers").patch(customer_id, {"tagTypeIds": wanted})
    return record


def _tag_type_exists(ctx: WriteContext, tag_type_id: int) -> bool:
    return ctx.coll("tag_types").get(tag_type_id) is not None


def bulk_tags(ctx: WriteContext, body: Record, adding: bool) -> None:
    customers, tags = body["customerIds"], body["tagTypeIds"]
    unknown_tags = [t for t in tags if not _tag_type_exists(ctx, t)]
    coll = ctx.coll("customers")
    unknown_customers = [
        c for c in customers if coll.get(c) is None or coll.is_deleted(coll.get(c))
    ]
    if unknown_tags or unknown_customers:
        errors = {}
        if unknown_tags:
            errors["tagTypeIds"] = [f"Tag type with ID {t} not found." for t in unknown_tags]
        if unknown_customers:
            errors["customerIds"] = [f"Customer with ID {c} not found." for c in unknown_customers]
        raise Rejected(
            api_error(409, "Some conflict occurred while executing the request.", errors)
        )
    for customer_id in customers:
        _set_tags(ctx, customer_id, tags if adding else [], [] if adding else tags)


def customer_tag(ctx: WriteContext, customer_id: int, tag_type_id: int, adding: bool) -> Record:
    ctx.live("customers", customer_id, "Customer")
    if not _tag_type_exists(ctx, tag_type_id):
        raise Rejected(not_found("Tag type", tag_type_id))
    record = _set_tags(
        ctx, customer_id, [tag_type_id] if adding else [], [] if adding else [tag_type_id]
    )
    return {"customerId": customer_id, "tagTypeIds": list(record.get("tagTypeIds") or [])}


_BULK_COLLECTIONS = {
    "services": "pricebook_services",
    "equipment": "pricebook_equipment",
    "materials": "pricebook_materials",
}


# Amounts ServiceTitan's pricebook validators refuse below zero.
_NON_NEGATIVE = ("price", "memberPrice", "addOnPrice", "addOnMemberPrice", "cost", "hours")


def check_amounts(body: Record, prefix: str = "") -> dict[str, list[str]]:
    """FluentValidation-style errors for negative amounts, keyed like ASP.NET's
    (`Price`, or `Materials[0].Price` in a bulk body)."""
    errors: dict[str, list[str]] = {}
    for name in _NON_NEGATIVE:
        value = body.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            label = name[:1].upper() + name[1:]
            errors[f"{prefix}{label}"] = [f"'{label}' must be greater than or equal to '0'."]
    return errors


def check_pricebook_patch(body: Record) -> None:
    errors = check_amounts(body)
    if errors:
        raise Rejected(validation_error(errors))


def bulk_pricebook(ctx: WriteContext, body: Record) -> None:
    # All items are checked before any is applied, so a bad item changes nothing.
    errors: dict[str, list[str]] = {}
    for key in _BULK_COLLECTIONS:
        for index, item in enumerate(body.get(key) or []):
            errors.update(check_amounts(item, f"{key[:1].upper()}{key[1:]}[{index}]."))
    if errors:
        raise Rejected(validation_error(errors))
    for key, collection in _BULK_COLLECTIONS.items():
        for item in body.get(key) or []:
            ctx.live(collection, item["id"], _LABELS[collection])
    for key, collection in _BULK_COLLECTIONS.items():
        for item in body.get(key) or []:
            patch_record(ctx, collection, item["id"], item)
