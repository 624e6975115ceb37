"""CallRail v3 accounts, companies, trackers and users (small lists, paged in memory)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from lazi.sandbox._ghl_cr_kit import Record, dotted, json_response, last_param, sort_component
from lazi.sandbox.callrail.base import (
    CrContext,
    context,
    error,
    live_records,
    offset_envelope,
    paging,
)

router = APIRouter()


@router.get("/v3/a")
async def list_accounts(request: Request) -> Response:
    ctx = context(request)
    accounts = [_account(ctx, a) for a in ctx.world.callrail_accounts]
    page, per_page = paging(request)
    return offset_envelope(
        request, "accounts", accounts[(page - 1) * per_page : page * per_page], len(accounts)
    )


@router.get("/v3/a/{account_id}")
async def get_account(request: Request, account_id: str) -> Response:
    return json_response(_account(context(request), account_id))


def _account(ctx: CrContext, account_id: str) -> Record:
    companies = live_records(ctx, "companies", account_id)
    name = companies[0]["name"] if companies else account_id
    # The World has no numeric account id; derive a stable one from the hex id.
    numeric = int(account_id[3:11], 16) % 1_000_000_000
    return {
        "id": account_id,
        "name": name,
        "outbound_recording_enabled": True,
        "hipaa_account": False,
        "numeric_id": numeric,
    }


def _small_list(request: Request, name: str, account: str, filters: dict[str, Any]) -> Response:
    """Companies, trackers and users: a handful per account, filtered and sorted in memory."""
    records = live_records(context(request), name, account)
    for param, field in filters.items():
        value = last_param(request, param)
        if value:
            records = [r for r in records if dotted(r, field) == value]
    search = (last_param(request, "search") or "").lower()
    if search:
        records = [r for r in records if search in str(r.get("name", "")).lower()]
    sort = last_param(request, "sort") or last_param(request, "sorting") or "name"
    descending = (last_param(request, "order") or "asc").lower() == "desc"
    if records and sort in records[0]:
        records.sort(key=lambda r: (sort_component(r.get(sort), descending), r["id"]))
    page, per_page = paging(request)
    return offset_envelope(
        request, name, records[(page - 1) * per_page : page * per_page], len(records)
    )


@router.get("/v3/a/{account_id}/companies")
async def list_companies(request: Request, account_id: str) -> Response:
    return _small_list(request, "companies", account_id, {"status": "status"})


@router.get("/v3/a/{account_id}/trackers")
async def list_trackers(request: Request, account_id: str) -> Response:
    filters = {"company_id": "company.id", "type": "type", "status": "status"}
    return _small_list(request, "trackers", account_id, filters)


@router.get("/v3/a/{account_id}/users")
async def list_users(request: Request, account_id: str) -> Response:
    return _small_list(request, "users", account_id, {"role": "role"})


@router.get("/v3/a/{account_id}/companies/{company_id}")
async def get_company(request: Request, account_id: str, company_id: str) -> Response:
    return _get_one(request, "companies", account_id, company_id)


@router.get("/v3/a/{account_id}/trackers/{tracker_id}")
async def get_tracker(request: Request, account_id: str, tracker_id: str) -> Response:
    return _get_one(request, "trackers", account_id, tracker_id)


@router.get("/v3/a/{account_id}/users/{user_id}")
async def get_user(request: Request, account_id: str, user_id: str) -> Response:
    return _get_one(request, "users", account_id, user_id)


def _get_one(request: Request, name: str, account: str, record_id: str) -> Response:
    coll = context(request).collection(name, account)
    record = coll.get(record_id)
    if record is None or coll.is_deleted(record):
        return error(404, "Not Found")
    return json_response(record)
