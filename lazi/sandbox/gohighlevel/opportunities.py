"""Opportunities: GET /opportunities/search (snake_case or camelCase query, meta + startAfter
paging), POST /opportunities/search (body form), GET /opportunities/pipelines,
GET/PUT /opportunities/{id}, PUT /opportunities/{id}/status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from lazi.sandbox._ghl_cr_kit import (
    TOP,
    Page,
    Predicate,
    Record,
    SortedView,
    json_response,
    last_param,
    ms_to_iso_z,
    prefix_component,
    select,
    url_with,
)
from lazi.sandbox.gohighlevel.base import (
    GhlContext,
    bad_request,
    context,
    enum_problem,
    find_live,
    forbidden_location,
    json_body,
    location_of,
    merge_custom_fields,
    unprocessable,
    validate,
)
from lazi.sandbox.gohighlevel.search import (
    SearchError,
    SortSpec,
    cursor_key,
    field_value,
    key_fn,
    search_after_of,
)

router = APIRouter()

MAX_LIMIT = 100
STATUSES = ("open", "won", "lost", "abandoned", "all")
ORDERS = {"added_asc": SortSpec("createdAt", False), "added_desc": SortSpec("createdAt", True)}
DEFAULT_ORDER = "added_desc"
# Equality filters: the record field and the query parameter's two spellings (the v2 spec and
# older clients send snake_case, the SDK built from the v3 spec camelCase; production takes both).
_EQUALITY = {
    "pipelineId": ("pipeline_id", "pipelineId"),
    "pipelineStageId": ("pipeline_stage_id", "pipelineStageId"),
    "contactId": ("contact_id", "contactId"),
    "assignedTo": ("assigned_to", "assignedTo"),
    "id": ("id",),
}
LOCATION_PARAMS = ("location_id", "locationId")
# POST /opportunities/search body (OpportunitySearchBodyDTO); only locationId is needed in
# practice, so a client may leave the rest out or send them empty.
SEARCH_BODY_FIELDS = {
    "locationId": "str",
    "query": "str?",
    "limit": "num?",
    "page": "num?",
    "searchAfter": "list?",
    "additionalDetails": "obj?",
}
UPDATE_FIELDS = {
    "pipelineId": "str",
    "name": "str",
    "pipelineStageId": "str",
    "status": "str",
    "monetaryValue": "num",
    "assignedTo": "str?",
    "customFields": "list",
}
STATUS_FIELDS = {"status": "str", "lostReasonId": "str"}


@router.get("/opportunities/search")
async def search_opportunities(request: Request) -> Response:
    ctx = context(request)
    location = _param(request, LOCATION_PARAMS)
    if not location:
        return unprocessable(["location_id should not be empty", "location_id must be a string"])
    if location != location_of(request):
        return forbidden_location()
    problems: list[str] = []
    try:
        limit = int(float(last_param(request, "limit") or 20))
        page = int(float(last_param(request, "page") or 1))
    except ValueError:
        limit, page = 20, 1
        problems.append("limit must be a number conforming to the specified constraints")
    problems += _limit_problems(limit)
    status = last_param(request, "status") or None
    if (msg := enum_problem("status", status, STATUSES)) is not None:
        problems.append(msg)
    try:
        low = _mdy(last_param(request, "date"), end_of_day=False)
        high = _mdy(last_param(request, "endDate"), end_of_day=True)
    except ValueError:
        problems.append("date and endDate must be dates formatted mm-dd-yyyy")
        low = high = None
    if problems:
        return unprocessable(problems)
    order = last_param(request, "order")
    spec = ORDERS.get(order or DEFAULT_ORDER, ORDERS[DEFAULT_ORDER])
    start_after = last_param(request, "startAfter")
    start_after_id = last_param(request, "startAfterId")
    after = None
    if start_after:
        try:
            # startAfter alone (as the v3 SDK may send it) resumes after every record of
            # that instant: TOP sorts after any id.
            after = cursor_key([spec], [start_after, start_after_id or TOP])
        except SearchError as exc:
            return bad_request(str(exc))
    result, current = _search(
        ctx,
        location,
        spec,
        limit=max(limit, 1),
        page=max(page, 1),
        after=after,
        wanted=_wanted(request, status),
        query=last_param(request, "q"),
        low=low,
        high=high,
    )
    records = result.records
    meta: dict[str, Any] = {
        "total": result.total,
        "nextPageUrl": None,
        "startAfterId": records[-1]["id"] if records else None,
        "startAfter": field_value(records[-1], "createdAt") if records else None,
        "currentPage": current,
        "nextPage": current + 1 if result.has_more else None,
        "prevPage": current - 1 if current > 1 else None,
    }
    if result.has_more and records:
        meta["nextPageUrl"] = url_with(
            request,
            "/opportunities/search",
            startAfter=meta["startAfter"],
            startAfterId=meta["startAfterId"],
            page=current + 1,
        )
    return json_response({"opportunities": records, "meta": meta, "aggregations": {}})


@router.post("/opportunities/search")
async def search_opportunities_by_body(request: Request) -> Response:
    """The body form of the search: the GET form's records, order (newest first) and
    limits, paged by `page` or by `searchAfter` ([createdAt ms, id], as each record's own
    `searchAfter` gives it, numbers or strings). Answers {opportunities, total, aggregations}.
    additionalDetails is accepted; the world has no tasks or calendar events to attach."""
    ctx = context(request)
    body, err = await json_body(request)
    if err:
        return err
    assert body is not None
    problems = validate(body, SEARCH_BODY_FIELDS, required=("locationId",))
    if problems:
        return unprocessable(problems)
    if body["locationId"] != location_of(request):
        return forbidden_location()
    limit, page = int(body.get("limit") or 20), int(body.get("page") or 1)
    if problems := _limit_problems(limit):
        return unprocessable(problems)
    spec = ORDERS[DEFAULT_ORDER]
    search_after = body.get("searchAfter") or None
    try:
        after = None if search_after is None else cursor_key([spec], search_after)
    except SearchError as exc:
        return bad_request(str(exc))
    result, _ = _search(
        ctx,
        body["locationId"],
        spec,
        limit=max(limit, 1),
        page=max(page, 1),
        after=after,
        wanted={},
        query=body.get("query"),
    )
    records = [{**r, "searchAfter": search_after_of(r, [spec])} for r in result.records]
    return json_response({"opportunities": records, "total": result.total, "aggregations": {}})


def _search(
    ctx: GhlContext,
    location: str,
    spec: SortSpec,
    *,
    limit: int,
    page: int,
    after: tuple | None,
    wanted: dict[str, str],
    query: str | None,
    low: int | None = None,
    high: int | None = None,
) -> tuple[Page, int]:
    """A page of the location's live opportunities in `spec` order and its page number:
    equality filters `wanted`, free text `query`, createdAt within [low, high] (epoch ms),
    after the cursor `after` if given, else page `page` of `limit`."""
    eq_fields = tuple(sorted(wanted))
    prefix = tuple(prefix_component(wanted[f]) for f in eq_fields)
    view = opportunities_view(ctx, location, spec, eq_fields, since_ms=low)
    if spec.descending:
        low, high = (None if high is None else -high), (None if low is None else -low)
    lo, hi = view.range_of(prefix, low, high, missing=low is None and high is None)
    result = select(
        view,
        lo=lo,
        hi=hi,
        predicate=_query_predicate(query),
        after=None if after is None else (*prefix, *after),
        offset=0 if after is not None else (page - 1) * limit,
        limit=limit,
    )
    current = page if after is None else result.start_rank // limit + 1
    return result, current


def _limit_problems(limit: int) -> list[str]:
    return [f"limit must not be greater than {MAX_LIMIT}"] if limit > MAX_LIMIT else []


def _param(request: Request, names: tuple[str, ...]) -> str | None:
    """The first non-empty value among a query parameter's accepted spellings."""
    return next((value for name in names if (value := last_param(request, name))), None)


