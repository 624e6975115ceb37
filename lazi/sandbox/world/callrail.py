"""CallRail: one account per business, a live company and a disabled legacy one,
trackers tied to the tracked ServiceTitan campaigns, and calls (users and text-message
conversations are in cr_messaging).

Calls are laid out per ServiceTitan job slot: a tracked booking call (same phone, a few
minutes before the job was created) and 0-2 unrelated calls (strangers, other
customers, follow-ups). CallRail has no modified timestamp; the feed order is internal.
"""

from __future__ import annotations

from . import cr_messaging
from .clock import DAY, HOUR, iso_local
from .collection import Hooks, LazyTable, ListTable, Record
from .ids import IdCodec
from .layout import Hashes
from .people import make_person, stranger_phone
from .rand import Rng, stream_id
from .servicetitan import StTenant
from .servicetitan_ref import CAMPAIGNS, tracking_number

S = {name: stream_id("cr-" + name) for name in ("call", "caller", "company", "tracker")}
ZONE = "America/Chicago"
CALLER_ID_JUNK = ("WIRELESS CALLER", "UNKNOWN", "SPAM RISK", "TOLL FREE CALL")
LANDING = {
    "google": "https://{d}/lp/google",
    "facebook": "https://{d}/lp/fb",
    "yelp": "https://{d}/",
    "mailer": "https://{d}/spring",
    "lsa": "https://{d}/",
}


