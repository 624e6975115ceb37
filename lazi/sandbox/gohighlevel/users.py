"""Users: GET /users/?locationId= (deprecated in favour of /users/search, still served), the
location's team as the rest of its data names them (assignedTo, userId)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from lazi.sandbox._ghl_cr_kit import json_response, last_param
from lazi.sandbox.gohighlevel.base import bad_request, context, forbidden_location, location_of

router = APIRouter()


@router.get("/users")
async def location_users(request: Request) -> Response:
    location = last_param(request, "locationId")
    if not location:
        return bad_request("locationId must be a string")
    if location != location_of(request):
        return forbidden_location()
    users = context(request).collection("users", location).records(live=True)
    return json_response({"users": [u for u in users if not u.get("deleted")]})