def opportunities_view(
    ctx: GhlContext,
    location: str,
    spec: SortSpec,
    eq_fields: tuple[str, ...] = (),
    *,
    refresh: bool = True,
    since_ms: int | None = None,
) -> SortedView:
    opportunities = ctx.collection("opportunities", location)
    name = ("sort", spec, eq_fields)
    if since_ms is not None:  # createdAt never exceeds the modified time (updatedAt)
        return ctx.views.sorted_since(opportunities, name, key_fn([spec], eq_fields), since_ms)
    return ctx.views.sorted(opportunities, name, key_fn([spec], eq_fields), refresh=refresh)


def warm(ctx: GhlContext, location: str) -> None:
    opportunities_view(ctx, location, ORDERS[DEFAULT_ORDER], refresh=False)
    ctx.views.warm(ctx.collection("opportunities", location))


def _wanted(request: Request, status: str | None) -> dict[str, str]:
    """record field -> required value, from the equality query parameters."""
    wanted = {
        field: value for field, names in _EQUALITY.items() if (value := _param(request, names))
    }
    if status and status != "all":
        wanted["status"] = status
    return wanted


def _query_predicate(query: str | None) -> Predicate | None:
    """`q`: free text over the opportunity and contact names, email and phone. (The
    equality filters need no check: the index partition matches them exactly.)"""
    q = (query or "").strip().lower()
    if not q:
        return None

    def match(record: Record) -> bool:
        contact = record.get("contact") or {}
        hay = (record.get("name"), contact.get("name"), contact.get("email"), contact.get("phone"))
        return any(q in str(h).lower() for h in hay if h)

    return match


