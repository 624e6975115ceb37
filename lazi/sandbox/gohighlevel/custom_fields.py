"""Custom fields of a location (official `locations.json`): GET and POST
/locations/{locationId}/customFields, GET/PUT/DELETE /locations/{locationId}/customFields/{id}.

Each location starts with the field the world's contacts already carry (the ServiceTitan
customer id, `contact.servicetitan_customer_id`). A new field's `fieldKey` is its model and
its name in snake case, as GHL derives it ("ST Lifetime Value" -> "contact.st_lifetime_value");
a second field with a taken key is refused (400), which GHL's UI also refuses.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from lazi.sandbox._ghl_cr_kit import Record, json_response
from lazi.sandbox.gohighlevel.base import (
    GhlContext,
    bad_request,
    context,
    forbidden_location,
    json_body,
    location_of,
    unprocessable,
    validate,
)

router = APIRouter()

MODELS = ("contact", "opportunity")
CREATE_FIELDS = {
    "name": "str",
    "dataType": "str",
    "placeholder": "str",
    "acceptedFormat": "list",
    "isMultipleFile": "bool",
    "maxNumberOfFiles": "num",
    "textBoxListOptions": "list",
    "position": "num",
    "model": "str",
}
UPDATE_FIELDS = {k: v for k, v in CREATE_FIELDS.items() if k not in ("dataType", "model")}
DATA_TYPES = (
    "TEXT",
    "LARGE_TEXT",
    "NUMERICAL",
    "PHONE",
    "MONETORY",
    "CHECKBOX",
    "SINGLE_OPTIONS",
    "MULTIPLE_OPTIONS",
    "FLOAT",
    "TIME",
    "DATE",
    "TEXTBOX_LIST",
    "FILE_UPLOAD",
    "SIGNATURE",
)


def seed(ctx: GhlContext) -> None:
    """The fields the world's records already use, per location."""
    for location, ghl in ctx.world.ghl.items():
        ctx.custom_fields[location] = {
            ghl.st_id_field: _record(
                ghl.st_id_field, location, "ServiceTitan Customer ID", "TEXT", "contact"
            )
        }


def field_key(model: str, name: str) -> str:
    return f"{model}.{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}"


def _record(field_id: str, location: str, name: str, data_type: str, model: str) -> Record:
    return {
        "id": field_id,
        "name": name,
        "fieldKey": field_key(model, name),
        "placeholder": "",
        "dataType": data_type,
        "position": 0,
        "picklistOptions": [],
        "picklistImageOptions": [],
        "isAllowedCustomOption": False,
        "isMultiFileAllowed": False,
        "maxFileLimit": 0,
        "locationId": location,
        "model": model,
    }


def ids_by_key(ctx: GhlContext, location: str) -> dict[str, str]:
    """fieldKey -> id: what a `{key, field_value}` write resolves against."""
    return {f["fieldKey"]: f["id"] for f in ctx.custom_fields.get(location, {}).values()}


def _scoped(request: Request, location_id: str) -> Response | None:
    return None if location_id == location_of(request) else forbidden_location()


@router.get("/locations/{location_id}/customFields")
async def list_fields(request: Request, location_id: str) -> Response:
    if (err := _scoped(request, location_id)) is not None:
        return err
    model = request.query_params.get("model") or "all"
    if model not in (*MODELS, "all"):
        return unprocessable([f"model must be one of the following values: {', '.join(MODELS)}"])
    fields = context(request).custom_fields.get(location_id, {}).values()
    found = [f for f in fields if model == "all" or f["model"] == model]
    return json_response({"customFields": found})


@router.post("/locations/{location_id}/customFields")
async def create_field(request: Request, location_id: str) -> Response:
    ctx = context(request)
    if (err := _scoped(request, location_id)) is not None:
        return err
    body, err = await json_body(request)
    if err:
        return err
    assert body is not None
    problems = validate(body, CREATE_FIELDS, required=("name", "dataType"))
    model = body.get("model") or "contact"
    if model not in MODELS:
        problems.append(f"model must be one of the following values: {', '.join(MODELS)}")
    if body.get("dataType") not in (None, *DATA_TYPES):
        problems.append(f"dataType must be one of the following values: {', '.join(DATA_TYPES)}")
    if problems:
        return unprocessable(problems)
    fields = ctx.custom_fields.setdefault(location_id, {})
    key = field_key(model, body["name"])
    if key in ids_by_key(ctx, location_id):
        return bad_request(f"Custom field with key {key} already exists")
    record = _record(secrets.token_hex(10), location_id, body["name"], body["dataType"], model)
    record |= {k: body[k] for k in ("placeholder", "position") if k in body}
    fields[record["id"]] = record
    ctx.log_write(request, body, 201)
    return json_response({"customField": record}, 201)


def _find(request: Request, location_id: str, field_id: str) -> tuple[Any, Response | None]:
    if (err := _scoped(request, location_id)) is not None:
        return None, err
    found = context(request).custom_fields.get(location_id, {}).get(field_id)
    return (found, None) if found is not None else (None, bad_request("Custom field not found"))


@router.get("/locations/{location_id}/customFields/{field_id}")
async def get_field(request: Request, location_id: str, field_id: str) -> Response:
    found, err = _find(request, location_id, field_id)
    return err or json_response({"customField": found})


@router.put("/locations/{location_id}/customFields/{field_id}")
async def update_field(request: Request, location_id: str, field_id: str) -> Response:
    found, err = _find(request, location_id, field_id)
    if err:
        return err
    body, err = await json_body(request)
    if err:
        return err
    assert body is not None
    if problems := validate(body, UPDATE_FIELDS):
        return unprocessable(problems)
    found |= {k: v for k, v in body.items() if k in ("name", "placeholder", "position")}
    context(request).log_write(request, body, 200)
    return json_response({"customField": found})


@router.delete("/locations/{location_id}/customFields/{field_id}")
async def delete_field(request: Request, location_id: str, field_id: str) -> Response:
    _, err = _find(request, location_id, field_id)
    if err:
        return err
    del context(request).custom_fields[location_id][field_id]
    context(request).log_write(request, None, 200)
    return json_response({"succeded": True})
