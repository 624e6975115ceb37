"""CallRail users and text-message conversations.

Users are the account's agents: the ServiceTitan tenant's office staff (owner, admins, CSRs,
dispatch, managers), with the same names and emails. Conversations are texts with callers: one
per sampled CallRail call, with the same phone number and caller-ID name, texted between the
call and the job's last touch (so a conversation's last_message_at never passes its position's
modified time, like a call's start_time). advance() adds replies to recent conversations and
opens new ones with recent callers, from a random stream of its own, so the other vendors'
changes stay what they were.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from .clock import DAY, HOUR, iso_local, parse_iso
from .collection import Hooks, LazyTable, ListTable, Record
from .ids import IdCodec
from .rand import Rng, stream_id

if TYPE_CHECKING:
    from .callrail import CrAccount
    from .changes import Advance

S = {name: stream_id("cr-" + name) for name in ("user", "text", "text-advance")}
# One conversation per this many calls (the one a hash picks in each block).
TEXT_STRIDE = 4
# Staff roles that use CallRail, and the CallRail role each gets.
USER_ROLES = {
    "Owner": "admin",
    "Admin": "admin",
    "CSR": "agent",
    "Dispatch": "agent",
    "SalesManager": "manager",
    "FieldManager": "reporting",
}
RECENT_MESSAGES = 10  # recent_messages holds at most this many, newest first
INBOUND = (
    "Hi, do you have anything open this week?",
    "Is the tech still coming today?",
    "Can you send me the quote again?",
    "Thanks! See you then.",
    "What time will they arrive?",
    "STOP",
)
OUTBOUND = (
    "Thanks for calling {name}! Reply here with any questions.",
    "Your technician is on the way.",
    "We have an opening tomorrow morning. Does 9am work?",
    "Here is your estimate: https://{domain}/e",
    "You're all set. See you soon!",
)


def codecs(seed: int, account_no: int) -> dict[str, IdCodec]:
    return {
        "users": IdCodec(seed * 7 + account_no, "cr-user", "USR"),
        "text_messages": IdCodec(seed * 7 + account_no, "cr-text", "SMS"),
    }


def users(acc: CrAccount, t0: int) -> tuple[list[Record], list[int]]:
    """The tenant's office staff as CallRail users (technicians have no CallRail login)."""
    rows: list[Record] = []
    ms: list[int] = []
    employees = acc.st.ref.tables["employees"]
    for idx in range(employees.n_base):
        emp = employees.base_record(idx)
        role = USER_ROLES.get(emp["role"])
        if role is None:
            continue
        n = len(rows)
        r = Rng(acc.h.seed, S["user"], n)
        created = t0 - (200 - 10 * n) * DAY + r.below(DAY)
        rows.append(
            {
                "id": acc.codec["users"].encode(n),
                "name": emp["name"],
                "first_name": emp["firstName"],
                "last_name": emp["lastName"],
                "email": emp["email"],
                "role": role,
                # an invitation not yet accepted now and then
                "accepted": emp["active"] or r.chance(50),
                "created_at": iso_local(created, acc.zone),
            }
        )
        ms.append(created)
    return rows, ms


def text_call(acc: CrAccount, i: int) -> int:
    """The call conversation i follows: one per block of TEXT_STRIDE calls (so call order,
    and with it the position order, is kept)."""
    return i * TEXT_STRIDE + Rng(acc.h.seed, S["text"], i).below(TEXT_STRIDE)


def text_ms(acc: CrAccount, i: int) -> int:
    return acc.call_ms(text_call(acc, i))


