"""Contract: what messaging needs from GoHighLevel (issue 15, item 6), all of it 404 before:
GET /users/, GET /conversations/search, GET /conversations/{id}/messages and POST
/conversations/messages (SMS and Email, Version 2021-04-15), against the official users.json
and conversations.json. Data must agree with the rest of the location (users are the ids
records are assigned to; conversations are with its live contacts), a sent message must be
logged and read back, and a contact under DND must be refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from tests.sandbox import _ghl_cr_fixtures as fx
from tests.sandbox._ghl_cr_fixtures import SPEC_ROOT, GhlClient, check_ghl, ghl_spec

ghl = fx.ghl
ghl_ro = fx.ghl_ro

pytestmark = pytest.mark.skipif(
    not (SPEC_ROOT / "gohighlevel").is_dir(), reason="GoHighLevel specs not available"
)

CONV = "conversations.json"
V2021_04_15 = {"Version": "2021-04-15"}


def _conversations(ghl: GhlClient, **params: Any) -> dict:
    response = ghl.http.get(
        "/conversations/search",
        params={"locationId": ghl.location, **params},
        headers=V2021_04_15,
    )
    assert response.status_code == 200, response.text
    check_ghl(response, CONV, request=True)
    return response.json()


def _messages(ghl: GhlClient, conversation_id: str, **params: Any) -> dict:
    response = ghl.http.get(
        f"/conversations/{conversation_id}/messages", params=params, headers=V2021_04_15
    )
    assert response.status_code == 200, response.text
    listing = response.json()["messages"]  # production wraps what the spec puts at the top
    if listing["messages"]:
        schema = {
            **ghl_spec(CONV),
            "$ref": "#/components/schemas/GetMessagesByConversationResponseDto",
        }
        OAS30Validator(schema).validate(listing)
    return listing


def _send(ghl: GhlClient, body: dict) -> Any:
    return ghl.http.post("/conversations/messages", json=body, headers=V2021_04_15)


def _live_contacts(ghl: GhlClient) -> list[dict]:
    return list(ghl.coll("contacts").records(live=True))


def _contact(ghl: GhlClient, *, dnd: bool, phone: bool = True, email: bool = False) -> dict:
    with_conversation = {c["contactId"] for c in ghl.coll("conversations").records()}
    return next(
        c
        for c in _live_contacts(ghl)
        if bool(c["dnd"]) is dnd
        and (not phone or c.get("phone"))
        and (not email or c.get("email"))
        and c["id"] not in with_conversation
    )


# --- users ---------------------------------------------------------------------------------


def test_users_are_the_ids_the_location_assigns(ghl_ro: GhlClient) -> None:
    response = ghl_ro.http.get("/users/", params={"locationId": ghl_ro.location})
    assert response.status_code == 200, response.text  # was 404 "Cannot GET /users/"
    check_ghl(response, "users.json", request=True)
    users = response.json()["users"]
    ids = {u["id"] for u in users}
    assert len(ids) == len(users) >= 2
    assigned = {c["assignedTo"] for c in _live_contacts(ghl_ro)}
    assigned |= {o["assignedTo"] for o in ghl_ro.coll("opportunities").records(live=True)}
    assigned |= {n["userId"] for n in ghl_ro.coll("notes").records(live=True)}
    assert assigned == ids
    assert all(u["roles"]["locationIds"] == [ghl_ro.location] for u in users)
    for user in users:
        assert user["name"] == f"{user['firstName']} {user['lastName']}" and "@" in user["email"]


def test_users_need_the_tokens_location(ghl_ro: GhlClient) -> None:
    missing = ghl_ro.http.get("/users/")
    assert missing.status_code == 400
    check_ghl(missing, "users.json")
    other = ghl_ro.world.ghl_locations[1]
    assert ghl_ro.http.get("/users/", params={"locationId": other}).status_code == 403


# --- conversations -------------------------------------------------------------------------


def test_conversations_are_with_live_contacts_of_the_location(ghl_ro: GhlClient) -> None:
    contacts = {c["id"]: c for c in _live_contacts(ghl_ro)}
    body = _conversations(ghl_ro, limit=100)
    assert body["total"] == len(list(ghl_ro.coll("conversations").records(live=True))) > 0
    for conversation in body["conversations"]:
        contact = contacts[conversation["contactId"]]
        assert conversation["locationId"] == ghl_ro.location
        assert conversation["fullName"] == contact["name"]
        assert conversation["email"] == contact.get("email", "")
        digits = "".join(ch for ch in contact.get("phone", "") if ch.isdigit())[-10:]
        assert conversation["phone"] == (f"+1{digits}" if digits else "")
        if not digits:
            assert conversation["type"] == "TYPE_EMAIL"


def test_a_deleted_contact_takes_its_conversations_along(ghl: GhlClient) -> None:
    before = {c["contactId"] for c in ghl.coll("conversations").records(live=True)}
    contacts = ghl.coll("contacts")
    gone: set[str] = set()
    for _ in range(12):  # months, until the business has deleted a contact it talked to
        assert ghl.http.post("/_sandbox/advance", params={"hours": 24 * 30}).status_code == 200
        gone = {c["id"] for c in contacts.records() if contacts.is_deleted(c)} & before
        if gone:
            break
    assert gone
    found = _conversations(ghl, limit=100)
    assert found["total"] == len(list(ghl.coll("conversations").records(live=True)))
    assert not {c["contactId"] for c in found["conversations"]} & gone
    messages = list(ghl.coll("messages").records(live=True))
    assert not {m["contactId"] for m in messages} & gone


def test_conversation_search_pages_newest_first_with_start_after_date(ghl_ro: GhlClient) -> None:
    live = list(ghl_ro.coll("conversations").records(live=True))
    dates = sorted((c["lastMessageDate"] for c in live), reverse=True)
    seen: list[dict] = []
    params: dict[str, Any] = {"limit": 13}
    while page := _conversations(ghl_ro, **params)["conversations"]:
        seen += page
        params = {"limit": 13, "startAfterDate": page[-1]["sort"][0]}
    assert [c["lastMessageDate"] for c in seen] == dates
    assert len({c["id"] for c in seen}) == len(live)
    oldest = _conversations(ghl_ro, sort="asc", limit=5)["conversations"]
    assert [c["lastMessageDate"] for c in oldest] == sorted(dates)[:5]


def test_conversation_search_filters(ghl_ro: GhlClient) -> None:
    live = list(ghl_ro.coll("conversations").records(live=True))
    one = live[len(live) // 2]
    by_contact = _conversations(ghl_ro, contactId=one["contactId"])["conversations"]
    assert [c["id"] for c in by_contact] == [one["id"]]
    unread = _conversations(ghl_ro, status="unread", limit=100)
    assert {c["id"] for c in unread["conversations"]} == {c["id"] for c in live if c["unreadCount"]}
    email = _conversations(ghl_ro, lastMessageType="TYPE_EMAIL", limit=100)
    expected = {c["id"] for c in live if c["lastMessageType"] == "TYPE_EMAIL"}
    assert {c["id"] for c in email["conversations"]} == expected and email["total"] == len(expected)
    user = one["assignedTo"]
    mine = _conversations(ghl_ro, assignedTo=user, limit=100)["conversations"]
    assert {c["id"] for c in mine} == {c["id"] for c in live if c["assignedTo"] == user}
    needle = one["fullName"].split()[-1].lower()
    named = _conversations(ghl_ro, query=needle, limit=100)["conversations"]
    assert one["id"] in {c["id"] for c in named}
    assert all(
        needle in f"{c['fullName']} {c['email']} {c['lastMessageBody']}".lower() for c in named
    )


def test_messages_newest_first_paged_by_last_message_id(ghl_ro: GhlClient) -> None:
    live = list(ghl_ro.coll("conversations").records(live=True))
    stored = list(ghl_ro.coll("messages").records(live=True))
    conversation = max(live, key=lambda c: sum(m["conversationId"] == c["id"] for m in stored))
    expected = sorted(
        (m for m in stored if m["conversationId"] == conversation["id"]),
        key=lambda m: (m["dateAdded"], m["id"]),
        reverse=True,
    )
    assert len(expected) >= 2
    walked: list[dict] = []
    params: dict[str, Any] = {"limit": 1}
    while True:
        listing = _messages(ghl_ro, conversation["id"], **params)
        walked += listing["messages"]
        if not listing["nextPage"]:
            break
        params = {"limit": 1, "lastMessageId": listing["lastMessageId"]}
    assert walked == expected
    newest = expected[0]
    assert conversation["lastMessageBody"] == newest["body"]
    assert conversation["lastMessageType"] == newest["messageType"]
    assert all(m["contactId"] == conversation["contactId"] for m in walked)


def test_unknown_conversation_is_a_400(ghl_ro: GhlClient) -> None:
    response = ghl_ro.http.get("/conversations/nOSuchConversation00/messages", headers=V2021_04_15)
    assert response.status_code == 400
    check_ghl(response, CONV)


@pytest.mark.parametrize(
    "params", [{}, {"limit": 101}, {"sort": "sideways"}, {"startAfterDate": "yesterday"}]
)
def test_conversation_search_refusals(ghl_ro: GhlClient, params: dict) -> None:
    if params:
        params = {"locationId": ghl_ro.location, **params}
    response = ghl_ro.http.get("/conversations/search", params=params, headers=V2021_04_15)
    assert response.status_code == 400, response.text
    check_ghl(response, CONV)


# --- sending -------------------------------------------------------------------------------


def test_sent_sms_opens_a_conversation_is_logged_and_read_back(ghl: GhlClient) -> None:
    contact = _contact(ghl, dnd=False)
    # Every property SendMessageBodyDto marks required, as a generated client sends them.
    body = {
        "type": "SMS",
        "subType": {},
        "contactId": contact["id"],
        "status": "pending",
        "message": "Your technician is 10 minutes away.",
    }
    response = _send(ghl, body)
    assert response.status_code == 200, response.text  # was 404 "Cannot POST ..."
    check_ghl(response, CONV, request=True)
    sent = response.json()
    writes = ghl.http.get("/_sandbox/writes").json()
    assert [(w["method"], w["path"], w["body"]) for w in writes] == [
        ("POST", "/conversations/messages", body)
    ]
    found = _conversations(ghl, contactId=contact["id"])["conversations"]
    assert [c["id"] for c in found] == [sent["conversationId"]]
    assert found[0]["lastMessageBody"] == body["message"]
    assert found[0]["lastMessageType"] == "TYPE_SMS" and found[0]["type"] == "TYPE_PHONE"
    newest = _messages(ghl, sent["conversationId"])["messages"]
    assert [(m["id"], m["body"], m["direction"]) for m in newest] == [
        (sent["messageId"], body["message"], "outbound")
    ]
    # A second message joins the same conversation and becomes its newest.
    again = _send(ghl, {"type": "SMS", "contactId": contact["id"], "message": "On my way"})
    assert again.status_code == 200 and again.json()["conversationId"] == sent["conversationId"]
    listing = _messages(ghl, sent["conversationId"])["messages"]
    assert [m["body"] for m in listing] == ["On my way", body["message"]]
    top = _conversations(ghl, limit=1)["conversations"]
    assert top[0]["id"] == sent["conversationId"] and top[0]["lastMessageBody"] == "On my way"


def test_sent_email_joins_the_contacts_conversation(ghl: GhlClient) -> None:
    conversation = next(
        c
        for c in ghl.coll("conversations").records(live=True)
        if c["email"] and not ghl.coll("contacts").get(c["contactId"])["dnd"]
    )
    response = _send(
        ghl,
        {
            "type": "Email",
            "contactId": conversation["contactId"],
            "subject": "Your estimate",
            "html": "<p>Attached is your estimate.</p>",
        },
    )
    assert response.status_code == 200, response.text
    check_ghl(response, CONV)
    sent = response.json()
    assert sent["conversationId"] == conversation["id"] and sent["emailMessageId"]
    newest = _messages(ghl, conversation["id"], limit=1)["messages"][0]
    assert newest["id"] == sent["messageId"] and newest["messageType"] == "TYPE_EMAIL"
    assert newest["contentType"] == "text/html"


def test_contact_with_dnd_is_refused_and_nothing_is_stored(ghl: GhlClient) -> None:
    contact = _contact(ghl, dnd=True)
    before = len(ghl.coll("messages"))
    response = _send(ghl, {"type": "SMS", "contactId": contact["id"], "message": "Hi"})
    assert response.status_code == 400
    check_ghl(response, CONV)
    assert response.json() == {
        "statusCode": 400,
        "message": "Cannot send message as DND is active for SMS.",
    }
    assert len(ghl.coll("messages")) == before
    assert ghl.http.get("/_sandbox/writes").json() == []


def test_dnd_settings_block_only_their_channel(ghl: GhlClient) -> None:
    contact = _contact(ghl, dnd=False, email=True)
    blocked = {"dndSettings": {"SMS": {"status": "active", "message": "", "code": ""}}}
    assert ghl.http.put(f"/contacts/{contact['id']}", json=blocked).status_code == 200
    sms = _send(ghl, {"type": "SMS", "contactId": contact["id"], "message": "Hi"})
    assert sms.status_code == 400
    assert sms.json()["message"] == "Cannot send message as DND is active for SMS."
    email = _send(ghl, {"type": "Email", "contactId": contact["id"], "message": "Hello"})
    assert email.status_code == 200, email.text
    lifted = {"dndSettings": {"SMS": {"status": "inactive", "message": "", "code": ""}}}
    assert ghl.http.put(f"/contacts/{contact['id']}", json=lifted).status_code == 200
    assert _send(ghl, {"type": "SMS", "contactId": contact["id"], "message": "Hi"}).is_success


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"type": "SMS", "message": "no contact"}, 422),
        ({"type": "Pigeon", "contactId": "{contact}", "message": "x"}, 422),
        ({"type": "SMS", "contactId": "{contact}"}, 422),
        ({"type": "WhatsApp", "contactId": "{contact}", "message": "x"}, 400),
        ({"type": "SMS", "contactId": "nOSuchContact0000000", "message": "x"}, 400),
    ],
)
def test_send_refusals_store_nothing(ghl: GhlClient, body: dict, status: int) -> None:
    contact = _contact(ghl, dnd=False)
    body = {k: contact["id"] if v == "{contact}" else v for k, v in body.items()}
    before = len(ghl.coll("messages"))
    response = _send(ghl, body)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["statusCode"] == status and answer["message"]
    if status == 400:  # the spec declares 400 and 401 only
        check_ghl(response, CONV)
    assert len(ghl.coll("messages")) == before
    assert ghl.http.get("/_sandbox/writes").json() == []
