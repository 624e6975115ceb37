"""Paging, date filtering and sorting of CallRail lists (offset and relative pagination)."""

from __future__ import annotations

from datetime import timedelta

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import CrClient

# Fixtures live in the shared module; binding them here lets pytest find them.
cr = fx.cr
cr_ro = fx.cr_ro


def _offset_walk(cr: CrClient, per_page: int, **params: object) -> list[dict]:
    calls, page = [], 1
    while True:
        body = cr.http.get(
            cr.path("calls.json"), params={"per_page": per_page, "page": page, **params}
        ).json()
        calls += body["calls"]
        if page >= body["total_pages"]:
            return calls
        page += 1


def _relative_walk(cr: CrClient, per_page: int, **params: object) -> list[dict]:
    url: str | None = cr.path("calls.json")
    query: dict | None = {"relative_pagination": "true", "per_page": per_page, **params}
    calls = []
    while url:
        body = cr.http.get(url, params=query).json()
        calls += body["calls"]
        assert body["has_next_page"] == (body["next_page"] is not None)
        url, query = body["next_page"], None
    return calls


def _divisor(n: int) -> int:
    return next(d for d in range(min(250, n), 1, -1) if n % d == 0 and d < n)


def test_offset_pages_exact_multiple(cr_ro: CrClient) -> None:
    total = len(cr_ro.live("calls"))
    per_page = _divisor(total)
    first = cr_ro.http.get(cr_ro.path("calls.json"), params={"per_page": per_page}).json()
    assert first["total_records"] == total
    assert first["total_pages"] == total // per_page
    calls = _offset_walk(cr_ro, per_page)
    assert len(calls) == len({c["id"] for c in calls}) == total
    starts = [c["start_time"] for c in calls]
    assert starts == sorted(starts, key=lambda s: s, reverse=True)  # newest first
    beyond = cr_ro.http.get(
        cr_ro.path("calls.json"), params={"per_page": per_page, "page": first["total_pages"] + 1}
    ).json()
    assert beyond["calls"] == [] and beyond["total_records"] == total


def test_link_header_points_at_the_next_page(cr_ro: CrClient) -> None:
    response = cr_ro.http.get(cr_ro.path("calls.json"), params={"per_page": 100, "page": 2})
    assert 'rel="next"' in response.headers["link"] and "page=3" in response.headers["link"]
    last = response.json()["total_pages"]
    tail = cr_ro.http.get(cr_ro.path("calls.json"), params={"per_page": 100, "page": last})
    assert "link" not in tail.headers


def test_relative_walk_equals_offset_walk(cr_ro: CrClient) -> None:
    relative = [c["id"] for c in _relative_walk(cr_ro, 50)]
    offset = [c["id"] for c in _offset_walk(cr_ro, 50)]
    assert relative == offset


def test_per_page_is_capped_at_250(cr_ro: CrClient) -> None:
    body = cr_ro.http.get(cr_ro.path("calls.json"), params={"per_page": 1000}).json()
    assert body["per_page"] == 250 and len(body["calls"]) == 250


def test_empty_result(cr_ro: CrClient) -> None:
    body = cr_ro.http.get(cr_ro.path("calls.json"), params={"search": "no such caller"}).json()
    assert body["calls"] == [] and body["total_records"] == 0 and body["total_pages"] == 0
    relative = cr_ro.http.get(
        cr_ro.path("calls.json"), params={"search": "no such caller", "relative_pagination": "true"}
    ).json()
    assert relative == {"per_page": 100, "has_next_page": False, "next_page": None, "calls": []}


def test_date_window_uses_local_calendar_days(cr_ro: CrClient) -> None:
    calls = cr_ro.live("calls")
    day = sorted(c["start_time"][:10] for c in calls)[-20]
    body = cr_ro.http.get(
        cr_ro.path("calls.json"), params={"start_date": day, "end_date": day, "per_page": 250}
    ).json()
    expected = {c["id"] for c in calls if c["start_time"][:10] == day}
    assert {c["id"] for c in body["calls"]} == expected and body["total_records"] == len(expected)


def test_datetime_bounds_and_sort_order(cr_ro: CrClient) -> None:
    calls = sorted(cr_ro.live("calls"), key=lambda c: c["start_time"])
    lo, hi = calls[-60]["start_time"], calls[-10]["start_time"]
    body = cr_ro.http.get(
        cr_ro.path("calls.json"),
        params={"start_date": lo, "end_date": hi, "sort": "start_time", "order": "asc"},
    ).json()
    ids = [c["id"] for c in body["calls"]]
    assert ids == [c["id"] for c in calls[-60:-9]]