def conversation(acc: CrAccount, i: int) -> Record:
    c = text_call(acc, i)
    call = acc.call(c)
    r = Rng(acc.h.seed, S["text"], -1 - i)
    start = parse_iso(call["start_time"])
    span = max(1, acc.call_ms(c) - start)
    first = start + r.below(min(span, HOUR))
    last = first + r.below(max(1, span - (first - start)))
    count = r.between(1, 4)
    step = max(1, (last - first) // max(1, count - 1))
    times = [first + step * n for n in range(count - 1)] + [last]
    messages = [
        _message(acc, r, "outgoing" if n % 2 == 0 else "incoming", ms) for n, ms in enumerate(times)
    ]
    messages.reverse()  # newest first, as CallRail lists them
    return conversation_record(acc, i, call, messages, "active" if r.chance(80) else "archived")


def conversation_record(
    acc: CrAccount, i: int, call: Record, messages: list[Record], state: str
) -> Record:
    """The conversation with a call's caller, on the tracking number they called."""
    phone, name = call["customer_phone_number"][2:], call["customer_name"]
    tracker_id, tracking = call["tracker_id"], call["tracking_phone_number"]
    number = tracking[2:]
    return {
        "id": acc.codec["text_messages"].encode(i),
        "company_id": acc.company_id(0),
        "company_name": acc.name,
        "company_time_zone": acc.zone,
        "customer_name": name,
        "customer_phone_number": f"+1{phone}",
        "initial_tracker_id": tracker_id,
        "current_tracker_id": tracker_id,
        "tracker_name": call["source_name"],
        "initial_tracking_number": tracking,
        "current_tracking_number": tracking,
        "state": state,
        "last_message_at": messages[0]["created_at"],
        "formatted_customer_name": name.title(),
        "formatted_customer_phone_number": f"({phone[:3]}) {phone[3:6]}-{phone[6:]}",
        "formatted_initial_tracking_number": f"({number[:3]}) {number[3:6]}-{number[6:]}",
        "formatted_current_tracking_number": f"({number[:3]}) {number[3:6]}-{number[6:]}",
        "recent_messages": messages,
    }


def _message(acc: CrAccount, r: Rng, direction: str, ms: int) -> Record:
    if direction == "incoming":
        content = r.pick(INBOUND)
    else:
        content = r.pick(OUTBOUND).format(name=acc.name, domain=acc.domain)
    return {"direction": direction, "content": content, "created_at": iso_local(ms, acc.zone)}


def tables(acc: CrAccount, t0: int) -> dict[str, ListTable | LazyTable]:
    def hooks(name: str) -> Hooks:
        codec = acc.codec[name]

        def noop(rec: Record, ms: int) -> None:
            """CallRail records carry no modified timestamp."""

        def fill(rec: Record, idx: int, ms: int) -> None:
            rec["id"] = codec.encode(idx)

        return Hooks(codec.encode, codec.decode, noop, fill)

    rows, ms = users(acc, t0)
    return {
        "users": ListTable(("callrail", "users", acc.account_id), hooks("users"), rows, ms),
        "text_messages": LazyTable(
            ("callrail", "text_messages", acc.account_id),
            hooks("text_messages"),
            lambda: acc.st.cr_calls_ch.total // TEXT_STRIDE,
            lambda i: conversation(acc, i),
            lambda i: text_ms(acc, i),
            None,
            17 * DAY,
        ),
    }


# ---- advance() -------------------------------------------------------------------------


def schedule(adv: Advance, acc: CrAccount) -> None:
    """Replies in recent conversations and new conversations with recent callers, at a rate
    that scales with the customer base like the other vendors' changes."""
    r = Rng(adv.w.seed, S["text-advance"], adv.w.advances * 1_000 + acc.no)
    rate = max(acc.st.n_c, 50) / 1000
    for kind, per_day in ((_reply, 2.0), (_open, 1.0)):
        x = rate * per_day * adv.days
        count = int(x) + (1 if r.uniform() < x - int(x) else 0)
        # at least one of each kind per hour-long window, so small worlds show every kind
        for _ in range(max(count, 1 if adv.days >= 1 / 24 else 0)):
            ms = adv.t0 + 1 + r.below(adv.t1 - adv.t0 - 1)
            event_rng = Rng(adv.w.seed, S["text-advance"], r.next())
            adv.events.append((ms, len(adv.events), partial(kind, adv, acc, event_rng)))


def _reply(adv: Advance, acc: CrAccount, r: Rng, ms: int) -> None:
    """A new message in a conversation active in the last ten days."""
    texts = adv.col("callrail", "text_messages", acc.account_id)
    lo = texts.position_at(adv.w.now - timedelta(days=10))
    hi = texts.end_position()
    if hi <= lo:
        return
    found = next(texts.iter_from(lo + r.below(hi - lo)), None)
    if found is None:
        return
    _, rec = found
    if texts.is_deleted(rec):
        return
    last = rec["recent_messages"][0]["direction"] if rec["recent_messages"] else "incoming"
    direction = "outgoing" if last == "incoming" else "incoming"
    message = _message(acc, r, direction, ms)
    rec["recent_messages"] = [message, *rec["recent_messages"]][:RECENT_MESSAGES]
    rec["last_message_at"] = message["created_at"]
    rec["state"] = "active"
    adv.commit(texts, texts.existing_index(rec["id"]), rec, ms)


def _open(adv: Advance, acc: CrAccount, r: Rng, ms: int) -> None:
    """A caller of the last ten days texts the number they called."""
    calls = adv.col("callrail", "calls", acc.account_id)
    lo = calls.position_at(adv.w.now - timedelta(days=10))
    hi = calls.end_position()
    if hi <= lo:
        return
    found = next(calls.iter_from(lo + r.below(hi - lo)), None)
    if found is None:
        return
    _, call = found
    texts = adv.col("callrail", "text_messages", acc.account_id)
    i = texts.new_index()
    messages = [_message(acc, r, "incoming", ms)]
    adv.commit(texts, i, conversation_record(acc, i, call, messages, "active"), ms)