def _mdy(value: str | None, *, end_of_day: bool) -> int | None:
    """mm-dd-yyyy (the documented format; yyyy-mm-dd also taken) as epoch ms, UTC."""
    if not value:
        return None
    for fmt in ("%m-%d-%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        ms = int(day.timestamp() * 1000)
        return ms + 86_400_000 - 1 if end_of_day else ms
    raise ValueError(value)


@router.get("/opportunities/pipelines")
async def pipelines(request: Request) -> Response:
    location = last_param(request, "locationId")
    if not location:
        return bad_request("locationId must be a string")
    if location != location_of(request):
        return forbidden_location()
    return json_response({"pipelines": _pipelines(request, location)})


def _pipelines(request: Request, location: str) -> list[Record]:
    coll = context(request).collection("pipelines", location)
    return list(coll.records(live=True))


@router.get("/opportunities/{opportunity_id}")
async def get_opportunity(request: Request, opportunity_id: str) -> Response:
    record, err = find_opportunity(request, opportunity_id)
    return err or json_response({"opportunity": record})


def find_opportunity(request: Request, opp_id: str) -> tuple[Record | None, Response | None]:
    return find_live(request, "opportunities", opp_id, "Opportunity not found")


@router.put("/opportunities/{opportunity_id}")
async def update_opportunity(request: Request, opportunity_id: str) -> Response:
    body, err = await json_body(request)
    if err:
        return err
    assert body is not None
    problems = validate(body, UPDATE_FIELDS)
    if (msg := enum_problem("status", body.get("status"), STATUSES)) is not None:
        problems.append(msg)
    if problems:
        return unprocessable(problems)
    current, err = find_opportunity(request, opportunity_id)
    if err:
        return err
    assert current is not None
    pipeline_id = body.get("pipelineId", current.get("pipelineId"))
    stage_id = body.get("pipelineStageId")
    if "pipelineId" in body or stage_id is not None:
        pipeline = next(
            (p for p in _pipelines(request, location_of(request)) if p["id"] == pipeline_id), None
        )
        if pipeline is None:
            return bad_request("Pipeline not found")
        stages = {s.get("id") for s in pipeline.get("stages") or [] if isinstance(s, dict)}
        if stage_id is not None and stage_id not in stages:
            return bad_request("Pipeline stage not found")
    changes = _changes(request, current, body)
    record = _patch(request, opportunity_id, changes, body)
    return json_response({"opportunity": record})


@router.put("/opportunities/{opportunity_id}/status")
async def update_status(request: Request, opportunity_id: str) -> Response:
    body, err = await json_body(request)
    if err:
        return err
    assert body is not None
    problems = validate(body, STATUS_FIELDS, required=("status",))
    if (msg := enum_problem("status", body.get("status"), STATUSES)) is not None:
        problems.append(msg)
    if problems:
        return unprocessable(problems)
    current, err = find_opportunity(request, opportunity_id)
    if err:
        return err
    assert current is not None
    _patch(request, opportunity_id, _changes(request, current, body), body)
    return json_response({"succeded": True})


def _changes(request: Request, current: Record, body: dict[str, Any]) -> dict[str, Any]:
    """Body in read-model terms, with the change timestamps GHL maintains."""
    now = ms_to_iso_z(int(context(request).world.now.timestamp() * 1000))
    changes = dict(body)
    if "customFields" in changes:
        changes["customFields"] = merge_custom_fields(
            current.get("customFields"), changes["customFields"], "fieldValue"
        )
    if "status" in changes and changes["status"] != current.get("status"):
        changes["lastStatusChangeAt"] = now
    if "pipelineStageId" in changes and changes["pipelineStageId"] != current.get(
        "pipelineStageId"
    ):
        changes["lastStageChangeAt"] = now
    changes["lastActionDate"] = now
    return changes


def _patch(request: Request, opp_id: str, changes: dict[str, Any], body: Any) -> Record:
    ctx = context(request)
    record = ctx.collection("opportunities", location_of(request)).patch(opp_id, changes)
    ctx.log_write(request, body, 200)
    return record