def test_filters(cr_ro: CrClient) -> None:
    calls = cr_ro.live("calls")
    tracker = calls[0]["tracker_id"]
    body = cr_ro.http.get(
        cr_ro.path("calls.json"),
        params={"tracker_id": tracker, "answered": "false", "per_page": 250},
    ).json()
    expected = {c["id"] for c in calls if c["tracker_id"] == tracker and not c["answered"]}
    assert {c["id"] for c in body["calls"]} == expected


def test_relative_date_ranges_follow_the_sandbox_clock(cr: CrClient) -> None:
    cr.world.advance(24 * 3)
    today = cr.http.get(cr.path("calls.json"), params={"date_range": "today"}).json()
    last7 = cr.http.get(cr.path("calls.json"), params={"date_range": "last_7_days"}).json()
    local_today = (cr.world.now - timedelta(hours=6)).date().isoformat()  # America/Chicago
    assert all(c["start_time"][:10] == local_today for c in today["calls"])
    assert last7["total_records"] >= today["total_records"]
    assert last7["total_records"] > 0


def test_start_date_after_advance_sees_new_calls(cr: CrClient) -> None:
    before = cr.world.now
    known = {c["id"] for c in cr.live("calls")}
    cr.world.advance(24 * 5)
    new = {c["id"] for c in cr.live("calls")} - known
    assert new, "advance() should record new calls"
    start = before.isoformat()
    seen = {c["id"] for c in _offset_walk(cr, 100, start_date=start)}
    assert new <= seen


def test_retention_window(cr_ro: CrClient) -> None:
    old = (cr_ro.world.now - timedelta(days=800)).date().isoformat()
    response = cr_ro.http.get(cr_ro.path("calls.json"), params={"start_date": old})
    assert response.status_code == 400 and "25 months" in response.json()["error"]
    recent = (cr_ro.world.now - timedelta(days=700)).date().isoformat()
    assert (
        cr_ro.http.get(cr_ro.path("calls.json"), params={"start_date": recent}).status_code == 200
    )


def test_companies_and_trackers_pages(cr_ro: CrClient) -> None:
    trackers = cr_ro.live("trackers")
    page1 = cr_ro.http.get(cr_ro.path("trackers.json"), params={"per_page": 4}).json()
    page2 = cr_ro.http.get(cr_ro.path("trackers.json"), params={"per_page": 4, "page": 2}).json()
    ids = [t["id"] for t in page1["trackers"] + page2["trackers"]]
    assert sorted(ids) == sorted(t["id"] for t in trackers)
    assert page1["total_pages"] == -(-len(trackers) // 4)
    active = cr_ro.http.get(cr_ro.path("companies.json"), params={"status": "active"}).json()
    assert [c["status"] for c in active["companies"]] == ["active"]
    company = active["companies"][0]["id"]
    one = cr_ro.http.get(cr_ro.path(f"companies/{company}.json")).json()
    assert one["id"] == company


def test_windowed_and_indexed_answers_agree(cr: CrClient) -> None:
    """Cold, a start_date query reads the change feed since that date; warmed, the full
    index. Same answers, including with equality filters and other sort orders."""
    cr.world.advance(24 * 4)
    start = (cr.world.now - timedelta(days=20)).date().isoformat()
    tracker = cr.live("calls")[-1]["tracker_id"]
    queries = [
        {"start_date": start, "per_page": 7},
        {"start_date": start, "tracker_id": tracker, "per_page": 250},
        {"start_date": start, "sort": "duration", "order": "desc", "per_page": 250},
    ]

    def run() -> list[dict]:
        return [cr.http.get(cr.path("calls.json"), params=q).json() for q in queries]

    cold = run()
    assert cr.http.post("/_sandbox/warm").status_code == 200
    assert run() == cold
    assert cold[0]["total_records"] > 7 and cold[1]["calls"]


def test_next_page_links_keep_repeated_parameters(cr_ro: CrClient) -> None:
    params = [("per_page", "1"), ("fields", "company_id"), ("fields", "tags")]
    relative = cr_ro.http.get(
        cr_ro.path("calls.json"), params=[*params, ("relative_pagination", "true")]
    ).json()
    follow = cr_ro.http.get(relative["next_page"]).json()
    assert {"company_id", "tags"} <= follow["calls"][0].keys()
    assert follow["calls"][0]["id"] != relative["calls"][0]["id"]
    link = cr_ro.http.get(cr_ro.path("calls.json"), params=params).headers["link"]
    assert link.count("fields=") == 2
