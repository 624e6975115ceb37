"""Transactional lists (paging, filters, sorting) and export feeds, checked against the World."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.sandbox.conftest import STClient


def _live(st: STClient, collection: str) -> list[dict]:
    coll = st.coll(collection)
    return [r for _, r in coll.iter_from(0) if not coll.is_deleted(r)]


def _walk_pages(st: STClient, resource: str, params: dict) -> list[dict]:
    pages, page = [], 1
    while True:
        body = st.get(resource, {**params, "page": page}).json()
        pages.append(body)
        if not body["hasMore"]:
            return pages
        page += 1


def test_paging_covers_every_active_record_once(st_shared: STClient) -> None:
    expected = sorted(r["id"] for r in _live(st_shared, "customers") if r["active"])
    pages = _walk_pages(st_shared, "crm/customers", {"pageSize": 40, "includeTotal": "true"})
    ids = [r["id"] for p in pages for r in p["data"]]
    assert ids == expected  # default order is by id; inactive and deleted rows excluded
    assert all(p["totalCount"] == len(expected) for p in pages)
    assert [p["hasMore"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert all(len(p["data"]) == 40 for p in pages[:-1])


def test_exact_multiple_of_page_size_ends_cleanly(st_shared: STClient) -> None:
    total = st_shared.get("crm/customers", {"includeTotal": "true", "pageSize": 1}).json()[
        "totalCount"
    ]
    divisor = next(d for d in range(7, total) if total % d == 0)
    last = total // divisor
    body = st_shared.get("crm/customers", {"pageSize": divisor, "page": last}).json()
    assert len(body["data"]) == divisor and body["hasMore"] is False
    beyond = st_shared.get("crm/customers", {"pageSize": divisor, "page": last + 1}).json()
    assert beyond["data"] == [] and beyond["hasMore"] is False


def test_empty_result_and_total_only_when_asked(st_shared: STClient) -> None:
    body = st_shared.get("crm/customers", {"modifiedOnOrAfter": "2099-01-01T00:00:00Z"}).json()
    assert body == {"page": 1, "pageSize": 50, "hasMore": False, "totalCount": None, "data": []}
    counted = st_shared.get(
        "crm/customers", {"modifiedOnOrAfter": "2099-01-01", "includeTotal": "true"}
    ).json()
    assert counted["totalCount"] == 0


def test_page_size_is_capped_at_5000_and_defaults_to_50(st_shared: STClient) -> None:
    assert st_shared.get("crm/customers", {"pageSize": 9000}).json()["pageSize"] == 5000
    assert st_shared.get("crm/customers").json()["pageSize"] == 50


@pytest.mark.parametrize(
    ("resource", "param", "value", "want"),
    [
        ("crm/customers", None, None, {True}),
        ("crm/customers", "active", "Any", {True, False}),
        ("crm/customers", "active", "False", {False}),
        ("accounting/invoices", "activeState", "All", {True, False}),
        ("accounting/invoices", "activeState", "InactiveOnly", {False}),
        ("dispatch/teams", None, None, {True}),
        ("dispatch/teams", "includeInactive", "true", {True, False}),
    ],
)
def test_active_filters(
    st_shared: STClient, resource: str, param: str | None, value: str | None, want: set
) -> None:
    collection = {"crm": "customers", "accounting": "invoices", "dispatch": "teams"}[
        resource.split("/")[0]
    ]
    present = {r["active"] for r in _live(st_shared, collection)}
    if not want <= present:
        pytest.skip(f"World has no {want - present} {collection} to show")
    params = {"pageSize": 5000, **({param: value} if param else {})}
    assert {r["active"] for r in st_shared.get(resource, params).json()["data"]} == want


def test_modified_window_matches_world(st_shared: STClient) -> None:
    records = _live(st_shared, "jobs")
    stamps = sorted(r["modifiedOn"] for r in records)
    low, high = stamps[len(stamps) // 4], stamps[len(stamps) // 2]
    params = {"modifiedOnOrAfter": low, "modifiedBefore": high, "pageSize": 5000}
    got = sorted(r["id"] for r in st_shared.get("jpm/jobs", params).json()["data"])
    want = sorted(r["id"] for r in records if low <= r["modifiedOn"] < high)
    assert got == want and got


def test_created_filter_and_field_filters(st_shared: STClient) -> None:
    locations = _live(st_shared, "locations")
    customer_id = locations[0]["customerId"]
    got = st_shared.get("crm/locations", {"customerId": customer_id, "active": "Any"}).json()[
        "data"
    ]
    assert {r["id"] for r in got} == {r["id"] for r in locations if r["customerId"] == customer_id}
    created = sorted(r["createdOn"] for r in locations)[len(locations) // 2]
    got = st_shared.get(
        "crm/locations", {"createdOnOrAfter": created, "active": "Any", "pageSize": 5000}
    )
    assert {r["id"] for r in got.json()["data"]} == {
        r["id"] for r in locations if r["createdOn"] >= created
    }


def test_ids_and_sort(st_shared: STClient) -> None:
    wanted = [r["id"] for r in _live(st_shared, "customers") if r["active"]][:50]
    got = st_shared.get("crm/customers", {"ids": ",".join(map(str, wanted)), "sort": "-Id"}).json()
    assert [r["id"] for r in got["data"]] == sorted(wanted, reverse=True)
    by_modified = st_shared.get("crm/customers", {"sort": "+ModifiedOn", "pageSize": 100}).json()[
        "data"
    ]
    stamps = [r["modifiedOn"] for r in by_modified]
    assert stamps == sorted(stamps)
    assert st_shared.get("crm/customers", {"sort": "Name"}).status_code == 400  # not sortable


def test_children_contacts_and_unbounded_contacts_list(st_shared: STClient) -> None:
    contacts = _live(st_shared, "customer_contacts")
    owner = contacts[0].get("customerId")
    if owner is None:
        pytest.skip("World contacts carry no customerId")
    got = st_shared.get(f"crm/customers/{owner}/contacts").json()["data"]
    assert {c["id"] for c in got} == {c["id"] for c in contacts if c["customerId"] == owner}
    assert st_shared.get("crm/customers/1/contacts").status_code == 404
    bounded = st_shared.get(
        "crm/customers/contacts", {"modifiedBefore": "2100-01-01", "pageSize": 5000}
    )
    assert len(bounded.json()["data"]) == len(contacts)


def test_calls_v2_v3_and_get_by_id(st_shared: STClient) -> None:
    v3 = st_shared.get("telecom/v3/calls", {"pageSize": 5}).json()["data"]
    v2 = st_shared.get("telecom/v2/calls", {"pageSize": 5}).json()
    assert [c["leadCall"]["id"] for c in v3] == [c["leadCall"]["id"] for c in v2["data"]]
    assert v2["totalCount"] == len(_live(st_shared, "calls"))  # v2 always counts
    one = st_shared.get(f"telecom/v2/calls/{v3[0]['id']}").json()
    assert one["leadCall"]["duration"] == v3[0]["leadCall"]["duration"]


# ---- exports -------------------------------------------------------------------------------


def test_export_serves_everything_including_inactive_and_deleted(st_shared: STClient) -> None:
    coll = st_shared.coll("customers")
    rows, token = st_shared.export_all("crm/export/customers")
    assert len(rows) == len(coll) == len({r["id"] for r in rows})
    deleted = [r for r in rows if coll.is_deleted(r)]
    assert all(r["active"] is False for r in deleted)
    modified = [r["modifiedOn"] for r in rows]
    assert modified == sorted(modified)  # chronological, as the docs describe
    again = st_shared.get("crm/export/customers", {"from": token}).json()
    assert again == {"hasMore": False, "continueFrom": token, "data": []}


def test_export_page_size_is_the_servers_choice_and_configurable(st: STClient) -> None:
    first = st.get("jpm/export/jobs").json()
    assert first["hasMore"] is True and len(first["data"]) == 50  # the fixture's setting
    st.http.post("/_sandbox/config", json={"export_page_size": 120})
    assert len(st.get("jpm/export/jobs").json()["data"]) == 120


def test_export_from_a_date(st_shared: STClient) -> None:
    rows, _ = st_shared.export_all("jpm/export/jobs")
    cut = rows[len(rows) // 2]["modifiedOn"]
    later, _ = st_shared.export_all("jpm/export/jobs", start=cut)
    assert [r["id"] for r in later] == [r["id"] for r in rows if r["modifiedOn"] >= cut]


def test_export_after_advance_returns_only_changed_rows(st: STClient) -> None:
    before, token = st.export_all("crm/export/customers")
    snapshot = {r["id"]: r for r in before}
    clock = st.world.now
    changes = st.http.post("/_sandbox/advance", params={"hours": 48}).json()["changes"]
    assert sum(changes.values()) > 0
    changed, _ = st.export_all("crm/export/customers", start=token)
    assert changed, "advancing two days changed no customers"
    for row in changed:
        assert datetime.fromisoformat(row["modifiedOn"]) >= clock
        assert row != snapshot.get(row["id"])  # new or different, never a repeat
    unchanged_ids = set(snapshot) - {r["id"] for r in changed}
    assert all(
        st.coll("customers").get(i)["modifiedOn"] == snapshot[i]["modifiedOn"]
        for i in unchanged_ids
    )


def test_deleted_rows_leave_lists_but_stay_in_exports(st: STClient) -> None:
    customer = next(r for r in _live(st, "customers") if r["active"])
    _, token = st.export_all("crm/export/customers")
    st.coll("customers").delete(customer["id"])
    assert st.get(f"crm/customers/{customer['id']}").status_code == 404
    assert customer["id"] not in {
        r["id"] for r in st.get("crm/customers", {"active": "Any", "pageSize": 5000}).json()["data"]
    }
    changed, _ = st.export_all("crm/export/customers", start=token)
    assert [(r["id"], r["active"]) for r in changed] == [(customer["id"], False)]
