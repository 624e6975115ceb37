"""Contract: CallRail users.json and text-messages.json (404 on the stand-in before issue 15).

The unofficial spec has no paths for them, so envelopes are checked against its Pagination and
Error schemas and records against the fields api-facts.md section 3.2 lists (CallRail's own
connector's schemas): users {id, name, first_name, last_name, email, role, accepted,
created_at}; conversations under `conversations`, filtered by start_date/end_date on
last_message_at, extras by `fields=`."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openapi_schema_validator import OAS31Validator

from lazi.sandbox.world.clock import parse_iso
from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import SPEC_ROOT, CrClient, cr_spec

# Fixtures live in the shared module; binding them here lets pytest find them.
cr = fx.cr
cr_ro = fx.cr_ro

pytestmark = pytest.mark.skipif(
    not (SPEC_ROOT / "callrail").is_dir(), reason="CallRail spec not available"
)

_TS = {"type": "string", "format": "date-time", "pattern": r"[+-]\d\d:\d\d$"}
_PHONE = {"type": "string", "pattern": r"^\+1\d{10}$"}
USER = {
    "type": "object",
    "required": [
        "id", "name", "first_name", "last_name", "email", "role", "accepted", "created_at",
    ],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "email": {"type": "string", "pattern": "@"},
        "role": {"enum": ["admin", "manager", "reporting", "agent"]},
        "accepted": {"type": "boolean"},
        "created_at": _TS,
    },
}  # fmt: skip
DEFAULT_TEXT_FIELDS = {
    "id", "company_id", "customer_name", "customer_phone_number", "initial_tracker_id",
    "current_tracker_id", "initial_tracking_number", "current_tracking_number", "state",
    "last_message_at", "recent_messages",
}  # fmt: skip
CONVERSATION = {
    "type": "object",
    "required": sorted(DEFAULT_TEXT_FIELDS),
    "properties": {
        "id": {"type": "string"},
        "company_id": {"type": "string"},
        "customer_name": {"type": ["string", "null"]},
        "customer_phone_number": _PHONE,
        "initial_tracker_id": {"type": "string"},
        "current_tracker_id": {"type": "string"},
        "initial_tracking_number": _PHONE,
        "current_tracking_number": _PHONE,
        "state": {"type": "string"},
        "last_message_at": _TS,
        "recent_messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["direction", "content", "created_at"],
                "additionalProperties": False,
                "properties": {
                    "direction": {"enum": ["incoming", "outgoing"]},
                    "content": {"type": "string"},
                    "created_at": _TS,
                },
            },
        },
        "company_name": {"type": "string"},
        "company_time_zone": {"type": "string"},
        "tracker_name": {"type": "string"},
        "formatted_customer_name": {"type": ["string", "null"]},
        "formatted_customer_phone_number": {"type": "string"},
        "formatted_initial_tracking_number": {"type": "string"},
        "formatted_current_tracking_number": {"type": "string"},
    },
}


def _spec_schema(name: str) -> OAS31Validator:
    return OAS31Validator({**cr_spec(), "$ref": f"#/components/schemas/{name}"})


def _walk(cr: CrClient, resource: str, key: str, **params: object) -> list[dict]:
    """Follow the Link rel="next" headers from page 1, checking each envelope."""
    pagination = _spec_schema("Pagination")
    response = cr.http.get(cr.path(resource), params=params)
    records: list[dict] = []
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pagination.validate(body)
        records += body[key]
        link = response.headers.get("link")
        if body["page"] >= body["total_pages"]:
            assert link is None
            return records
        assert link and link.endswith('>; rel="next"')
        response = cr.http.get(link[1 : link.index(">")])


def test_users_are_the_accounts_office_staff(cr_ro: CrClient) -> None:
    users = _walk(cr_ro, "users.json", "users", per_page=3)
    assert len(users) == len({u["id"] for u in users}) == len(cr_ro.live("users")) >= 3
    validator = OAS31Validator(USER)
    for user in users:
        validator.validate(user)
    tenant = next(
        acc.st.tenant_id for acc in cr_ro.world.cr.values() if acc.account_id == cr_ro.account
    )
    staff = {
        (e["name"], e["email"])
        for e in cr_ro.world.collection("servicetitan", "employees", tenant).records()
    }
    assert {(u["name"], u["email"]) for u in users} <= staff
    assert {u["role"] for u in users} >= {"admin", "agent"}
    one = cr_ro.http.get(cr_ro.path(f"users/{users[0]['id']}.json"))
    assert one.status_code == 200 and one.json() == users[0]
    agents = cr_ro.http.get(cr_ro.path("users.json"), params={"role": "agent"}).json()
    assert agents["users"] and {u["role"] for u in agents["users"]} == {"agent"}


def test_text_messages_page_newest_first_with_link_headers(cr_ro: CrClient) -> None:
    live = cr_ro.live("text_messages")
    per_page = 7
    first = cr_ro.http.get(cr_ro.path("text-messages.json"), params={"per_page": per_page})
    body = first.json()
    assert body["total_records"] == len(live) > per_page
    assert body["total_pages"] == math.ceil(len(live) / per_page)
    conversations = _walk(cr_ro, "text-messages.json", "conversations", per_page=per_page)
    assert [c["id"] for c in conversations] == [c["id"] for c in body["conversations"]] + [
        c["id"] for c in conversations[per_page:]
    ]
    assert len(conversations) == len({c["id"] for c in conversations}) == len(live)
    stamps = [parse_iso(c["last_message_at"]) for c in conversations]
    assert stamps == sorted(stamps, reverse=True)
    validator = OAS31Validator(CONVERSATION)
    for conversation in conversations:
        validator.validate(conversation)
        assert conversation.keys() == DEFAULT_TEXT_FIELDS
        newest = conversation["recent_messages"][0]["created_at"]
        assert parse_iso(newest) == parse_iso(conversation["last_message_at"])
    ascending = _walk(cr_ro, "text-messages.json", "conversations", per_page=50, order="asc")
    assert [c["id"] for c in ascending] == [c["id"] for c in reversed(conversations)]
    beyond = cr_ro.http.get(
        cr_ro.path("text-messages.json"),
        params={"per_page": per_page, "page": body["total_pages"] + 1},
    ).json()
    assert beyond["conversations"] == [] and beyond["total_records"] == len(live)


def test_start_and_end_date_bound_last_message_at(cr_ro: CrClient) -> None:
    live = cr_ro.live("text_messages")
    zone = ZoneInfo(live[0]["company_time_zone"])
    local_days = sorted(
        datetime.fromisoformat(c["last_message_at"]).astimezone(zone).date() for c in live
    )
    low, high = local_days[len(live) // 3], local_days[2 * len(live) // 3]
    expected = {
        c["id"]
        for c in live
        if low <= datetime.fromisoformat(c["last_message_at"]).astimezone(zone).date() <= high
    }
    got = _walk(
        cr_ro,
        "text-messages.json",
        "conversations",
        start_date=low.isoformat(),
        end_date=high.isoformat(),
        per_page=5,
    )
    assert {c["id"] for c in got} == expected and len(got) == len(expected) > 5
    # datetimes bound to the millisecond, both ends inclusive
    ordered = sorted(live, key=lambda c: parse_iso(c["last_message_at"]))
    lo, hi = ordered[10]["last_message_at"], ordered[20]["last_message_at"]
    between = _walk(
        cr_ro, "text-messages.json", "conversations", start_date=lo, end_date=hi, order="asc"
    )
    assert [c["id"] for c in between] == [c["id"] for c in ordered[10:21]]


def test_fields_adds_only_the_named_extras(cr_ro: CrClient) -> None:
    response = cr_ro.http.get(
        cr_ro.path("text-messages.json"),
        params=[
            ("fields", "company_name,tracker_name"),
            ("fields", "formatted_customer_phone_number,no_such_field"),
            ("per_page", "3"),
        ],
    )
    extras = {"company_name", "tracker_name", "formatted_customer_phone_number"}
    for conversation in response.json()["conversations"]:
        assert conversation.keys() == DEFAULT_TEXT_FIELDS | extras
        assert conversation["company_name"]
    assert response.headers["link"].count("fields=") == 2
    one_id = response.json()["conversations"][0]["id"]
    one = cr_ro.http.get(
        cr_ro.path(f"text-messages/{one_id}.json"), params={"fields": "company_time_zone"}
    )
    assert one.status_code == 200
    assert one.json().keys() == DEFAULT_TEXT_FIELDS | {"company_time_zone"}


def test_conversations_are_with_callers_on_the_number_they_called(cr_ro: CrClient) -> None:
    calls = {(c["customer_phone_number"], c["tracker_id"]) for c in cr_ro.live("calls")}
    trackers = {t["id"]: t for t in cr_ro.live("trackers")}
    for conversation in cr_ro.live("text_messages"):
        phone, tracker = conversation["customer_phone_number"], conversation["current_tracker_id"]
        assert (phone, tracker) in calls, conversation["id"]
        assert conversation["current_tracking_number"] in trackers[tracker]["tracking_numbers"]


def test_errors_use_the_error_schema(cr_ro: CrClient) -> None:
    error = _spec_schema("Error")
    bad = cr_ro.http.get(cr_ro.path("text-messages.json"), params={"start_date": "last week"})
    assert bad.status_code == 400 and "start_date" in bad.json()["error"]
    error.validate(bad.json())
    for path in ("text-messages/SMS0.json", "users/USR0.json"):
        missing = cr_ro.http.get(cr_ro.path(path))
        assert missing.status_code == 404
        error.validate(missing.json())
    denied = cr_ro.http.get(cr_ro.path("users.json"), headers={"Authorization": "Token nope"})
    assert denied.status_code == 401
    error.validate(denied.json())


def test_the_clock_brings_replies_and_new_conversations(cr: CrClient) -> None:
    before = cr.world.now
    known = {c["id"]: c for c in cr.live("text_messages")}
    changes = cr.world.advance(24 * 3)
    assert changes.get(f"callrail/text_messages/{cr.account}", 0) > 0
    since = _walk(cr, "text-messages.json", "conversations", start_date=before.isoformat())
    assert since, "advance() should bring text messages"
    for conversation in since:
        assert parse_iso(conversation["last_message_at"]) >= parse_iso(before.isoformat())
        old = known.get(conversation["id"])
        if old is not None:  # a reply: the earlier messages stay behind the new ones
            assert old["recent_messages"][0] in conversation["recent_messages"][1:]
    changed = {c["id"] for c in cr.live("text_messages") if c != known.get(c["id"])}
    assert changed == {c["id"] for c in since}
    assert changed - known.keys() and changed & known.keys(), "new conversations and replies"


def test_windowed_and_indexed_answers_agree(cr: CrClient) -> None:
    """Cold, a start_date query reads the change feed since that date; warmed, the full
    index. Same answers, in either order."""
    cr.world.advance(24 * 4)
    start = (cr.world.now - timedelta(days=90)).date().isoformat()
    queries = [
        {"start_date": start, "per_page": 2},
        {"start_date": start, "per_page": 2, "page": 2, "order": "asc"},
        {"start_date": start, "end_date": cr.world.now.date().isoformat(), "per_page": 250},
    ]

    def run() -> list[dict]:
        return [cr.http.get(cr.path("text-messages.json"), params=q).json() for q in queries]

    cold = run()
    assert cr.http.post("/_sandbox/warm").status_code == 200
    assert run() == cold
    assert cold[0]["total_records"] > 4 and cold[1]["conversations"]
