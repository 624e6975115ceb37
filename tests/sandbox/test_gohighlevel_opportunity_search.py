"""Contract: the two forms of the opportunity search published clients use (issue 15).

GET /opportunities/search with the v3 SDK's camelCase parameters (the stand-in answered 422
"location_id should not be empty") and POST /opportunities/search (404 "Cannot POST"). Both
serve the records and paging of the snake_case GET form; requests and answers are checked
against the official opportunities.json where it describes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import SPEC_ROOT, GhlClient, check_ghl

ghl = fx.ghl
ghl_ro = fx.ghl_ro

pytestmark = pytest.mark.skipif(
    not (SPEC_ROOT / "gohighlevel").is_dir(), reason="GoHighLevel specs not available"
)

SPEC = "opportunities.json"
# The snake_case spelling of each camelCase parameter, and the record field it filters.
SPELLINGS = {
    "pipelineId": "pipeline_id",
    "pipelineStageId": "pipeline_stage_id",
    "contactId": "contact_id",
    "assignedTo": "assigned_to",
}


def _ms(iso: str) -> int:
    return round(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _newest_first(ghl: GhlClient) -> list[dict]:
    live = list(ghl.coll("opportunities").records(live=True))
    return sorted(live, key=lambda o: (o["createdAt"], o["id"]), reverse=True)


def _get(ghl: GhlClient, **params: Any) -> dict:
    response = ghl.http.get("/opportunities/search", params=params)
    assert response.status_code == 200, response.text
    check_ghl(response, SPEC)
    return response.json()


def _post(ghl: GhlClient, **body: Any) -> dict:
    response = ghl.http.post("/opportunities/search", json={"locationId": ghl.location, **body})
    assert response.status_code == 200, response.text
    check_ghl(response, SPEC)
    return response.json()


def test_camel_case_location_id_is_accepted(ghl_ro: GhlClient) -> None:
    snake = _get(ghl_ro, location_id=ghl_ro.location, limit=100)
    camel = _get(ghl_ro, locationId=ghl_ro.location, limit=100)
    assert camel == snake
    assert [o["id"] for o in camel["opportunities"]] == [o["id"] for o in _newest_first(ghl_ro)]


@pytest.mark.parametrize("param", sorted(SPELLINGS))
def test_camel_case_filters_select_what_snake_case_does(ghl_ro: GhlClient, param: str) -> None:
    live = _newest_first(ghl_ro)
    value = live[len(live) // 2][param]
    expected = [o["id"] for o in live if o[param] == value]
    camel = _get(ghl_ro, locationId=ghl_ro.location, limit=100, **{param: value})
    snake = _get(ghl_ro, location_id=ghl_ro.location, limit=100, **{SPELLINGS[param]: value})
    assert [o["id"] for o in camel["opportunities"]] == expected
    assert camel == snake and camel["meta"]["total"] == len(expected)


def test_camel_case_pages_follow_next_page_url_and_string_start_after(ghl_ro: GhlClient) -> None:
    expected = [o["id"] for o in _newest_first(ghl_ro)]
    assert len(expected) > 21  # several pages of 7
    seen: list[str] = []
    url, params = "/opportunities/search", {"locationId": ghl_ro.location, "limit": 7}
    while url:
        body = ghl_ro.http.get(url, params=params).json()
        seen += [o["id"] for o in body["opportunities"]]
        url, params = body["meta"]["nextPageUrl"], None
    assert seen == expected
    # The v3 SDK types startAfter as a string and may send it without startAfterId: the
    # page then starts after every record of that instant.
    first = _get(ghl_ro, locationId=ghl_ro.location, limit=7)
    rest = _get(
        ghl_ro, locationId=ghl_ro.location, limit=100, startAfter=str(first["meta"]["startAfter"])
    )
    assert [o["id"] for o in rest["opportunities"]] == expected[7:]


def test_post_search_answers_the_documented_body(ghl_ro: GhlClient) -> None:
    # Every property OpportunitySearchBodyDTO marks required, as the generated SDK sends it.
    body = {
        "locationId": ghl_ro.location,
        "query": "",
        "limit": 20,
        "page": 1,
        "searchAfter": [],
        "additionalDetails": {
            "notes": False,
            "tasks": False,
            "calendarEvents": False,
            "unReadConversations": False,
        },
    }
    response = ghl_ro.http.post("/opportunities/search", json=body)
    assert response.status_code == 200, response.text
    check_ghl(response, SPEC, request=True)
    answer = response.json()
    assert set(answer) == {"opportunities", "total", "aggregations"}
    live = _newest_first(ghl_ro)
    assert answer["total"] == len(live)
    assert [o["id"] for o in answer["opportunities"]] == [o["id"] for o in live[:20]]
    first = answer["opportunities"][0]
    assert {k: v for k, v in first.items() if k != "searchAfter"} == live[0]


def test_post_search_pages_like_the_get_form(ghl_ro: GhlClient) -> None:
    expected = [o["id"] for o in _newest_first(ghl_ro)]
    by_page: list[str] = []
    page = 1
    while batch := _post(ghl_ro, limit=9, page=page)["opportunities"]:
        by_page += [o["id"] for o in batch]
        page += 1
    assert by_page == expected
    # searchAfter as the spec types it (strings), taken from the last record of a page.
    by_cursor: list[str] = []
    cursor: list[Any] = []
    while batch := _post(ghl_ro, limit=9, searchAfter=cursor)["opportunities"]:
        by_cursor += [o["id"] for o in batch]
        cursor = [str(v) for v in batch[-1]["searchAfter"]]
    assert by_cursor == expected
    get_pages = _get(ghl_ro, location_id=ghl_ro.location, limit=9, page=2)
    assert _post(ghl_ro, limit=9, page=2)["opportunities"] == [
        {**o, "searchAfter": [_ms(o["createdAt"]), o["id"]]} for o in get_pages["opportunities"]
    ]


def test_post_search_free_text_query_matches_the_get_form(ghl_ro: GhlClient) -> None:
    needle = _newest_first(ghl_ro)[3]["contact"]["name"].split()[-1].lower()
    get = _get(ghl_ro, location_id=ghl_ro.location, q=needle, limit=100)
    post = _post(ghl_ro, query=needle, limit=100)
    assert [o["id"] for o in post["opportunities"]] == [o["id"] for o in get["opportunities"]]
    assert post["total"] == get["meta"]["total"] >= 1


def test_post_search_sees_a_write(ghl: GhlClient) -> None:
    target = _newest_first(ghl)[5]
    moved = ghl.http.put(f"/opportunities/{target['id']}", json={"monetaryValue": 4321.5})
    assert moved.status_code == 200
    found = _post(ghl, limit=100)["opportunities"]
    assert next(o for o in found if o["id"] == target["id"])["monetaryValue"] == 4321.5


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"locationId": 5}, 422),
        ({"locationId": "{loc}", "limit": 101}, 422),
        ({"locationId": "{loc}", "filterz": []}, 422),
        ({"locationId": "{loc}", "searchAfter": ["only-one"]}, 400),
        ({"locationId": "elsewhere0000000000x"}, 403),
    ],
)
def test_post_search_refusals(ghl_ro: GhlClient, body: dict, status: int) -> None:
    body = {k: ghl_ro.location if v == "{loc}" else v for k, v in body.items()}
    response = ghl_ro.http.post("/opportunities/search", json=body)
    assert response.status_code == status, response.text
    if status != 403:  # the spec documents 400, 401 and 422 bodies only
        check_ghl(response, SPEC)
    answer = response.json()
    assert answer["statusCode"] == status
    if status == 422:
        assert isinstance(answer["message"], list) and answer["error"] == "Unprocessable Entity"
