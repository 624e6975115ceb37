"""Contacts: POST /contacts/search, the deprecated GET /contacts/, GET/PUT /contacts/{id},
POST /contacts/ and /contacts/upsert, GET /contacts/{id}/notes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from lazi.sandbox._ghl_cr_kit import (
    TOP,
    GroupView,
    Record,
    SortedView,
    all_of,
    json_response,
    select,
    url_with,
)
from lazi.sandbox.gohighlevel.base import (
    GhlContext,
    bad_request,
    context,
    find_live,
    forbidden_location,
    json_body,
    location_of,
    merge_custom_fields,
    normalize_email,
    normalize_phone,
    trace_id,
    unprocessable,
    validate,
)
from lazi.sandbox.gohighlevel.custom_fields import ids_by_key
from lazi.sandbox.gohighlevel.search import (
    SearchError,
    SortSpec,
    compile_filters,
    cursor_key,
    field_value,
    key_fn,
    parse_sort,
    query_predicate,
    search_after_of,
)

router = APIRouter()

SEARCH_MAX_PAGE_LIMIT = 500
# Page-based search reaches at most this many records; beyond it only searchAfter works.
SEARCH_WINDOW = 10_000
LIST_MAX_LIMIT = 100
DEFAULT_SEARCH_SORT = [SortSpec("dateAdded", True)]
# The deprecated list pages oldest-first by dateAdded; startAfter is the last dateAdded (ms).
LIST_ORDER = [SortSpec("dateAdded", False)]

_CONTACT_FIELDS = {
    "firstName": "str?",
    "lastName": "str?",
    "name": "str?",
    "email": "email?",
    "phone": "str?",
    "address1": "str?",
    "city": "str?",
    "state": "str?",
    "postalCode": "str",
    "website": "str?",
    "timezone": "str?",
    "dnd": "bool",
    "dndSettings": "obj",
    "inboundDndSettings": "obj",
    "tags": "tags",
    "customFields": "list",
    "source": "str?",
    "dateOfBirth": "any",
    "country": "str",
    "assignedTo": "str?",
}
UPDATE_FIELDS = _CONTACT_FIELDS
CREATE_FIELDS = {**_CONTACT_FIELDS, "locationId": "str", "gender": "str", "companyName": "str?"}
UPSERT_FIELDS = {**CREATE_FIELDS, "createNewIfDuplicateAllowed": "bool"}
# Accepted on writes but not part of the contact read model.
_WRITE_ONLY = ("locationId", "gender", "createNewIfDuplicateAllowed")
_DEDUPE_NORMALIZERS = {"email": normalize_email, "phone": normalize_phone}


# --- reads ---------------------------------------------------------------------------------


@router.post("/contacts/search")
async def search_contacts(request: Request) -> Response:
    ctx = context(request)
    body, err = await json_body(request)
    if err:
        return err
    assert body is not None
    location = body.get("locationId")
    if not isinstance(location, str) or not location:
        return bad_request("locationId must be a string")
    if location != location_of(request):
        return forbidden_location()
    page_limit = body.get("pageLimit")
    if isinstance(page_limit, bool) or not isinstance(page_limit, int) or page_limit < 1:
        return bad_request("pageLimit must be a positive integer")
    if page_limit > SEARCH_MAX_PAGE_LIMIT:
        return bad_request(f"pageLimit must not be greater than {SEARCH_MAX_PAGE_LIMIT}")
    page, search_after = body.get("page"), body.get("searchAfter")
    if page is not None and search_after is not None:
        return bad_request("page and searchAfter cannot be used together")
    if page is None:
        page = 1
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        return bad_request("page must be a positive integer")
    if page * page_limit > SEARCH_WINDOW:
        return bad_request(
            f"page * pageLimit must not exceed {SEARCH_WINDOW}; use searchAfter to go further"
        )
    try:
        specs = parse_sort(body.get("sort"), DEFAULT_SEARCH_SORT)
        compiled = compile_filters(body.get("filters"), specs[0])
        after = cursor_key(specs, search_after) if search_after is not None else None
    except SearchError as exc:
        return bad_request(str(exc))
    eq_fields = tuple(f for f, _ in compiled.eq)
    prefix = tuple(v for _, v in compiled.eq)
    view = contacts_view(ctx, location, specs, eq_fields, since_ms=compiled.since_ms)
    bounds = compiled.index_range
    lo, hi = view.range_of(prefix)
    if bounds is not None:
        lo, hi = view.range_of(
            prefix,
            bounds.low,
            bounds.high,
            low_open=bounds.low_open,
            high_open=bounds.high_open,
            missing=False,
        )
    if after is not None:
        after = (*prefix, *after)
    result = select(
        view,
        lo=lo,
        hi=hi,
        predicate=all_of(compiled.predicate, query_predicate(body.get("query"))),
        after=after,
        offset=0 if after is not None else (page - 1) * page_limit,
        limit=page_limit,
    )
    contacts = [{**r, "searchAfter": search_after_of(r, specs)} for r in result.records]
    return json_response({"contacts": contacts, "total": result.total})


@router.get("/contacts")
async def list_contacts(request: Request) -> Response:
    """Deprecated, still served: startAfter (epoch ms of dateAdded) + startAfterId paging."""
    ctx = context(request)
    params = request.query_params
    location = params.get("locationId")
    if not location:
        return unprocessable(["locationId should not be empty", "locationId must be a string"])
    if location != location_of(request):
        return forbidden_location()
    try:
        limit = int(float(params.get("limit", "20")))
        start_after = params.get("startAfter")
        start_after_ms = int(float(start_after)) if start_after else None
    except ValueError:
        return unprocessable(["limit must be a number conforming to the specified constraints"])
    if limit > LIST_MAX_LIMIT:
        return unprocessable([f"limit must not be greater than {LIST_MAX_LIMIT}"])
    limit = max(limit, 1)
    view = contacts_view(ctx, location, LIST_ORDER)
    after: tuple | None = None
    start_after_id = params.get("startAfterId") or None
    if start_after_id is not None:
        known = view.key_of(start_after_id)
        if known is not None and start_after_ms in (None, known[0]):
            after = known
        elif start_after_ms is not None:
            after = (start_after_ms, start_after_id)
    elif start_after_ms is not None:
        after = (start_after_ms, TOP)
    result = select(view, predicate=query_predicate(params.get("query")), after=after, limit=limit)
    records = result.records
    current = result.start_rank // limit + 1
    meta: dict[str, Any] = {
        "total": result.total,
        "nextPageUrl": None,
        "startAfterId": records[-1]["id"] if records else None,
        "startAfter": field_value(records[-1], "dateAdded") if records else None,
        "currentPage": current,
        "nextPage": current + 1 if result.has_more else None,
        "prevPage": current - 1 if current > 1 else None,
    }
    if result.has_more and records:
        meta["nextPageUrl"] = url_with(
            request, "/contacts/", startAfter=meta["startAfter"], startAfterId=meta["startAfterId"]
        )
    return json_response({"contacts": records, "meta": meta})


@router.get("/contacts/{contact_id}")
async def get_contact(request: Request, contact_id: str) -> Response:
    record, err = find_contact(request, contact_id)
    return err or json_response({"contact": record})


@router.get("/contacts/{contact_id}/notes")
async def contact_notes(request: Request, contact_id: str) -> Response:
    ctx = context(request)
    _, err = find_contact(request, contact_id)
    if err:
        return err
    notes = ctx.collection("notes", location_of(request))
    view = notes_view(ctx, location_of(request))
    found = [n for n in (notes.get(i) for i in view.ids(contact_id)) if n is not None]
    found.sort(key=lambda n: (n.get("dateAdded") or "", n["id"]), reverse=True)
    return json_response({"notes": found})


def find_contact(request: Request, contact_id: str) -> tuple[Record | None, Response | None]:
    return find_live(request, "contacts", contact_id, "Contact not found")


# --- writes --------------------------------------------------------------------------------


def dedupe_view(ctx: GhlContext, location: str, *, refresh: bool = True) -> GroupView:
    """Contact ids by normalised email and phone: what upsert and create match on."""

    def groups(record: Record) -> list[tuple[str, str | None]]:
        return [(f, norm(record.get(f))) for f, norm in _DEDUPE_NORMALIZERS.items()]

    contacts = ctx.collection("contacts", location)
    return ctx.views.grouped(contacts, "dedupe", groups, refresh=refresh)


def contacts_view(
    ctx: GhlContext,
    location: str,
    specs: list[SortSpec],
    eq_fields: tuple[str, ...] = (),
    *,
    refresh: bool = True,
    since_ms: int | None = None,
) -> SortedView:
    contacts = ctx.collection("contacts", location)
    name = ("sort", tuple(specs), eq_fields)
    if since_ms is not None:
        return ctx.views.sorted_since(contacts, name, key_fn(specs, eq_fields), since_ms)
    return ctx.views.sorted(contacts, name, key_fn(specs, eq_fields), refresh=refresh)


def notes_view(ctx: GhlContext, location: str, *, refresh: bool = True) -> GroupView:
    notes = ctx.collection("notes", location)
    return ctx.views.grouped(notes, "by_contact", lambda n: (n.get("contactId"),), refresh=refresh)


def warm(ctx: GhlContext, location: str) -> None:
    """Build the indexes the usual requests need, one pass per collection."""
    for specs in (DEFAULT_SEARCH_SORT, LIST_ORDER, [SortSpec("dateUpdated", False)]):
        contacts_view(ctx, location, specs, refresh=False)
    dedupe_view(ctx, location, refresh=False)
    ctx.views.warm(ctx.collection("contacts", location))
    notes_view(ctx, location, refresh=False)
    ctx.views.warm(ctx.collection("notes", location))


def find_duplicate(
    ctx: GhlContext, location: str, fields: dict[str, Any], exclude: str | None = None
) -> tuple[Record | None, str | None]:
    """First existing contact matching `fields` in the location's configured field order
    (oldest contact wins when several share a value)."""
    contacts = ctx.collection("contacts", location)
    view = dedupe_view(ctx, location)
    for name in ctx.settings[location].duplicate_fields:
        value = _DEDUPE_NORMALIZERS[name](fields.get(name))
        if value is None:
            continue
        ids = view.ids((name, value)) - {exclude}
        candidates = [c for c in (contacts.get(i) for i in ids) if c is not None]
        if candidates:
            return min(candidates, key=lambda c: (c.get("dateAdded") or "", c["id"])), name
    return None, None


def duplicate_error(match: Record, field: str) -> Response:
    meta = {"contactId": match["id"], "matchingField": field, "contactName": match.get("name")}
    return bad_request("This location does not allow duplicated contacts.", meta=meta)


def contact_changes(
    current: Record | None, body: dict[str, Any], key_ids: dict[str, str] | None = None
) -> dict[str, Any]:
    """A write body in read-model terms: phones in E.164, custom fields as {id, value},
    and the derived name / lower-case fields kept consistent."""
    changes = {k: v for k, v in body.items() if k not in _WRITE_ONLY}
    if changes.get("phone"):
        changes["phone"] = normalize_phone(changes["phone"])
    if "customFields" in changes:
        changes["customFields"] = merge_custom_fields(
            (current or {}).get("customFields"), changes["customFields"], "value", key_ids
        )
    merged = {**(current or {}), **changes}
    if {"firstName", "lastName", "name"} & changes.keys():
        first, last = merged.get("firstName"), merged.get("lastName")
        if "name" not in changes:
            changes["name"] = " ".join(p for p in (first, last) if p) or None
        full = changes["name"] if "name" in changes else merged.get("name")
        # Cleared names leave empty strings: the read model types these as plain strings.
        changes["firstNameLowerCase"] = (first or "").lower()
        changes["lastNameLowerCase"] = (last or "").lower()
        changes["fullNameLowerCase"] = (full or "").lower()
    if "email" in changes:
        changes["emailLowerCase"] = normalize_email(changes["email"]) or ""
    return changes


def new_contact(ctx: GhlContext, location: str, body: dict[str, Any]) -> Record:
    """Insert a contact; like GHL, fields nobody set are absent rather than null."""
    record: Record = {"locationId": location, "type": "lead", "dnd": False, "dndSettings": {}}
    record |= {"tags": [], "customFields": [], "source": "public api"}
    changes = contact_changes(None, body, ids_by_key(ctx, location))
    record |= {k: v for k, v in changes.items() if v is not None}
    return ctx.collection("contacts", location).insert(record)


@router.post("/contacts/upsert")
async def upsert_contact(request: Request) -> Response:
    ctx = context(request)
    body, err = await json_body(request)
    if err:
        return err
    assert body is not None
    problems = validate(body, UPSERT_FIELDS, required=("locationId",))
    if problems:
        return unprocessable(problems)
    location = body["locationId"]
    if location != location_of(request):
        return forbidden_location()
    settings = ctx.settings[location]
    match, matched_on = None, None
    if not (body.get("createNewIfDuplicateAllowed") and settings.allow_duplicate_contact):
        match, matched_on = find_duplicate(ctx, location, body)
    if match is None:
        record, is_new = new_contact(ctx, location, body), True
    else:
        update = dict(body)
        # Another contact already holds the lower-priority field: leave it out rather than
        # create a duplicate (documented upsert behaviour).
        for name in settings.duplicate_fields:
            if name != matched_on and update.get(name):
                holder, _ = find_duplicate(ctx, location, {name: update[name]}, match["id"])
                if holder is not None:
                    update.pop(name)
        contacts = ctx.collection("contacts", location)
        changes = contact_changes(match, update, ids_by_key(ctx, location))
        record = contacts.patch(match["id"], changes)
        is_new = False
    ctx.log_write(request, body, 200)
    return json_response({"new": is_new, "contact": record, "traceId": trace_id()})


@router.post("/contacts")
async def create_contact(request: Request) -> Response:
    ctx = context(request)
    body, err = await json_body(request)
    if err:
        return err
    assert body is not None
    problems = validate(body, CREATE_FIELDS, required=("locationId",))
    if problems:
        return unprocessable(problems)
    location = body["locationId"]
    if location != location_of(request):
        return forbidden_location()
    if not ctx.settings[location].allow_duplicate_contact:
        match, field = find_duplicate(ctx, location, body)
        if match is not None and field is not None:
            return duplicate_error(match, field)
    record = new_contact(ctx, location, body)
    ctx.log_write(request, body, 201)
    return json_response({"contact": record}, 201)


@router.put("/contacts/{contact_id}")
async def update_contact(request: Request, contact_id: str) -> Response:
    ctx = context(request)
    body, err = await json_body(request)
    if err:
        return err
    assert body is not None
    problems = validate(body, UPDATE_FIELDS)
    if problems:
        return unprocessable(problems)
    current, err = find_contact(request, contact_id)
    if err:
        return err
    assert current is not None
    location = location_of(request)
    if not ctx.settings[location].allow_duplicate_contact:
        match, field = find_duplicate(ctx, location, body, exclude=contact_id)
        if match is not None and field is not None:
            return duplicate_error(match, field)
    changes = contact_changes(current, body, ids_by_key(ctx, location))
    record = ctx.collection("contacts", location).patch(contact_id, changes)
    ctx.log_write(request, body, 200)
    return json_response({"succeded": True, "contact": record})
