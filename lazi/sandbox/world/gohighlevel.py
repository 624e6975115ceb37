"""GoHighLevel: one sub-account (location) per business, contacts mirroring the
ServiceTitan customers with the mess that manual entry and form fills leave behind.

Contacts are laid out per ServiceTitan customer slot (0-2 copies of the customer plus an
optional unrelated lead), so a contact's base dateUpdated follows its customer's.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np

from .clock import DAY, HOUR, MINUTE, iso_z, parse_iso
from .collection import Hooks, LazyTable, ListTable, Record
from .ids import IdCodec
from .layout import Children, Hashes, umod
from .people import (
    FIRST_NAMES,
    LAST_NAMES,
    PHONE_STYLES,
    Person,
    digits,
    format_phone,
    make_person,
    typo,
)
from .rand import Rng, bucket, stream_id
from .servicetitan import StTenant

S = {
    name: stream_id("ghl-" + name)
    for name in (
        "same",
        "lead",
        "del",
        "contact",
        "opp",
        "oppn",
        "note",
        "noten",
        "pipe",
        "user",
        "conv",
        "convn",
        "msg",
        "msgn",
    )
}
PIPELINES = (
    (
        "Sales Pipeline",
        ("New Lead", "Contacted", "Estimate Scheduled", "Estimate Sent", "Negotiation", "Closed"),
    ),
    ("Maintenance Renewals", ("Due", "Reminder Sent", "Booked", "Renewed")),
)
LEAD_SOURCES = ("Website Form", "Facebook Lead Ad", "Google LSA", "CallRail", "Yelp", "Referral")
NOTE_BODIES = (
    "Left voicemail, will try again tomorrow.",
    "Customer asked for a quote on a new water heater.",
    "Sent estimate by email.",
    "Customer prefers text messages.",
    "Spoke with spouse, call back after 5pm.",
    "Interested in maintenance plan.",
)
OPP_STATUS = ("open", "won", "lost", "abandoned")
TIMEZONE = "America/Chicago"
USER_ROLES = ("admin", "user", "user", "user")
# A user's permissions as GHL lists them; the world's users may do all of it.
USER_PERMISSIONS = (
    "contactsEnabled",
    "opportunitiesEnabled",
    "conversationsEnabled",
    "appointmentsEnabled",
    "phoneCallEnabled",
    "tagsEnabled",
    "settingsEnabled",
)
# What a conversation with a customer says, by direction; SMS unless the contact has no phone.
INBOUND_BODIES = (
    "Hi, is anyone available to come out this week?",
    "What time will the technician arrive?",
    "Thanks, that works for me.",
    "Can you send me the estimate again?",
    "The water heater is leaking again.",
)
OUTBOUND_BODIES = (
    "Hi! This is a reminder of your appointment tomorrow between 8 and 12.",
    "Your technician is on the way.",
    "Thanks for choosing us! Reply STOP to opt out.",
    "We have an opening on Thursday morning, does that work?",
    "Here is your estimate, let us know if you have questions.",
)
# GHL's numeric message types (GetMessageResponseDto.type) and their names.
MESSAGE_TYPES = {"SMS": (2, "TYPE_SMS"), "Email": (3, "TYPE_EMAIL")}


def normalize_e164(raw: str | None) -> str:
    """A contact's phone as GHL shows it on a conversation (E.164), or ""."""
    d10 = digits(raw)
    return f"+1{d10}" if d10 else ""


