"""ServiceTitan telecom calls, and the job-slot layout CallRail calls share with them."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .clock import MINUTE, iso_z
from .collection import Record
from .layout import Children, umod
from .rand import Rng, bucket
from .st_base import N_TRACKED, Job, S, StBase


class CallsMixin(StBase):
    @cached_property
    def calls_ch(self) -> Children:
        extra = umod(self.h.col(S["jcall2"], self.n_j), 100) < 30
        return Children(self.job_cols["lead"].astype(np.int64) + extra)

    @cached_property
    def cr_calls_ch(self) -> Children:
        c = self.job_cols
        tracked = c["lead"] & (c["camp"] < N_TRACKED)
        extra = bucket(self.h.col(S["jcr"], self.n_j), [55, 90])
        return Children(tracked.astype(np.int64) + extra)

    def lead_call_ms(self, j: Job) -> int:
        """When the booking call started; CallRail sees the same call at the same time."""
        return j.created - 2 * MINUTE - self.h(S["call"], -1 - j.k) % (25 * MINUTE)

    def call(self, c: int) -> Record:
        k, o = self.calls_ch.parent(c)
        j = self.job(k)
        r = Rng(self.h.seed, S["call"], c)
        p = self.person(j.cust)
        lead = j.lead_call and o == 0
        if lead:
            start = self.lead_call_ms(j)
            ctype, reason = "Booked", self.ref.call_reasons[0]
        else:
            start = j.created + r.below(max(1, j.touch - j.created))
            ctype = r.pick(("Unbooked", "NotLead", "Abandoned", "Excused"))
            reason = self.ref.call_reasons[3 if ctype != "Abandoned" else 4]
        secs = r.between(20, 900) if ctype != "Abandoned" else r.between(0, 15)
        camp_id, camp_name, _ = self.ref.campaigns[j.campaign]
        agent_id = self.ref.csrs[c % len(self.ref.csrs)]
        agent_name = dict(self.ref.employees)[agent_id]
        cust_ref = {"id": self.id_base["customers"] + j.cust, "name": self.customer_name(j.cust)}
        return {
            "id": self.id_base["calls"] + c,
            "duration": f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}",
            "from": p.phone,
            "to": self.business_phone(),
            "direction": "Inbound",
            "status": "Completed",
            "type": ctype,
            "recordingUrl": None,
            "voiceMailPath": None,
            "createdOn": iso_z(start),
            "modifiedOn": iso_z(j.touch + 1 + o),
            "reason": {"id": reason[0], "name": reason[1]},
            "customer": cust_ref,
            "location": {"id": self.id_base["locations"] + j.loc, "name": cust_ref["name"]},
            "campaign": {"id": camp_id, "name": camp_name},
            "job": {"id": j.id, "number": j.number} if lead else None,
            "agent": {"id": agent_id, "name": agent_name},
            "createdBy": {"id": agent_id, "name": agent_name},
            "excuseMemo": "",
            "tag": "",
            "active": True,
            "lead": None,
        }

    def business_phone(self) -> str:
        return f"{(512, 210)[self.tn % 2]}555{4000 + self.tn:04d}"
