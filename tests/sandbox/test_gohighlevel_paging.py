"""Paging and filtering: POST /contacts/search (page/pageLimit, searchAfter, the 10,000-record
window), the deprecated GET /contacts/ (meta.nextPageUrl), GET /opportunities/search."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import GhlClient, ghl_server

# Fixtures live in the shared module; binding them here lets pytest find them.
ghl = fx.ghl
ghl_ro = fx.ghl_ro

BY_UPDATED = [{"field": "dateUpdated", "direction": "asc"}]


def _walk_search(
    ghl: GhlClient, page_limit: int, after: list | None = None, **body: object
) -> list[list[dict]]:
    pages = []
    while True:
        extra = {"searchAfter": after} if after is not None else {}
        response = ghl.search(pageLimit=page_limit, **body, **extra)
        assert response.status_code == 200, response.text
        contacts = response.json()["contacts"]
        pages.append(contacts)
        if len(contacts) < page_limit:
            return pages
        after = contacts[-1]["searchAfter"]


def _pad_to_multiple(ghl: GhlClient, multiple: int) -> int:
    """Add contacts until the live count is an exact multiple of `multiple`."""
    n = len(ghl.live_ids("contacts"))
    for i in range((-n) % multiple):
        r = ghl.http.post(
            "/contacts/upsert", json={"locationId": ghl.location, "email": f"pad{i}@example.org"}
        )
        assert r.status_code == 200 and r.json()["new"]
    return len(ghl.live_ids("contacts"))


def test_search_after_walks_everything_once(ghl: GhlClient) -> None:
    total = _pad_to_multiple(ghl, 25)
    pages = _walk_search(ghl, 25, sort=BY_UPDATED)
    ids = [c["id"] for page in pages for c in page]
    assert len(ids) == len(set(ids)) == total
    assert set(ids) == ghl.live_ids("contacts")
    # Exact multiple: the last full page is followed by one empty page, not an error.
    assert [len(p) for p in pages[-2:]] == [25, 0]
    stamps = [c["dateUpdated"] for page in pages for c in page]
    assert stamps == sorted(stamps)


def test_page_numbers_cover_the_same_records(ghl_ro: GhlClient) -> None:
    total = ghl_ro.search(pageLimit=1).json()["total"]
    seen: list[str] = []
    page = 1
    while True:
        body = ghl_ro.search(pageLimit=40, page=page).json()
        assert body["total"] == total
        seen += [c["id"] for c in body["contacts"]]
        if len(body["contacts"]) < 40:
            break
        page += 1
    assert len(seen) == len(set(seen)) == total == len(ghl_ro.live_ids("contacts"))
    beyond = ghl_ro.search(pageLimit=40, page=page + 1).json()
    assert beyond["contacts"] == [] and beyond["total"] == total


def test_default_sort_is_newest_first_with_cursor(ghl_ro: GhlClient) -> None:
    contacts = ghl_ro.search(pageLimit=50).json()["contacts"]
    added = [c["dateAdded"] for c in contacts]
    assert added == sorted(added, reverse=True)
    last = contacts[-1]
    assert last["searchAfter"][-1] == last["id"]


def test_empty_result(ghl_ro: GhlClient) -> None:
    body = ghl_ro.search(
        pageLimit=10, filters=[{"field": "email", "operator": "eq", "value": "nobody@nowhere.test"}]
    ).json()
    assert body == {"contacts": [], "total": 0}


def test_filters_eq_range_groups(ghl_ro: GhlClient) -> None:
    coll = ghl_ro.contacts()
    live = [r for _, r in coll.iter_from(0) if not coll.is_deleted(r)]
    sample = next(r for r in live if r.get("email"))
    body = ghl_ro.search(
        pageLimit=10,
        filters=[{"field": "email", "operator": "eq", "value": sample["email"].upper()}],
    ).json()
    assert sample["id"] in {c["id"] for c in body["contacts"]}
    cutoff = sorted(r["dateUpdated"] for r in live)[len(live) // 2]
    expected = {r["id"] for r in live if r["dateUpdated"] >= cutoff and "lead" in r["tags"]}
    body = ghl_ro.search(
        pageLimit=500,
        sort=BY_UPDATED,
        filters=[
            {"field": "dateUpdated", "operator": "range", "value": {"gte": cutoff}},
            {
                "group": "OR",
                "filters": [
                    {"field": "tags", "operator": "eq", "value": "lead"},
                    {"field": "id", "operator": "eq", "value": "no-such-id"},
                ],
            },
        ],
    ).json()
    assert {c["id"] for c in body["contacts"]} == expected and body["total"] == len(expected)


@pytest.mark.parametrize(
    "body",
    [
        {"pageLimit": 501},
        {"pageLimit": 0},
        {},
        {"pageLimit": 10, "page": 1, "searchAfter": [1, "x"]},
        {"pageLimit": 10, "filters": [{"field": "email", "operator": "like", "value": "a"}]},
        {"pageLimit": 10, "searchAfter": [1]},
    ],
)
def test_search_rejects_what_ghl_rejects(ghl_ro: GhlClient, body: dict) -> None:
    response = ghl_ro.search(**body)
    assert response.status_code == 400
    assert response.json()["statusCode"] == 400


def test_date_filter_sees_changes_after_advance(ghl: GhlClient) -> None:
    before = ghl.world.now
    ghl.world.advance(24 * 10)
    coll = ghl.contacts()
    changed = {
        r["id"] for _, r in coll.iter_from(coll.position_at(before)) if not coll.is_deleted(r)
    }
    assert changed, "advance() should touch some contacts"
    stamp = before.isoformat().replace("+00:00", "Z")
    filters = [{"field": "dateUpdated", "operator": "range", "value": {"gt": stamp}}]
    pages = _walk_search(ghl, 20, sort=BY_UPDATED, filters=filters)
    assert {c["id"] for p in pages for c in p} == changed
    # Deleted contacts are gone from every read.
    gone = [r["id"] for _, r in coll.iter_from(0) if coll.is_deleted(r)]
    if gone:
        assert ghl.http.get(f"/contacts/{gone[0]}").status_code == 400


def test_search_after_survives_concurrent_updates(ghl: GhlClient) -> None:
    """Cursor paging on dateUpdated: records edited mid-walk move to the end; none is missed."""
    first = ghl.search(pageLimit=50, sort=BY_UPDATED).json()["contacts"]
    not_yet = ghl.search(pageLimit=1, sort=BY_UPDATED, searchAfter=first[-1]["searchAfter"])
    pending = not_yet.json()["contacts"][0]["id"]
    already = first[0]["id"]
    for contact_id in (pending, already):
        assert ghl.http.put(f"/contacts/{contact_id}", json={"city": "Waco"}).status_code == 200
    rest = _walk_search(ghl, 50, first[-1]["searchAfter"], sort=BY_UPDATED)
    later = [c["id"] for p in rest for c in p]
    assert pending in later and already in later
    assert {c["id"] for c in first} | set(later) == ghl.live_ids("contacts")


def test_ten_thousand_window() -> None:
    with ghl_server(scale=16_000) as big:
        total = big.search(pageLimit=1).json()["total"]
        assert total > 10_000
        assert big.search(pageLimit=500, page=20).status_code == 200
        too_far = big.search(pageLimit=500, page=21)
        assert too_far.status_code == 400
        assert "10000" in too_far.json()["message"]
        pages = _walk_search(big, 500, sort=BY_UPDATED)
        ids = {c["id"] for p in pages for c in p}
        assert len(ids) == total


def test_deprecated_list_follows_next_page_url(ghl_ro: GhlClient) -> None:
    url = "/contacts/"
    params: dict | None = {"locationId": ghl_ro.location, "limit": 30}
    seen, pages = [], 0
    while url:
        body = ghl_ro.http.get(url, params=params).json()
        pages += 1
        seen += [c["id"] for c in body["contacts"]]
        meta = body["meta"]
        assert meta["currentPage"] == pages
        assert meta["prevPage"] == (pages - 1 if pages > 1 else None)
        url, params = meta["nextPageUrl"], None
        assert (meta["nextPage"] is None) == (url is None)
    assert len(seen) == len(set(seen)) == meta["total"] == len(ghl_ro.live_ids("contacts"))


def test_deprecated_list_start_after_cursor(ghl_ro: GhlClient) -> None:
    first = ghl_ro.http.get("/contacts/", params={"locationId": ghl_ro.location, "limit": 5})
    meta = first.json()["meta"]
    second = ghl_ro.http.get(
        "/contacts/",
        params={
            "locationId": ghl_ro.location,
            "limit": 5,
            "startAfter": meta["startAfter"],
            "startAfterId": meta["startAfterId"],
        },
    ).json()
    assert second["meta"]["currentPage"] == 2
    assert not {c["id"] for c in first.json()["contacts"]} & {c["id"] for c in second["contacts"]}


def test_opportunities_paging_and_filters(ghl_ro: GhlClient) -> None:
    live = [r for _, r in ghl_ro.coll("opportunities").iter_from(0)]
    params: dict | None = {"location_id": ghl_ro.location, "limit": 20, "order": "added_asc"}
    url, seen = "/opportunities/search", []
    while url:
        body = ghl_ro.http.get(url, params=params).json()
        seen += body["opportunities"]
        url, params = body["meta"]["nextPageUrl"], None
    assert len(seen) == len({o["id"] for o in seen}) == len(live)
    created = [o["createdAt"] for o in seen]
    assert created == sorted(created)
    pipeline = live[0]["pipelineId"]
    won = ghl_ro.http.get(
        "/opportunities/search",
        params={
            "location_id": ghl_ro.location,
            "pipeline_id": pipeline,
            "status": "won",
            "limit": 100,
        },
    ).json()
    expected = {o["id"] for o in live if o["pipelineId"] == pipeline and o["status"] == "won"}
    assert (
        {o["id"] for o in won["opportunities"]}
        == expected
        == set(o["id"] for o in won["opportunities"])
    )
    assert won["meta"]["total"] == len(expected)


def test_opportunities_date_range(ghl_ro: GhlClient) -> None:
    live = [r for _, r in ghl_ro.coll("opportunities").iter_from(0)]
    newest = max(o["createdAt"] for o in live)
    day = newest[:10]
    start = (ghl_ro.world.now - timedelta(days=30)).strftime("%m-%d-%Y")
    mm_dd_yyyy = f"{day[5:7]}-{day[8:10]}-{day[:4]}"
    body = ghl_ro.http.get(
        "/opportunities/search",
        params={"location_id": ghl_ro.location, "date": start, "endDate": mm_dd_yyyy, "limit": 100},
    ).json()
    lo = (ghl_ro.world.now - timedelta(days=30)).strftime("%Y-%m-%d")
    expected = {o["id"] for o in live if lo <= o["createdAt"][:10] <= day}
    assert {o["id"] for o in body["opportunities"]} == expected


def test_incremental_reads_agree_before_and_after_warm(ghl: GhlClient) -> None:
    """Cold, a bounded dateUpdated query is answered from the change feed since the bound;
    warmed, from the full index. Both must give the same pages."""
    ghl.world.advance(24 * 10)
    since = (ghl.world.now - timedelta(days=12)).isoformat().replace("+00:00", "Z")
    filters = [
        {"field": "dateUpdated", "operator": "range", "value": {"gte": since}},
        {"field": "type", "operator": "eq", "value": "customer"},
    ]

    def walk() -> list[str]:
        return [c["id"] for p in _walk_search(ghl, 3, sort=BY_UPDATED, filters=filters) for c in p]

    opp_params = {
        "location_id": ghl.location,
        "date": (ghl.world.now - timedelta(days=40)).strftime("%m-%d-%Y"),
        "limit": 100,
    }
    cold, cold_opps = walk(), ghl.http.get("/opportunities/search", params=opp_params).json()
    assert ghl.http.post("/_sandbox/warm").status_code == 200
    assert walk() == cold and cold
    assert ghl.http.get("/opportunities/search", params=opp_params).json() == cold_opps
    coll = ghl.contacts()
    expected = {
        r["id"]
        for r in coll.records(live=True)
        if r["dateUpdated"] >= since and r["type"] == "customer"
    }
    assert set(cold) == expected


def test_opportunities_free_text_query(ghl_ro: GhlClient) -> None:
    live = list(ghl_ro.coll("opportunities").records(live=True))
    needle = live[0]["contact"]["name"].split()[-1].lower()
    body = ghl_ro.http.get(
        "/opportunities/search", params={"location_id": ghl_ro.location, "q": needle, "limit": 100}
    ).json()
    expected = {
        o["id"]
        for o in live
        if any(needle in str(o["contact"].get(k) or "").lower() for k in ("name", "email", "phone"))
        or needle in o["name"].lower()
    }
    assert {o["id"] for o in body["opportunities"]} == expected and body["meta"]["total"] == len(
        expected
    )