class GhlLocation:
    """One GoHighLevel location, derived from the ServiceTitan tenant it mirrors."""

    def __init__(self, seed: int, location_no: int, st: StTenant, lead_base: int) -> None:
        self.seed = seed
        self.no = location_no
        self.st = st
        self.lead_base = lead_base
        self.h = Hashes(seed * 104_729 + location_no)
        self.location_id = IdCodec(seed, "ghl-location", "ghl").encode(location_no)
        self.codec = {
            name: IdCodec(seed * 31 + location_no, f"ghl-{name}", "ghl")
            for name in (
                "contacts",
                "opportunities",
                "pipelines",
                "notes",
                "users",
                "stages",
                "fields",
                "conversations",
                "messages",
            )
        }
        self.users = [self.codec["users"].encode(i) for i in range(len(USER_ROLES))]
        self.st_id_field = self.codec["fields"].encode(0)

    # ---- layout --------------------------------------------------------------------
    @cached_property
    def same_col(self) -> np.ndarray:
        """Per customer slot: how many contacts are the customer themself (0-2)."""
        return bucket(self.h.col(S["same"], self.st.n_c), [12, 94]).astype(np.uint8)

    @cached_property
    def contacts_ch(self) -> Children:
        """Per customer slot: the customer's own contacts, then maybe an unrelated lead."""
        lead = umod(self.h.col(S["lead"], self.st.n_c), 100) < 15
        return Children(self.same_col.astype(np.int64) + lead)

    def contact_deleted(self, c: int) -> bool:
        return self.h(S["del"], c) % 100 < 2

    @cached_property
    def opps_ch(self) -> Children:
        n = self.contacts_ch.total
        deleted = umod(self.h.col(S["del"], n), 100) < 2
        has = umod(self.h.col(S["oppn"], n), 100) < 45
        return Children((has & ~deleted).astype(np.int64))

    @cached_property
    def notes_ch(self) -> Children:
        n = self.contacts_ch.total
        deleted = umod(self.h.col(S["del"], n), 100) < 2
        return Children(np.where(deleted, 0, bucket(self.h.col(S["noten"], n), [60, 90])))

    @cached_property
    def convs_ch(self) -> Children:
        """Per contact: a conversation (SMS or email) with about half the live contacts."""
        n = self.contacts_ch.total
        deleted = umod(self.h.col(S["del"], n), 100) < 2
        has = umod(self.h.col(S["convn"], n), 100) < 55
        return Children((has & ~deleted).astype(np.int64))

    @cached_property
    def msgs_ch(self) -> Children:
        """Per conversation: its 1-4 messages, oldest first."""
        return Children(1 + bucket(self.h.col(S["msgn"], self.convs_ch.total), [40, 70, 90]))

    def contact_person(self, c: int) -> tuple[int, int, bool]:
        """(customer slot, ordinal, is the customer's own person) of contact c."""
        i, j = self.contacts_ch.parent(c)
        return i, j, j < int(self.same_col[i])

    def contact_ms(self, c: int) -> int:
        i, j = self.contacts_ch.parent(c)
        return int(self.st.cust_ms(i)) + 100 + 10 * j

    # ---- records -------------------------------------------------------------------
    def contact(self, c: int) -> Record:
        i, j, same = self.contact_person(c)
        p = self.st.person(i) if same else make_person(self.seed, self.lead_base + i)
        ms = self.contact_ms(c)
        r = Rng(self.h.seed, S["contact"], c)
        added = ms - r.between(HOUR, 30 * DAY)
        return self.contact_record(
            c, p, r, added, ms, same, j, self.st.id_base["customers"] + i if same else None
        )

    def contact_record(
        self,
        c: int,
        p: Person,
        r: Rng,
        added: int,
        ms: int,
        customer: bool,
        dup: int,
        st_customer_id: int | None,
    ) -> Record:
        """Render person p the way GHL holds it; always keeps the phone or the email exact
        (after normalisation) so identity stays recoverable."""
        keep_phone = not r.chance(12 if dup == 0 else 50)
        keep_email = (r.chance(75) if dup == 0 else not keep_phone) or not keep_phone
        first, last = p.first, p.last
        if r.chance(6):
            first = typo(r, first)
        if r.chance(4):
            last = typo(r, last)
        if r.chance(5):
            first, last = first.upper(), last.upper()
        email = p.email if not r.chance(10) else p.email.capitalize()
        rec: Record = {
            "id": self.codec["contacts"].encode(c),
            "name": f"{first} {last}",
            "locationId": self.location_id,
            "firstName": first,
            "lastName": last,
            "timezone": TIMEZONE,
            "companyName": p.company,
            "dnd": r.chance(3),
            "dndSettings": {},
            "type": "customer" if customer else "lead",
            "source": "ServiceTitan Sync" if customer and r.chance(50) else r.pick(LEAD_SOURCES),
            "assignedTo": r.pick(self.users),
            "address1": p.street if customer or r.chance(30) else "",
            "city": p.city.name,
            "state": p.city.state,
            "country": "US",
            "postalCode": p.zip,
            "website": "",
            "tags": (["customer"] if customer else ["lead"]) + (["dup-check"] if dup else []),
            "dateAdded": iso_z(added),
            "dateUpdated": iso_z(ms),
            "firstNameLowerCase": first.lower(),
            "lastNameLowerCase": last.lower(),
            "fullNameLowerCase": f"{first} {last}".lower(),
            "customFields": [{"id": self.st_id_field, "value": str(st_customer_id)}]
            if st_customer_id is not None and r.chance(30)
            else [],
            "businessId": "",
        }
        if keep_phone:
            rec["phone"] = format_phone(p.phone, r.pick(PHONE_STYLES))
        if keep_email:
            rec["email"] = email
            rec["emailLowerCase"] = email.lower()
        return rec

    def opportunity(self, q: int) -> Record:
        c, _ = self.opps_ch.parent(q)
        contact = self.contact(c)
        ms = self.contact_ms(c) + 2
        r = Rng(self.h.seed, S["opp"], q)
        pipe = 0 if r.chance(80) else 1
        status = OPP_STATUS[bucket(r.next(), [40, 70, 95])]
        return self.opportunity_record(q, contact, pipe, status, r, ms)

    def opportunity_record(
        self, q: int, contact: Record, pipe: int, status: str, r: Rng, ms: int
    ) -> Record:
        stages = PIPELINES[pipe][1]
        stage = len(stages) - 1 if status == "won" else r.below(len(stages) - 1)
        created = ms - r.between(HOUR, 20 * DAY)
        stage_at = created + (ms - created) * (stage + 1) // (len(stages) + 1)
        rec = {
            "id": self.codec["opportunities"].encode(q),
            "name": f"{contact['name']} - {PIPELINES[pipe][0].split()[0]}",
            "monetaryValue": float(r.between(15, 1200) * 10),
            "pipelineId": self.pipeline_id(pipe),
            "pipelineStageId": self.stage_id(pipe, stage),
            "assignedTo": contact["assignedTo"],
            "status": status,
            "source": contact["source"],
            "lastStatusChangeAt": iso_z(ms if status != "open" else created),
            "lastStageChangeAt": iso_z(stage_at),
            "lastActionDate": iso_z(ms),
            "indexVersion": str(ms),
            "createdAt": iso_z(created),
            "updatedAt": iso_z(ms),
            "contactId": contact["id"],
            "locationId": self.location_id,
            "contact": {
                key: contact.get(key, "")
                for key in ("id", "name", "companyName", "email", "phone", "tags")
            },
            "notes": [],
            "tasks": [],
            "calendarEvents": [],
            "customFields": [],
            "followers": [],
            "externalObjectId": "",
        }
        if status == "lost":  # GHL omits the key on opportunities that were not lost
            rec["lostReasonId"] = self.codec["stages"].encode(999)
        return rec

    def _message_ms(self, m: int) -> int:
        k, j = self.msgs_ch.parent(m)
        return self.contact_ms(self.convs_ch.parent(k)[0]) + 5 + j

    def pipeline_id(self, pipe: int) -> str:
        return self.codec["pipelines"].encode(pipe)

    def stage_id(self, pipe: int, stage: int) -> str:
        """Stage ids are UUIDs in GHL."""
        h = self.h(S["pipe"], pipe * 100 + stage)
        x = f"{h:016x}{self.h(S['pipe'], -1 - pipe * 100 - stage):016x}"
        return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-a{x[17:20]}-{x[20:32]}"

    def note(self, n: int) -> Record:
        c, j = self.notes_ch.parent(n)
        r = Rng(self.h.seed, S["note"], n)
        ms = self.contact_ms(c) + 4 + j
        return self.note_record(n, self.codec["contacts"].encode(c), r, ms)

    def note_record(self, n: int, contact_id: str, r: Rng, ms: int) -> Record:
        return {
            "id": self.codec["notes"].encode(n),
            "body": r.pick(NOTE_BODIES),
            "userId": r.pick(self.users),
            "dateAdded": iso_z(ms),
            "contactId": contact_id,
        }

    def user(self, u: int) -> Record:
        r = Rng(self.h.seed, S["user"], u)
        first, last = r.pick(FIRST_NAMES), r.pick(LAST_NAMES)
        phone = format_phone(f"512{r.between(200, 999)}{r.between(0, 9999):04d}", "e164")
        return {
            "id": self.users[u],
            "name": f"{first} {last}",
            "firstName": first,
            "lastName": last,
            "email": f"{first}.{last}.{u}@team.example".lower(),
            "phone": phone,
            "extension": "",
            "permissions": dict.fromkeys(USER_PERMISSIONS, True),
            "roles": {
                "type": "account",
                "role": USER_ROLES[u],
                "locationIds": [self.location_id],
                "restrictSubAccount": False,
            },
            "deleted": False,
            "lcPhone": {self.location_id: phone},
        }

    def _conversation_plan(self, k: int) -> tuple[Record, str, int, int, bool]:
        """Conversation k's (contact, channel, first message ms, gap between messages ms,
        whether the contact wrote first). Its messages fall between the contact's creation
        and its last update, so the feed order (by that update) holds."""
        c, _ = self.convs_ch.parent(k)
        contact = self.contact(c)
        r = Rng(self.h.seed, S["conv"], k)
        channel = "SMS" if contact.get("phone") and r.chance(85) else "Email"
        if not contact.get("email"):
            channel = "SMS"
        end = self.contact_ms(c)
        start = end - r.between(HOUR, 20 * DAY)
        gap = r.between(MINUTE, max(MINUTE + 1, (end - start) // 4))
        return contact, channel, start, gap, r.chance(60)

    def message(self, m: int) -> Record:
        k, j = self.msgs_ch.parent(m)
        contact, channel, start, gap, inbound_first = self._conversation_plan(k)
        r = Rng(self.h.seed, S["msg"], m)
        inbound = (j % 2 == 0) == inbound_first
        type_no, type_name = MESSAGE_TYPES[channel]
        rec: Record = {
            "id": self.codec["messages"].encode(m),
            "type": type_no,
            "messageType": type_name,
            "locationId": self.location_id,
            "contactId": contact["id"],
            "conversationId": self.codec["conversations"].encode(k),
            "dateAdded": iso_z(start + j * gap),
            "body": r.pick(INBOUND_BODIES if inbound else OUTBOUND_BODIES),
            "direction": "inbound" if inbound else "outbound",
            "status": "read" if inbound else "delivered",
            "contentType": "text/plain",
            "attachments": [],
            "source": "app",
        }
        if not inbound:
            rec["userId"] = contact["assignedTo"]
        return rec

    def conversation(self, k: int) -> Record:
        contact, channel, start, _, _ = self._conversation_plan(k)
        last = self.message(self.msgs_ch.range(k)[1] - 1)
        r = Rng(self.h.seed, S["convn"], k)
        unread = 1 if last["direction"] == "inbound" and r.chance(30) else 0
        return self.conversation_record(
            self.codec["conversations"].encode(k),
            contact,
            last,
            added=start,
            updated=self.contact_ms(self.convs_ch.parent(k)[0]) + 9,
            phone_channel=channel == "SMS",
            unread=unread,
        )

    def conversation_record(
        self,
        conversation_id: str,
        contact: Record,
        last: Record,
        *,
        added: int,
        updated: int,
        phone_channel: bool,
        unread: int,
    ) -> Record:
        """A conversation as GET /conversations/search shows it: the contact's names and
        addresses and the newest message's summary (dates in epoch ms, as GHL has them)."""
        return {
            "id": conversation_id,
            "contactId": contact["id"],
            "locationId": self.location_id,
            "lastMessageBody": last["body"],
            "lastMessageType": last["messageType"],
            "lastMessageDirection": last["direction"],
            "lastMessageDate": parse_iso(last["dateAdded"]),
            "type": "TYPE_PHONE" if phone_channel else "TYPE_EMAIL",
            "unreadCount": unread,
            "fullName": contact["name"],
            "contactName": contact["name"],
            "email": contact.get("email", ""),
            "phone": normalize_e164(contact.get("phone")),
            "assignedTo": contact["assignedTo"],
            "dateAdded": added,
            "dateUpdated": updated,
            "inbox": True,
            "starred": False,
            "deleted": False,
            "tags": [],
            "followers": [],
        }

    # ---- tables --------------------------------------------------------------------
    def tables(self, t0: int) -> dict[str, ListTable | LazyTable]:
        def table(
            name: str,
            n: Callable[[], int],
            record: Callable[[int], Record],
            ms: Callable[[int], int],
            stamp: Callable[[Record, int], None],
            fill: Callable[[Record, int, int], None],
            deleted: Callable[[int], bool] | None = None,
            lag: int = 0,
        ) -> LazyTable:
            hooks = Hooks(self.codec[name].encode, self.codec[name].decode, stamp, fill)
            return LazyTable(
                ("gohighlevel", name, self.location_id), hooks, n, record, ms, deleted, lag
            )

        def stamp_field(field: str) -> Callable[[Record, int], None]:
            def stamp(rec: Record, ms: int) -> None:
                rec[field] = iso_z(ms)

            return stamp

        def filler(
            name: str, added: str, updated: str | None
        ) -> Callable[[Record, int, int], None]:
            def fill(rec: Record, idx: int, ms: int) -> None:
                rec["id"] = self.codec[name].encode(idx)
                rec.setdefault(added, iso_z(ms))
                if updated:
                    rec[updated] = iso_z(ms)
                if name != "notes":
                    rec["locationId"] = self.location_id

            return fill

        pipes = [
            {
                "id": self.pipeline_id(i),
                "name": name,
                "stages": [
                    {
                        "id": self.stage_id(i, s),
                        "name": st,
                        "position": s,
                        "showInFunnel": True,
                        "showInPieChart": True,
                    }
                    for s, st in enumerate(stages)
                ],
                "showInFunnel": True,
                "showInPieChart": i == 0,
                "locationId": self.location_id,
                "colorRenderMode": "dot",
            }
            for i, (name, stages) in enumerate(PIPELINES)
        ]

        def fill_conversation(rec: Record, idx: int, ms: int) -> None:
            rec["id"] = self.codec["conversations"].encode(idx)
            rec.setdefault("dateAdded", ms)
            rec["dateUpdated"] = ms
            rec["locationId"] = self.location_id

        def stamp_conversation(rec: Record, ms: int) -> None:
            rec["dateUpdated"] = ms

        return {
            "users": ListTable(
                ("gohighlevel", "users", self.location_id),
                Hooks(
                    self.codec["users"].encode,
                    self.codec["users"].decode,
                    lambda rec, ms: None,
                    filler("users", "name", None),
                ),
                [self.user(u) for u in range(len(self.users))],
                [t0 + u * MINUTE for u in range(len(self.users))],
            ),
            "conversations": table(
                "conversations",
                lambda: self.convs_ch.total,
                self.conversation,
                lambda k: self.contact_ms(self.convs_ch.parent(k)[0]) + 9,
                stamp_conversation,
                fill_conversation,
            ),
            # Messages never change: the feed time of message j of a conversation is its
            # contact's last update + 5 + j (a contact's records keep 10 ms to themselves).
            "messages": table(
                "messages",
                lambda: self.msgs_ch.total,
                self.message,
                lambda m: self._message_ms(m),
                lambda rec, ms: None,
                filler("messages", "dateAdded", None),
            ),
            "contacts": table(
                "contacts",
                lambda: self.contacts_ch.total,
                self.contact,
                self.contact_ms,
                stamp_field("dateUpdated"),
                filler("contacts", "dateAdded", "dateUpdated"),
                self.contact_deleted,
                30 * DAY,
            ),
            "opportunities": table(
                "opportunities",
                lambda: self.opps_ch.total,
                self.opportunity,
                lambda q: self.contact_ms(self.opps_ch.parent(q)[0]) + 2,
                stamp_field("updatedAt"),
                filler("opportunities", "createdAt", "updatedAt"),
                None,
                20 * DAY,
            ),
            "notes": table(
                "notes",
                lambda: self.notes_ch.total,
                self.note,
                lambda n: (
                    self.contact_ms(self.notes_ch.parent(n)[0]) + 4 + self.notes_ch.parent(n)[1]
                ),
                lambda rec, ms: None,
                filler("notes", "dateAdded", None),
            ),
            "pipelines": ListTable(
                ("gohighlevel", "pipelines", self.location_id),
                Hooks(
                    self.codec["pipelines"].encode,
                    self.codec["pipelines"].decode,
                    lambda rec, ms: None,
                    filler("pipelines", "name", None),
                ),
                pipes,
                [t0 + i * MINUTE for i in range(len(pipes))],
            ),
        }
