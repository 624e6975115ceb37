"""Endpoint handlers: bind the request, run the read or write, return (status, JSON body)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from lazi.sandbox.servicetitan import calls, listing, reads, writes
from lazi.sandbox.servicetitan.errors import Rejected, api_error, not_found
from lazi.sandbox.servicetitan.params import BindError, bind_query
from lazi.sandbox.servicetitan.routes import READ_ROUTES, ReadRoute
from lazi.sandbox.servicetitan.routing import Router
from lazi.sandbox.servicetitan.shapes import projector
from lazi.sandbox.servicetitan.validate import check_body

SPEC = json.loads(Path(__file__).with_name("spec_params.json").read_text())
SCHEMAS: dict[str, Any] = SPEC["schemas"]
# The all-records contact lists refuse to run unbounded (ServiceTitan's own rule).
_NEEDS_MODIFIED_FILTER = {"customer_contacts", "location_contacts"}
_NOTE_PARENTS = {"customer_notes": "customers", "job_notes": "jobs"}

Result = tuple[int, Any]


@dataclass
class Call:
    state: Any
    tenant: int
    path: dict[str, str]
    query: str
    body: Any
    content_type: str = ""
    memo: dict[Any, Any] = field(default_factory=dict)

    def coll(self, name: str) -> Any:
        return self.state.world.collection("servicetitan", name, self.tenant)

    def path_id(self, name: str = "id") -> int:
        raw = self.path[name]
        try:
            return int(raw)
        except ValueError:
            raise BindError({name: [f"The value '{raw}' is not valid."]}) from None

    def bind(self, declared: dict[str, Any]) -> dict[str, Any]:
        return bind_query(parse_qsl(self.query, keep_blank_values=True), declared)

    def write_context(self) -> writes.WriteContext:
        s = self.state
        return writes.WriteContext(s.world, self.tenant, s.external, s.notes, s.now_iso)


def _shaper(route: ReadRoute, op: dict[str, Any]) -> Callable[[Call, dict], dict]:
    if route.shape != "plain":
        return calls.shaper(route.shape)
    project = projector(op["fields"])
    return lambda call, record: project(record)


def _with_external(call: Call, collection: str, records: list[dict], guid: str | None) -> None:
    """Show only the calling application's externalData when it names its GUID."""
    if guid is None:
        return
    for record in records:
        if "externalData" in record:
            record["externalData"] = call.state.external.entries(
                (collection, call.tenant), record["id"], guid
            )


def _read(route: ReadRoute, op: dict[str, Any], call: Call) -> Result:
    bound = call.bind(op["query"])
    shape = _shaper(route, op)
    if route.kind == "notes":
        return _notes(route, op, call, bound)
    coll = call.coll(route.collection)
    if route.kind == "export":
        start = reads.decode_from(bound["from"], coll) if bound.get("from") else 0
        cache = call.state.export_cache
        if cache is None:
            return 200, reads.export_page(coll, start, call.state.export_page_size)
        key = (coll.key, start, call.state.export_page_size, coll.end_position())
        if key not in cache:
            cache[key] = orjson.dumps(reads.export_page(coll, start, call.state.export_page_size))
        return 200, cache[key]
    if route.kind == "get":
        record_id = call.path_id()
        record = coll.get(record_id)
        if record is None or coll.is_deleted(record):
            return _raise_not_found(route.collection, record_id)
        return 200, shape(call, record)
    return _list(route, op, call, bound, coll, shape)


def _raise_not_found(collection: str, record_id: int) -> Result:
    label = collection.replace("_", " ").capitalize()
    label = label[:-3] + "y" if label.endswith("ies") else label.removesuffix("s")
    raise Rejected(not_found(label, record_id))


def _list(
    route: ReadRoute,
    op: dict[str, Any],
    call: Call,
    bound: dict[str, Any],
    coll: Any,
    shape: Callable[[Call, dict], dict],
) -> Result:
    declared = op["query"]
    unbounded = bound.get("modifiedOnOrAfter") is None and bound.get("modifiedBefore") is None
    if route.kind == "list" and route.collection in _NEEDS_MODIFIED_FILTER and unbounded:
        message = "Either modifiedBefore or modifiedOnOrAfter parameter must be specified"
        raise BindError({"modifiedOnOrAfter": [message]})
    if route.kind == "children":
        parent_id = call.path_id()
        parent = call.coll(route.parent_collection or "")
        parent_record = parent.get(parent_id)
        if parent_record is None or parent.is_deleted(parent_record):
            return _raise_not_found(route.parent_collection or "", parent_id)
        bound = {**bound, route.parent_field or "": parent_id}
    restrict = _external_lookup(route, call, bound)
    plan = reads.plan_list(coll, declared, bound, op.get("sort"))
    page, size = reads.page_args(bound)
    always_total = op["envelope"].startswith("CollectionResult")
    want_total = always_total or bool(bound.get("includeTotal"))
    records, has_more, total = listing.run_list(
        coll, plan, page, size, call.state.cache, (route.path, call.tenant), restrict, want_total
    )
    data = [shape(call, r) for r in records]
    _with_external(call, route.collection, data, bound.get("externalDataApplicationGuid"))
    return 200, {
        "page": page,
        "pageSize": size,
        "hasMore": has_more,
        "totalCount": total if want_total else None,
        "data": data,
    }