class CrAccount:
    """One CallRail account mirroring one ServiceTitan tenant."""

    def __init__(self, seed: int, account_no: int, st: StTenant, tenant_name: str) -> None:
        self.seed = seed
        self.no = account_no
        self.st = st
        self.name = tenant_name
        self.h = Hashes(seed * 15_485_863 + account_no)
        self.account_id = IdCodec(seed, "cr-account", "ACC").encode(account_no)
        self.codec = {
            "companies": IdCodec(seed * 7 + account_no, "cr-company", "COM"),
            "trackers": IdCodec(seed * 7 + account_no, "cr-tracker", "TRK"),
            "calls": IdCodec(seed * 7 + account_no, "cr-call", "CAL"),
            **cr_messaging.codecs(seed, account_no),
        }
        self.zone = ZONE
        self.domain = tenant_name.lower().replace(" ", "").replace("&", "") + ".com"
        self.tracked = [i for i, c in enumerate(CAMPAIGNS) if c[4]]

    def company_id(self, n: int = 0) -> str:
        return self.codec["companies"].encode(n)

    def tracker_id(self, campaign_no: int) -> str:
        """Tracker of a tracked campaign; campaign_no == len(CAMPAIGNS) is the legacy one."""
        n = self.tracked.index(campaign_no) if campaign_no in self.tracked else len(self.tracked)
        return self.codec["trackers"].encode(n)

    # ---- records -------------------------------------------------------------------
    def companies(self, t0: int) -> tuple[list[Record], list[int]]:
        rows = []
        for n, (suffix, status) in enumerate((("", "active"), (" (Old)", "disabled"))):
            created = t0 - (400 + 300 * n) * DAY
            rows.append(
                {
                    "id": self.company_id(n),
                    "name": self.name + suffix,
                    "status": status,
                    "time_zone": ZONE,
                    "created_at": iso_local(created, ZONE),
                    "disabled_at": iso_local(t0 - 30 * DAY, ZONE) if status == "disabled" else None,
                    "dni_active": status == "active",
                    "script_url": f"//cdn.callrail.com/companies/{100_000 + 10 * self.no + n}/s.js",
                    "callscore_enabled": False,
                    "lead_scoring_enabled": True,
                    "swap_exclude_jquery": None,
                    "swap_ppc_override": None,
                    "swap_landing_override": None,
                    "swap_cookie_duration": 6,
                    "callscribe_enabled": False,
                    "keyword_spotting_enabled": False,
                    "form_capture": True,
                }
            )
        return rows, [t0 - 30 * DAY, t0 - 29 * DAY]

    def trackers(self, t0: int) -> tuple[list[Record], list[int]]:
        rows, ms = [], []
        for i in range(len(CAMPAIGNS)):
            name, _, source, _, tracked = CAMPAIGNS[i]
            if not tracked:
                continue
            created = t0 - (300 - 20 * i) * DAY
            rows.append(self._tracker(i, name, source, created, "active"))
            ms.append(t0 + i * HOUR)
        rows.append(
            self._tracker(
                len(CAMPAIGNS), "Old Website Number", "direct", t0 - 800 * DAY, "disabled"
            )
        )
        ms.append(t0 + len(CAMPAIGNS) * HOUR)
        return rows, ms

    def _tracker(self, i: int, name: str, source: str | None, created: int, status: str) -> Record:
        number = (
            tracking_number(self.st.tn, i)
            if status == "active"
            else f"{self.st.business_phone()[:6]}9{i:03d}"
        )
        return {
            "id": self.tracker_id(i),
            "name": name,
            "type": "source",
            "status": status,
            "destination_number": f"+1{self.st.business_phone()}",
            "created_at": iso_local(created, ZONE),
            "disabled_at": None if status == "active" else iso_local(created + 400 * DAY, ZONE),
            "tracking_numbers": [f"+1{number}"],
            "whisper_message": f"Call from {name}",
            "sms_supported": True,
            "sms_enabled": False,
            "company": {
                "id": self.company_id(0 if status == "active" else 1),
                "name": self.name if status == "active" else self.name + " (Old)",
            },
            "source": {"type": source or "direct"},
            "campaign_name": name,
        }

    def call_ms(self, c: int) -> int:
        k, o = self.st.cr_calls_ch.parent(c)
        return int(self.st.job_ms(k)) + 1 + o

    def call(self, c: int) -> Record:
        st = self.st
        k, o = st.cr_calls_ch.parent(c)
        j = st.job(k)
        r = Rng(self.h.seed, S["call"], c)
        booked = o == 0 and j.lead_call and j.campaign in self.tracked
        if booked:
            person, start, campaign = st.person(j.cust), st.lead_call_ms(j), j.campaign
            phone = person.phone
        else:
            start = j.created - 2 * DAY + r.below(2 * DAY + j.touch - j.created)
            campaign = r.pick(self.tracked)
            kind = r.below(100)
            if kind < 50:  # a stranger: spam, wrong number, out-of-area shopper
                person, phone = None, stranger_phone(self.h.seed, c)
            else:  # an existing customer calling again (possibly the job's own)
                avail = max(1, min(st.n_c, (start - DAY - st.t0) // st.step_c))
                i = j.cust if kind < 65 else r.below(avail)
                person = st.person(i)
                phone = person.phone
        secs = r.between(25, 720) if r.chance(85) else r.between(0, 20)
        answered = secs > 20
        source = CAMPAIGNS[campaign][2] or "direct"
        medium = CAMPAIGNS[campaign][3] or "direct"
        if person is None:
            cname = r.pick(CALLER_ID_JUNK)
        elif r.chance(50):
            cname = f"{person.last.upper()} {person.first.upper()}"
        else:
            cname = person.full_name if r.chance(60) else r.pick(CALLER_ID_JUNK)
        city = person.city if person else make_person(self.seed, 10**8 + c).city
        return self.call_record(
            c,
            phone,
            start,
            secs,
            answered,
            campaign,
            cname,
            city.name,
            city.state,
            source,
            medium,
            "good_lead" if booked else (None if person else "not_a_lead"),
        )

    def call_record(
        self,
        c: int,
        phone: str,
        start: int,
        secs: int,
        answered: bool,
        campaign: int,
        cname: str,
        city: str,
        state: str,
        source: str,
        medium: str,
        lead_status: str | None,
    ) -> Record:
        tracking = tracking_number(self.st.tn, campaign)
        name = CAMPAIGNS[campaign][0]
        landing = LANDING.get(source, "https://{d}/").format(d=self.domain)
        cid = self.codec["calls"].encode(c)
        return {
            "id": cid,
            "answered": answered,
            "business_phone_number": f"+1{self.st.business_phone()}",
            "customer_city": city,
            "customer_country": "US",
            "customer_name": cname,
            "customer_phone_number": f"+1{phone}",
            "customer_state": state,
            "direction": "inbound",
            "duration": secs,
            "recording": f"https://api.callrail.com/v3/a/{self.account_id}/calls/{cid}/recording.json"
            if answered
            else None,
            "recording_duration": secs if answered else None,
            "recording_player": f"https://app.callrail.com/calls/{cid}/recording"
            if answered
            else None,
            "start_time": iso_local(start, ZONE),
            "tracking_phone_number": f"+1{tracking}",
            "voicemail": not answered and secs > 5,
            "call_type": "first_call" if lead_status == "good_lead" else "inbound",
            "company_id": self.company_id(0),
            "company_name": self.name,
            "company_time_zone": ZONE,
            "created_at": iso_local(start, ZONE),
            "device_type": "mobile",
            "first_call": lead_status == "good_lead",
            "lead_status": lead_status,
            "note": None,
            "value": None,
            "tags": [],
            "source": source,
            "source_name": name,
            "tracker_id": self.tracker_id(campaign),
            "medium": medium,
            "campaign": name,
            "keywords": None,
            "landing_page_url": landing,
            "referring_url": None,
            "referrer_domain": None,
            "utm_source": source,
            "utm_medium": medium,
            "utm_campaign": name,
            "utm_term": None,
            "utm_content": None,
            "gclid": None,
            "fbclid": None,
            "msclkid": None,
            "formatted_customer_phone_number": f"({phone[:3]}) {phone[3:6]}-{phone[6:]}",
            "formatted_tracking_phone_number": f"({tracking[:3]}) {tracking[3:6]}-{tracking[6:]}",
            "formatted_duration": f"{secs // 60}m {secs % 60}s",
            "formatted_value": "--",
        }

    # ---- tables --------------------------------------------------------------------
    def tables(self, t0: int) -> dict[str, ListTable | LazyTable]:
        def noop(rec: Record, ms: int) -> None:
            """CallRail records carry no modified timestamp."""

        def hooks(name: str) -> Hooks:
            codec = self.codec[name]

            def fill(rec: Record, idx: int, ms: int) -> None:
                rec["id"] = codec.encode(idx)
                rec.setdefault("created_at", iso_local(ms, ZONE))

            return Hooks(codec.encode, codec.decode, noop, fill)

        companies, cms = self.companies(t0)
        trackers, tms = self.trackers(t0)

        def key(name: str) -> tuple[str, str, str]:
            return ("callrail", name, self.account_id)

        return {
            "companies": ListTable(key("companies"), hooks("companies"), companies, cms),
            "trackers": ListTable(key("trackers"), hooks("trackers"), trackers, tms),
            "calls": LazyTable(
                key("calls"),
                hooks("calls"),
                lambda: self.st.cr_calls_ch.total,
                self.call,
                self.call_ms,
                None,
                17 * DAY,
            ),
            **cr_messaging.tables(self, t0),
        }
