"""Conversations (API Version 2021-04-15): GET /conversations/search, GET
/conversations/{id}/messages and POST /conversations/messages (SMS and Email).

A sent message is stored in the World (so later reads show it), becomes its conversation's
last message (a conversation is opened for a contact that has none) and is logged under
/_sandbox/writes. A contact with `dnd`, or with DND active on the channel in `dndSettings`,
is refused with the 400 GoHighLevel answers ("Cannot send message as DND is active for
SMS."). Other channels (WhatsApp, FB, ...) have no provider connected in the stand-in.

Two places where production and the official conversations.json differ, production wins:
the messages list is wrapped, {"messages": {lastMessageId, nextPage, messages}} (GHL's
highlevel-api-docs issue #54), and each search hit carries `sort` ([lastMessageDate]), the
value a client passes back as startAfterDate.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from lazi.sandbox._ghl_cr_kit import (
    TOP,
    GroupView,
    Predicate,
    Record,
    SortedView,
    all_of,
    iso_to_ms,
    json_response,
    last_param,
    prefix_component,
    select,
    sort_component,
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
    normalize_phone,
    unprocessable,
    validate,
)
from lazi.sandbox.gohighlevel.contacts import find_contact
from lazi.sandbox.gohighlevel.search import SortSpec, key_fn

router = APIRouter()

DEFAULT_LIMIT = 20
# conversations.json documents the default only; the cap is that of GHL's other v2 lists
# (unverified for conversations).
MAX_LIMIT = 100
SORT_BY = ("last_manual_message_date", "last_message_date", "score_profile", "overdue_at", "due_at")
STATUSES = ("all", "read", "unread", "starred", "recents")
DIRECTIONS = ("inbound", "outbound")
# SendMessageBodyDto.type; the stand-in has providers for SMS and Email only.
SEND_TYPES = ("SMS", "RCS", "Email", "WhatsApp", "IG", "FB", "Custom", "Live_Chat", "TIKTOK")
MESSAGE_TYPES = {"SMS": (2, "TYPE_SMS"), "Email": (3, "TYPE_EMAIL")}
# A channel's DND status that blocks sending ("inactive" means DND is off).
DND_BLOCKING = ("active", "permanent")
SEND_FIELDS = {
    "type": "str",
    "subType": "any",
    "contactId": "str",
    "appointmentId": "str",
    "attachments": "tags",
    "emailFrom": "str",
    "emailCc": "tags",
    "emailBcc": "tags",
    "html": "str",
    "message": "str",
    "subject": "str",
    "replyMessageId": "str",
    "templateId": "str",
    "threadId": "str",
    "scheduledTimestamp": "num",
    "conversationProviderId": "str",
    "emailTo": "email",
    "customSubtypeId": "str",
    "emailReplyMode": "str",
    "fromNumber": "str",
    "toNumber": "str",
    "forward": "obj",
    "status": "str",
    "usesNativeSchedulingAi": "bool",
    "optimizationPeriod": "str",
}
# Free text of the search runs over these.
QUERY_FIELDS = ("fullName", "contactName", "email", "phone", "lastMessageBody")


# --- reads ---------------------------------------------------------------------------------


@router.get("/conversations/search")
async def search_conversations(request: Request) -> Response:
    ctx = context(request)
    location = last_param(request, "locationId")
    if not location:
        return bad_request("locationId must be a string")
    if location != location_of(request):
        return forbidden_location()
    try:
        limit = _limit(request)
        low, high = _ms_param(request, "startDate"), _ms_param(request, "endDate")
        start_after = _ms_param(request, "startAfterDate")
    except ValueError as exc:
        return bad_request(str(exc))
    direction = last_param(request, "sort") or "desc"
    status = last_param(request, "status") or "all"
    for name, value, allowed in (
        ("sort", direction, ("asc", "desc")),
        ("sortBy", last_param(request, "sortBy"), SORT_BY),
        ("status", status, STATUSES),
        ("lastMessageDirection", last_param(request, "lastMessageDirection"), DIRECTIONS),
    ):
        if (msg := enum_problem(name, value, allowed)) is not None:
            return bad_request(msg)
    # The world has no scores or due dates: every sortBy orders by the last message's date.
    spec = SortSpec("lastMessageDate", direction == "desc")
    contact = last_param(request, "contactId")
    eq_fields = ("contactId",) if contact else ()
    prefix = (prefix_component(contact),) if contact else ()
    view = conversations_view(ctx, location, spec, eq_fields)
    lo, hi = view.range_of(prefix)
    predicate = all_of(
        _status_predicate(status),
        _date_predicate(low, high),
        _equals("id", last_param(request, "id")),
        _equals("lastMessageType", last_param(request, "lastMessageType")),
        _equals("lastMessageDirection", last_param(request, "lastMessageDirection")),
        _one_of("assignedTo", last_param(request, "assignedTo")),
        _any_in("followers", last_param(request, "followers")),
        _query_predicate(last_param(request, "query")),
    )
    # startAfterDate is the sort value of the last hit: resume after every conversation
    # whose last message has that date (TOP sorts after any id).
    after = None
    if start_after is not None:
        after = (*prefix, sort_component(start_after, spec.descending), TOP)
    result = select(view, lo=lo, hi=hi, predicate=predicate, after=after, limit=limit)
    hits = [{**r, "sort": [r["lastMessageDate"]]} for r in result.records]
    return json_response({"conversations": hits, "total": result.total})


@router.get("/conversations/{conversation_id}/messages")
async def conversation_messages(request: Request, conversation_id: str) -> Response:
    ctx = context(request)
    _, err = find_conversation(request, conversation_id)
    if err:
        return err
    try:
        limit = _limit(request)
    except ValueError as exc:
        return bad_request(str(exc))
    wanted = {t for t in (last_param(request, "type") or "").split(",") if t}
    messages = ctx.collection("messages", location_of(request))
    view = messages_view(ctx, location_of(request))
    found = [m for m in (messages.get(i) for i in view.ids(conversation_id)) if m is not None]
    found = [m for m in found if not wanted or m["messageType"] in wanted]
    found.sort(key=lambda m: (iso_to_ms(m["dateAdded"]), m["id"]), reverse=True)
    start = 0
    if last_id := last_param(request, "lastMessageId"):
        start = next((n + 1 for n, m in enumerate(found) if m["id"] == last_id), -1)
        if start < 0:
            return bad_request("lastMessageId is not a message of this conversation")
    page = found[start : start + limit]
    listing = {
        "lastMessageId": page[-1]["id"] if page else None,
        "nextPage": start + limit < len(found),
        "messages": page,
    }
    return json_response({"messages": listing})


def find_conversation(request: Request, conv_id: str) -> tuple[Record | None, Response | None]:
    return find_live(request, "conversations", conv_id, "Conversation not found")


def conversations_view(
    ctx: GhlContext,
    location: str,
    spec: SortSpec,
    eq_fields: tuple[str, ...] = (),
    *,
    refresh: bool = True,
) -> SortedView:
    coll = ctx.collection("conversations", location)
    key = key_fn([spec], eq_fields)
    return ctx.views.sorted(coll, ("sort", spec, eq_fields), key, refresh=refresh)


def messages_view(ctx: GhlContext, location: str, *, refresh: bool = True) -> GroupView:
    messages = ctx.collection("messages", location)
    return ctx.views.grouped(
        messages, "by_conversation", lambda m: (m.get("conversationId"),), refresh=refresh
    )


def by_contact_view(ctx: GhlContext, location: str, *, refresh: bool = True) -> GroupView:
    conversations = ctx.collection("conversations", location)
    return ctx.views.grouped(
        conversations, "by_contact", lambda c: (c.get("contactId"),), refresh=refresh
    )


def warm(ctx: GhlContext, location: str) -> None:
    conversations_view(ctx, location, SortSpec("lastMessageDate", True), refresh=False)
    by_contact_view(ctx, location, refresh=False)
    ctx.views.warm(ctx.collection("conversations", location))
    messages_view(ctx, location, refresh=False)
    ctx.views.warm(ctx.collection("messages", location))


def _limit(request: Request) -> int:
    raw = last_param(request, "limit")
    try:
        limit = int(float(raw)) if raw else DEFAULT_LIMIT
    except ValueError:
        raise ValueError("limit must be a number conforming to the specified constraints") from None
    if limit > MAX_LIMIT:
        raise ValueError(f"limit must not be greater than {MAX_LIMIT}")
    return max(limit, 1)


def _ms_param(request: Request, name: str) -> int | None:
    """Epoch milliseconds; startAfterDate may also come as a list, whose first value counts."""
    raw = (last_param(request, name) or "").split(",")[0].strip()
    if not raw:
        return None
    try:
        return int(float(raw))
    except ValueError:
        raise ValueError(f"{name} must be a number (epoch milliseconds)") from None


def _status_predicate(status: str) -> Predicate | None:
    if status == "unread":
        return lambda c: (c.get("unreadCount") or 0) > 0
    if status == "read":
        return lambda c: not c.get("unreadCount")
    if status == "starred":
        return lambda c: bool(c.get("starred"))
    return None


def _date_predicate(low: int | None, high: int | None) -> Predicate | None:
    if low is None and high is None:
        return None
    return lambda c: (
        (low is None or c["dateAdded"] >= low) and (high is None or c["dateAdded"] <= high)
    )


def _equals(field: str, value: str | None) -> Predicate | None:
    return None if not value else (lambda c: c.get(field) == value)


def _one_of(field: str, values: str | None) -> Predicate | None:
    wanted = {v.strip() for v in (values or "").split(",") if v.strip()}
    return None if not wanted else (lambda c: c.get(field) in wanted)


def _any_in(field: str, values: str | None) -> Predicate | None:
    wanted = {v.strip() for v in (values or "").split(",") if v.strip()}
    return None if not wanted else (lambda c: bool(wanted & set(c.get(field) or [])))


def _query_predicate(query: str | None) -> Predicate | None:
    needle = (query or "").strip().lower()
    if not needle:
        return None
    return lambda c: any(needle in str(c.get(f) or "").lower() for f in QUERY_FIELDS)


# --- sending -------------------------------------------------------------------------------


@router.post("/conversations/messages")
async def send_message(request: Request) -> Response:
    ctx = context(request)
    body, err = await json_body(request)
    if err:
        return err
    assert body is not None
    problems = validate(body, SEND_FIELDS, required=("type", "contactId"))
    if (msg := enum_problem("type", body.get("type"), SEND_TYPES)) is not None:
        problems.append(msg)
    if problems:
        return unprocessable(problems)
    channel = body["type"]
    if channel not in MESSAGE_TYPES:
        return bad_request(f"No conversation provider is connected for {channel}")
    contact, err = find_contact(request, body["contactId"])
    if err:
        return err
    assert contact is not None
    if refusal := dnd_refusal(contact, channel):
        return bad_request(refusal)
    if channel == "SMS":
        text = body.get("message") or ""
        if not text and not body.get("attachments"):
            return unprocessable(["message should not be empty"])
        if not normalize_phone(body.get("toNumber") or contact.get("phone")):
            return bad_request("The contact has no phone number")
    else:
        text = body.get("html") or body.get("message") or ""
        if not text:
            return unprocessable(["html or message should not be empty"])
        if not (body.get("emailTo") or contact.get("email")):
            return bad_request("The contact has no email address")
    message = _store(ctx, location_of(request), contact, channel, text, body)
    ctx.log_write(request, body, 200)
    answer: dict[str, Any] = {
        "conversationId": message["conversationId"],
        "messageId": message["id"],
        "msg": "Message queued successfully.",
        "status": message["status"],
    }
    if channel == "Email":
        answer["emailMessageId"] = message["id"]
    return json_response(answer)


def dnd_refusal(contact: Record, channel: str) -> str | None:
    """Why GoHighLevel refuses to message this contact on `channel`, or None."""
    settings = (contact.get("dndSettings") or {}).get(channel) or {}
    if contact.get("dnd") or settings.get("status") in DND_BLOCKING:
        return f"Cannot send message as DND is active for {channel}."
    return None


def _store(
    ctx: GhlContext,
    location: str,
    contact: Record,
    channel: str,
    text: str,
    body: dict[str, Any],
) -> Record:
    """Insert the message into the contact's conversation (opened if it has none) and make
    it that conversation's last message. The caller holds the World's lock (the gate)."""
    conversations = ctx.collection("conversations", location)
    existing = [
        c
        for c in (conversations.get(i) for i in by_contact_view(ctx, location).ids(contact["id"]))
        if c is not None and not conversations.is_deleted(c)
    ]
    if existing:
        conversation = max(existing, key=lambda c: (c["lastMessageDate"], c["id"]))
    else:
        conversation = conversations.insert(
            {
                "contactId": contact["id"],
                "type": "TYPE_PHONE" if channel == "SMS" else "TYPE_EMAIL",
                "unreadCount": 0,
                "fullName": contact.get("name") or "",
                "contactName": contact.get("name") or "",
                "email": contact.get("email") or "",
                "phone": normalize_phone(contact.get("phone")) or "",
                "assignedTo": contact.get("assignedTo"),
                "inbox": True,
                "starred": False,
                "deleted": False,
                "tags": [],
                "followers": [],
            }
        )
    type_no, type_name = MESSAGE_TYPES[channel]
    message = ctx.collection("messages", location).insert(
        {
            "type": type_no,
            "messageType": type_name,
            "contactId": contact["id"],
            "conversationId": conversation["id"],
            "body": text,
            "direction": "outbound",
            "status": "delivered",
            "contentType": "text/html" if channel == "Email" and body.get("html") else "text/plain",
            "attachments": list(body.get("attachments") or []),
            "source": "api",
        }
    )
    conversations.patch(
        conversation["id"],
        {
            "lastMessageBody": text,
            "lastMessageType": type_name,
            "lastMessageDirection": "outbound",
            "lastMessageDate": iso_to_ms(message["dateAdded"]),
        },
    )
    return message