def _external_lookup(route: ReadRoute, call: Call, bound: dict[str, Any]) -> set[int] | None:
    key, values = bound.get("externalDataKey"), bound.get("externalDataValues")
    if key is None and values is None:
        return None
    if key is None or values is None:
        other = "externalDataValues" if key is not None else "externalDataKey"
        raise BindError({other: [f"'{other}' must also be provided."]})
    wanted = [v.strip() for v in values.split(",") if v.strip()]
    if len(wanted) > reads.MAX_IDS:
        raise BindError({"externalDataValues": ["The maximum number of values is 50."]})
    scope = (route.collection, call.tenant)
    return call.state.external.find(scope, bound.get("externalDataApplicationGuid"), key, wanted)


def _notes(route: ReadRoute, op: dict[str, Any], call: Call, bound: dict[str, Any]) -> Result:
    parent = _NOTE_PARENTS[route.collection]
    parent_id = call.path_id()
    call.write_context().live(parent, parent_id, parent.rstrip("s").capitalize())
    notes = call.state.notes.list((parent, call.tenant), parent_id)
    if route.collection == "job_notes":
        for note in notes:
            note.pop("id", None)
    plan = reads.plan_list(None, op["query"], bound, None)
    kept = [n for n in notes if all(p(n) for p in plan.predicates or [])]
    page, size = reads.page_args(bound)
    offset = (page - 1) * size
    return 200, {
        "page": page,
        "pageSize": size,
        "hasMore": offset + size < len(kept),
        "totalCount": len(kept) if bound.get("includeTotal") else None,
        "data": kept[offset : offset + size],
    }


# ---- writes ------------------------------------------------------------------------------


def is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media in ("application/json", "text/json") or media.endswith("+json")


def _body(call: Call, op: dict[str, Any]) -> dict[str, Any]:
    if op["body"] is None:
        return {}
    if not is_json(call.content_type):
        # [FromBody] only reads JSON; anything else is refused before binding.
        raise Rejected(api_error(415, "Unsupported Media Type"))
    if call.body is None:
        raise BindError({"": ["A non-empty request body is required."]})
    return check_body(call.body, op["body"], SCHEMAS)


def _patch(collection: str, op: dict[str, Any], call: Call) -> Result:
    body = _body(call, op)
    ctx = call.write_context()
    if collection == "locations":
        writes.check_reference(ctx, "customers", body.get("customerId"), 409, "Customer")
    if collection == "jobs":
        writes.check_reference(ctx, "customers", body.get("customerId"), 400, "Customer")
        writes.check_reference(ctx, "locations", body.get("locationId"), 400, "Location")
    if collection.startswith("pricebook_"):
        writes.check_pricebook_patch(body)
    record, guid = writes.patch_record(ctx, collection, call.path_id(), body)
    shaped = projector(SPEC["ops"][f"GET {_get_path(collection)}"]["fields"])(record)
    _with_external(call, collection, [shaped], guid)
    return 200, shaped


def _get_path(collection: str) -> str:
    for route in READ_ROUTES:
        if route.kind == "get" and route.collection == collection:
            return route.path
    raise KeyError(collection)


def _note(parent: str, with_id: bool, op: dict[str, Any], call: Call) -> Result:
    body = _body(call, op)
    return 200, writes.add_note(call.write_context(), parent, call.path_id(), body, with_id)


def _bulk_tags(adding: bool, op: dict[str, Any], call: Call) -> Result:
    writes.bulk_tags(call.write_context(), _body(call, op), adding)
    return 200, None


def _customer_tag(adding: bool, op: dict[str, Any], call: Call) -> Result:
    result = writes.customer_tag(
        call.write_context(), call.path_id(), call.path_id("tagTypeId"), adding
    )
    return 200, result if adding else None


def _bulk_pricebook(op: dict[str, Any], call: Call) -> Result:
    writes.bulk_pricebook(call.write_context(), _body(call, op))
    return 200, None


WRITE_HANDLERS: dict[tuple[str, str], Callable[..., Result]] = {
    ("PATCH", "/crm/v2/tenant/{tenant}/customers/{id}"): partial(_patch, "customers"),
    ("PATCH", "/crm/v2/tenant/{tenant}/locations/{id}"): partial(_patch, "locations"),
    ("PATCH", "/jpm/v2/tenant/{tenant}/jobs/{id}"): partial(_patch, "jobs"),
    ("PATCH", "/pricebook/v2/tenant/{tenant}/materials/{id}"): partial(
        _patch, "pricebook_materials"
    ),
    ("PATCH", "/pricebook/v2/tenant/{tenant}/services/{id}"): partial(_patch, "pricebook_services"),
    ("PATCH", "/pricebook/v2/tenant/{tenant}/equipment/{id}"): partial(
        _patch, "pricebook_equipment"
    ),
    ("PATCH", "/pricebook/v2/tenant/{tenant}/pricebook"): _bulk_pricebook,
    ("POST", "/crm/v2/tenant/{tenant}/customers/{id}/notes"): partial(_note, "customers", True),
    ("POST", "/jpm/v2/tenant/{tenant}/jobs/{id}/notes"): partial(_note, "jobs", False),
    ("PUT", "/crm/v2/tenant/{tenant}/tags"): partial(_bulk_tags, True),
    ("DELETE", "/crm/v2/tenant/{tenant}/tags"): partial(_bulk_tags, False),
    ("POST", "/crm/v2/tenant/{tenant}/customers/{id}/tags/{tagTypeId}"): partial(
        _customer_tag, True
    ),
    ("DELETE", "/crm/v2/tenant/{tenant}/customers/{id}/tags/{tagTypeId}"): partial(
        _customer_tag, False
    ),
}


def register(router: Router) -> None:
    for route in READ_ROUTES:
        op = SPEC["ops"][f"GET {route.path}"]
        router.add("GET", route.path, partial(_read, route, op))
    for (method, path), handler in WRITE_HANDLERS.items():
        router.add(method, path, partial(handler, SPEC["ops"][f"{method} {path}"]))
