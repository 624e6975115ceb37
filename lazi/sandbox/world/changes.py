"""advance(): the businesses keep running. New customers and bookings, jobs completed,
invoices paid late, edits, deactivations, deletions, CRM pipeline moves, CallRail
late edits and text messages (cr_messaging), each stamped with a time inside the advanced
window and applied in time order.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from . import cr_messaging
from .clock import DAY, HOUR, MINUTE, iso_z
from .collection import Collection, Record
from .gohighlevel import OPP_STATUS, PIPELINES, GhlLocation
from .people import Person, make_person
from .rand import Rng, stream_id
from .servicetitan import StTenant
from .st_base import (
    CENT,
    INSTALL_TYPES,
    N_TRACKED,
    OPEN,
    RECALL_TYPE,
    SCHEDULED,
    UNPAID,
    ZERO,
    Job,
    money,
)

if TYPE_CHECKING:
    from . import World

S_ADV = stream_id("advance")


@dataclass
class TenantState:
    """Open work carried between advances (indices into the tenant's collections)."""

    open_jobs: list[int] = field(default_factory=list)
    unpaid: list[int] = field(default_factory=list)  # job indices with an unpaid invoice
    inserted: dict[int, Job] = field(default_factory=dict)  # job index -> facts
    new_customers: list[int] = field(default_factory=list)
    persons: dict[int, int] = field(default_factory=dict)  # inserted customer idx -> person
    # reverse links of records advance() inserted, so nothing has to scan the overlay
    location_of: dict[int, int] = field(default_factory=dict)  # customer id -> location id
    assignments_of: dict[int, list[int]] = field(default_factory=dict)  # appt id -> indices


def _state(world: World, st: StTenant) -> TenantState:
    states = world.change_state
    if st.tenant_id not in states:
        cols = st.job_cols
        s = TenantState()
        s.open_jobs = [int(k) for k in np.nonzero(np.isin(cols["status"], OPEN))[0]]
        s.unpaid = [int(k) for k in np.nonzero(cols["status"] == UNPAID)[0]]
        states[st.tenant_id] = s
    return states[st.tenant_id]


class Advance:
    """One advance() call: schedules events, then applies them in timestamp order."""

    def __init__(self, world: World, hours: float) -> None:
        self.w = world
        self.t0 = world.now_ms()
        self.t1 = self.t0 + max(1, int(hours * HOUR))
        self.days = hours / 24
        self.r = Rng(world.seed, S_ADV, world.advances)
        self.events: list[tuple[int, int, Callable[[int], None]]] = []
        self.counts: Counter[str] = Counter()

    # ---- scheduling ----------------------------------------------------------------
    def n(self, per_day: float) -> int:
        """How many events of a kind: the rate over the window, randomly rounded; at least
        one per kind for windows of an hour or more, so small worlds exercise every kind."""
        x = per_day * self.days
        whole = int(x)
        drawn = whole + (1 if self.r.uniform() < x - whole else 0)
        return max(drawn, 1 if self.days >= 1 / 24 else 0)

    def at(self, fn: Callable[[int], None]) -> None:
        ms = self.t0 + 1 + self.r.below(self.t1 - self.t0 - 1)
        self.events.append((ms, len(self.events), fn))

    def run(self) -> dict[str, int]:
        for st in self.w.st.values():
            self.schedule_st(st)
        for loc in self.w.ghl.values():
            self.schedule_ghl(loc)
        for acc in self.w.cr.values():
            self.schedule_cr(acc.account_id)
        for acc in self.w.cr.values():
            cr_messaging.schedule(self, acc)
        heapq.heapify(self.events)
        while self.events:
            ms, _, fn = heapq.heappop(self.events)
            fn(ms)
        self.w._now_ms = self.t1
        self.w.advances += 1
        return dict(self.counts)

    def col(self, vendor: str, name: str, scope: object) -> Collection:
        return self.w.collection(vendor, name, scope)

    def commit(self, col: Collection, idx: int, rec: Record, ms: int) -> Record:
        self.counts["/".join(map(str, col.key))] += 1
        return col.commit(idx, rec, ms)

    def schedule_st(self, st: StTenant) -> None:
        rate = max(st.n_c, 50) / 1000  # per-day activity scales with the customer base
        for _ in range(self.n(rate * 1.2)):
            self.at(partial(self.new_customer, st))
        for _ in range(self.n(rate * 2.4)):
            self.at(partial(self.new_job, st))
        for _ in range(self.n(rate * 2.4)):
            self.at(partial(self.complete_job, st))
        for _ in range(self.n(rate * 0.8)):
            self.at(partial(self.late_payment, st))
        for _ in range(self.n(rate * 0.8)):
            self.at(partial(self.edit_customer, st))
        for _ in range(self.n(rate * 0.3)):
            self.at(partial(self.deactivate_customer, st))
        for _ in range(self.n(rate * 0.3)):
            self.at(partial(self.delete_contact, st))
        if self.r.chance(30):
            self.at(partial(self.edit_technician, st))

    def schedule_ghl(self, loc: GhlLocation) -> None:
        rate = max(loc.st.n_c, 50) / 1000
        for _ in range(self.n(rate * 1.5)):
            self.at(partial(self.move_opportunity, loc))
        for _ in range(self.n(rate * 1.0)):
            self.at(partial(self.tag_contact, loc))
        for _ in range(self.n(rate * 1.0)):
            self.at(partial(self.add_note, loc))
        for _ in range(self.n(rate * 0.2)):
            self.at(partial(self.delete_contact_ghl, loc))

    def schedule_cr(self, account: str) -> None:
        rate = max(self.w.cr[account].st.n_c, 50) / 1000
        for _ in range(self.n(rate * 1.5)):
            self.at(partial(self.late_call_edit, account))

    # ---- helpers -------------------------------------------------------------------
    def pick_live(
        self, col: Collection, tries: int = 20, ok: Callable[[Record], bool] | None = None
    ) -> tuple[int, Record] | None:
        """A random record that is not deleted (and passes ok); None if none was found."""
        if not len(col):
            return None
        for _ in range(tries):
            idx = self.r.below(len(col))
            if col.is_deleted_index(idx):
                continue
            rec = col.get_index(idx)
            if ok is None or ok(rec):
                return idx, rec
        return None

    def person_of_customer(self, st: StTenant, i: int) -> Person:
        p = _state(self.w, st).persons.get(i)
        return make_person(self.w.seed, p) if p is not None else st.person(i)

    # ---- ServiceTitan --------------------------------------------------------------
    def new_customer(self, st: StTenant, ms: int) -> None:
        w = self.w
        p_idx = w.next_person
        w.next_person += 1
        p = make_person(w.seed, p_idx)
        tid = st.tenant_id
        customers = self.col("servicetitan", "customers", tid)
        i = customers.new_index()
        _state(w, st).persons[i] = p_idx
        _state(w, st).new_customers.append(i)
        cust = st.customer(0)
        cust.update(
            {
                "id": customers.table.id_of(i),
                "active": True,
                "name": p.company if p.commercial else p.full_name,
                "type": "Commercial" if p.commercial else "Residential",
                "address": st.address(p, 0),
                "customFields": [],
                "tagTypeIds": [],
                "doNotService": False,
                "createdOn": iso_z(ms),
            }
        )
        self.commit(customers, i, cust, ms)
        locations = self.col("servicetitan", "locations", tid)
        li = locations.new_index()
        loc = st.location(0)
        loc.update(
            {
                "id": locations.table.id_of(li),
                "customerId": cust["id"],
                "active": True,
                "name": cust["name"],
                "address": st.address(p, 0),
                "customFields": [],
                "createdOn": iso_z(ms),
                "tagTypeIds": [],
            }
        )
        self.commit(locations, li, loc, ms)
        _state(w, st).location_of[cust["id"]] = loc["id"]
        contacts = self.col("servicetitan", "customer_contacts", tid)
        for ctype, value in (("MobilePhone", p.phone), ("Email", p.email)):
            ci = contacts.new_index()
            rec = st.contact_record(
                contacts.table.int_id_of(ci),
                ctype,
                value,
                self.r,
                ms,
                ms,
                True,
                "customerId",
                cust["id"],
            )
            self.commit(contacts, ci, rec, ms)
        lcontacts = self.col("servicetitan", "location_contacts", tid)
        lci = lcontacts.new_index()
        rec = st.contact_record(
            lcontacts.table.int_id_of(lci),
            "Phone",
            p.phone,
            self.r,
            ms,
            ms,
            True,
            "locationId",
            loc["id"],
        )
        self.commit(lcontacts, lci, rec, ms)
        ghl = next(g for g in w.ghl.values() if g.st is st)
        if self.r.chance(80):
            gcol = self.col("gohighlevel", "contacts", ghl.location_id)
            gi = gcol.new_index()
            grec = ghl.contact_record(
                gi, p, self.r, ms - self.r.below(DAY), ms, True, 0, cust["id"]
            )
            self.commit(gcol, gi, grec, ms)

    def new_job(self, st: StTenant, ms: int) -> None:
        tid = st.tenant_id
        customers = self.col("servicetitan", "customers", tid)
        found = self.pick_live(customers, ok=lambda c: c["active"])
        if found is None:
            return
        i, cust = found
        p = self.person_of_customer(st, i)
        locations = self.col("servicetitan", "locations", tid)
        loc_id = self._location_of(st, i, cust["id"])
        if loc_id is None:
            return
        jobs = self.col("servicetitan", "jobs", tid)
        k = jobs.new_index()
        jt = self.r.below(RECALL_TYPE)
        tracked = self.r.chance(70)
        campaign = self.r.below(N_TRACKED) if tracked else self.r.below(len(st.ref.campaigns))
        created = ms
        j = Job(
            k=k,
            id=jobs.table.int_id_of(k),
            number=str(10_001 + k),
            status=SCHEDULED,
            touch=ms,
            created=created,
            completed=None,
            cust=i,
            loc=locations.index_of(loc_id) or 0,
            job_type=jt,
            campaign=campaign,
            lead_call=True,
            items=[],
            subtotal=ZERO,
            tax=ZERO,
        )
        _state(self.w, st).inserted[k] = j
        _state(self.w, st).open_jobs.append(k)
        call_ms = created - 2 * MINUTE - self.r.below(20 * MINUTE)
        # the booking call (ServiceTitan telecom) and, when tracked, CallRail's view of it
        calls = self.col("servicetitan", "calls", tid)
        ci = calls.new_index()
        call = st.call(0)
        cust_ref = {"id": cust["id"], "name": cust["name"]}
        call.update(
            {
                "id": calls.table.id_of(ci),
                "from": p.phone,
                "type": "Booked",
                "createdOn": iso_z(call_ms),
                "customer": cust_ref,
                "location": {"id": loc_id, "name": cust["name"]},
                "campaign": {
                    "id": st.ref.campaigns[campaign][0],
                    "name": st.ref.campaigns[campaign][1],
                },
                "job": {"id": j.id, "number": j.number},
                "reason": {"id": st.ref.call_reasons[0][0], "name": st.ref.call_reasons[0][1]},
            }
        )
        self.commit(calls, ci, call, ms)
        rec = st.job_record(0)
        appts = self.col("servicetitan", "appointments", tid)
        ai = appts.new_index()
        invoices = self.col("servicetitan", "invoices", tid)
        vi = invoices.new_index()
        bu = st.ref.business_units[st.ref.job_types[jt][2]][0]
        rec.update(
            {
                "id": j.id,
                "jobNumber": j.number,
                "customerId": cust["id"],
                "locationId": loc_id,
                "jobStatus": "Scheduled",
                "completedOn": None,
                "businessUnitId": bu,
                "jobTypeId": st.ref.job_types[jt][0],
                "campaignId": st.ref.campaigns[campaign][0],
                "appointmentCount": 1,
                "firstAppointmentId": appts.table.id_of(ai),
                "lastAppointmentId": appts.table.id_of(ai),
                "noCharge": False,
                "createdOn": iso_z(created),
                "leadCallId": call["id"],
                "soldById": None,
                "invoiceId": invoices.table.id_of(vi),
                "total": 0.0,
                "estimateIds": [],
                "active": True,
                "customFields": [],
                "tagTypeIds": [],
            }
        )
        self.commit(jobs, k, rec, ms)
        start = ms + DAY + 8 * HOUR - ms % HOUR
        appt = st.appointment(0)
        appt.update(
            {
                "id": appts.table.id_of(ai),
                "jobId": j.id,
                "appointmentNumber": f"{j.number}-1",
                "start": iso_z(start),
                "end": iso_z(start + 2 * HOUR),
                "arrivalWindowStart": iso_z(start),
                "arrivalWindowEnd": iso_z(start + 4 * HOUR),
                "status": "Scheduled",
                "createdOn": iso_z(ms),
                "customerId": cust["id"],
                "active": True,
            }
        )
        self.commit(appts, ai, appt, ms)
        assigns = self.col("servicetitan", "appointment_assignments", tid)
        bi = assigns.new_index()
        tech_id, tech_name = st.ref.technicians[self.r.below(len(st.ref.technicians))]
        asg = st.assignment(0)
        asg.update(
            {
                "id": assigns.table.id_of(bi),
                "technicianId": tech_id,
                "technicianName": tech_name,
                "assignedOn": iso_z(ms),
                "status": "Scheduled",
                "jobId": j.id,
                "appointmentId": appt["id"],
                "createdOn": iso_z(ms),
                "active": True,
            }
        )
        self.commit(assigns, bi, asg, ms)
        _state(self.w, st).assignments_of[appt["id"]] = [bi]
        inv = st.invoice(0)
        inv.update(self._invoice_fields(st, j, invoices.table.int_id_of(vi), cust, loc_id, []))
        inv.update(
            {
                "createdOn": iso_z(ms),
                "invoiceDate": iso_z(ms),
                "paidOn": None,
                "dueDate": iso_z(ms + 30 * DAY),
                "sentStatus": "NotSent",
                "reviewStatus": "NeedsReview",
                "active": True,
            }
        )
        self.commit(invoices, vi, inv, ms)
        if campaign < N_TRACKED:
            acc = next(a for a in self.w.cr.values() if a.st is st)
            crc = self.col("callrail", "calls", acc.account_id)
            xi = crc.new_index()
            city = p.city
            cr = acc.call_record(
                xi,
                p.phone,
                call_ms,
                60 + self.r.below(400),
                True,
                campaign,
                p.full_name.upper(),
                city.name,
                city.state,
                acc.call(0)["source"],
                "cpc",
                "good_lead",
            )
            cr["source"] = st.ref.campaigns[campaign][1]
            self.commit(crc, xi, cr, ms)

    def _location_of(self, st: StTenant, i: int, customer_id: int) -> int | None:
        if i < st.n_c:
            return st.id_base["locations"] + st.locs.range(i)[0]
        return _state(self.w, st).location_of.get(customer_id)

    def _invoice_fields(
        self, st: StTenant, j: Job, inv_id: int, cust: Record, loc_id: int, techs: list[int]
    ) -> Record:
        bu_id, bu_name = st.business_unit(j)
        return {
            "id": inv_id,
            "items": st.invoice_items(j, inv_id, techs),
            "subTotal": money(j.subtotal),
            "salesTax": money(j.tax),
            "total": money(j.total),
            "balance": money(j.total),
            "referenceNumber": j.number,
            "customer": {"id": cust["id"], "name": cust["name"]},
            "location": {"id": loc_id, "name": cust["name"]},
            "businessUnit": {"id": bu_id, "name": bu_name},
            "job": {"id": j.id, "number": j.number, "type": st.ref.job_types[j.job_type][1]},
        }

    def complete_job(self, st: StTenant, ms: int) -> None:
        state = _state(self.w, st)
        tid = st.tenant_id
        jobs = self.col("servicetitan", "jobs", tid)
        while state.open_jobs:
            k = state.open_jobs.pop(self.r.below(len(state.open_jobs)))
            rec = jobs.get_index(k)
            if (
                rec["jobStatus"] in ("Scheduled", "Dispatched", "InProgress", "Hold")
                and rec["active"]
            ):
                break
        else:
            return
        base = state.inserted.get(k) or st.job(k)
        items = []
        for _ in range(self.r.between(1, 3)):
            s = self.r.below(len(st.ref.skus))
            qty = 1 if st.ref.skus[s].kind == "Service" else self.r.between(1, 3)
            items.append((s, qty, st.ref.skus[s].price))
        sub = sum((q * p for _, q, p in items), ZERO).quantize(CENT)
        taxable = sum((q * p for s, q, p in items if st.ref.skus[s].taxable), ZERO)
        tax = (taxable * st.ref.tax_rate).quantize(CENT)
        job_type = base.job_type if base.job_type not in INSTALL_TYPES else 0
        j = replace(
            base,
            status=UNPAID,
            completed=ms,
            touch=ms,
            items=items,
            subtotal=sub,
            tax=tax,
            job_type=job_type,
        )
        state.inserted[k] = j
        appts = self.col("servicetitan", "appointments", tid)
        assigns = self.col("servicetitan", "appointment_assignments", tid)
        techs: list[int] = []
        tech_ids = [t for t, _ in st.ref.technicians]
        for a_id in range(rec["firstAppointmentId"], rec["lastAppointmentId"] + 1):
            ai = appts.index_of(a_id)
            if ai is None:
                continue
            appt = appts.get_index(ai)
            if appt["jobId"] != rec["id"]:
                continue
            appt["status"] = "Done"
            self.commit(appts, ai, appt, ms)
            for bi in self._assignments_of(st, appt["id"], ai):
                asg = assigns.get_index(bi)
                asg["status"] = "Done"
                if asg["technicianId"] in tech_ids:
                    techs.append(tech_ids.index(asg["technicianId"]))
                self.commit(assigns, bi, asg, ms)
        rec.update(
            {
                "jobStatus": "Completed",
                "completedOn": iso_z(ms),
                "total": float(j.total),
                "jobTypeId": st.ref.job_types[job_type][0],
                "soldById": st.ref.technicians[techs[0]][0] if techs else None,
            }
        )
        self.commit(jobs, k, rec, ms)
        invoices = self.col("servicetitan", "invoices", tid)
        vi = invoices.index_of(rec["invoiceId"])
        if vi is None:
            return
        inv = invoices.get_index(vi)
        cust = {"id": rec["customerId"], "name": inv["customer"]["name"]}
        inv.update(self._invoice_fields(st, j, inv["id"], cust, rec["locationId"], techs))
        inv.update(
            {
                "invoiceDate": iso_z(ms),
                "dueDate": iso_z(ms + 30 * DAY),
                "sentStatus": "Sent",
                "reviewStatus": "Invoiced",
            }
        )
        self.commit(invoices, vi, inv, ms)
        if self.r.chance(60):
            self._pay(st, vi, ms)
        else:
            state.unpaid.append(k)

    def _assignments_of(self, st: StTenant, appt_id: int, ai: int) -> list[int]:
        if ai < st.appts.total:
            return list(range(*st.assigns.range(ai)))
        return _state(self.w, st).assignments_of.get(appt_id, [])

    def _pay(self, st: StTenant, vi: int, ms: int) -> None:
        """Pay an invoice's balance in full: a payment applied to it, balance to zero."""
        tid = st.tenant_id
        invoices = self.col("servicetitan", "invoices", tid)
        inv = invoices.get_index(vi)
        balance = Decimal(inv["balance"] or "0")
        if balance <= 0 or not inv["active"]:
            return
        payments = self.col("servicetitan", "payments", tid)
        pi = payments.new_index()
        k = st.job_index(inv["job"]["id"])
        j = _state(self.w, st).inserted.get(k) or st.job(k)
        j = replace(j, cust=0)
        rec = st.payment_record(payments.table.int_id_of(pi), j, inv["id"], balance, ms, ms, self.r)
        rec["customer"] = dict(inv["customer"])
        self.commit(payments, pi, rec, ms)
        inv.update({"balance": "0.00", "paidOn": iso_z(ms), "syncStatus": "Posted"})
        self.commit(invoices, vi, inv, ms)

    def late_payment(self, st: StTenant, ms: int) -> None:
        state = _state(self.w, st)
        invoices = self.col("servicetitan", "invoices", st.tenant_id)
        while state.unpaid:
            k = state.unpaid.pop(self.r.below(len(state.unpaid)))
            job = self.col("servicetitan", "jobs", st.tenant_id).get_index(k)
            vi = invoices.index_of(job["invoiceId"])
            if vi is not None and Decimal(invoices.get_index(vi)["balance"] or "0") > 0:
                self._pay(st, vi, ms)
                return

    def edit_customer(self, st: StTenant, ms: int) -> None:
        customers = self.col("servicetitan", "customers", st.tenant_id)
        found = self.pick_live(customers)
        if found is None:
            return
        i, rec = found
        if self.r.chance(50):
            rec["address"]["street"] = rec["address"]["street"].replace(" St", " Street")
            rec["address"]["unit"] = rec["address"]["unit"] or f"Unit {self.r.between(1, 40)}"
        else:
            rec["tagTypeIds"] = sorted(set(rec["tagTypeIds"]) | {self.r.pick(st.ref.tag_types)})
        rec["doNotMail"] = self.r.chance(10)
        self.commit(customers, i, rec, ms)

    def deactivate_customer(self, st: StTenant, ms: int) -> None:
        customers = self.col("servicetitan", "customers", st.tenant_id)
        found = self.pick_live(customers, ok=lambda c: c["active"])
        if found is not None:
            i, rec = found
            rec["active"] = False
            rec["doNotService"] = True
            self.commit(customers, i, rec, ms)

    def delete_contact(self, st: StTenant, ms: int) -> None:
        contacts = self.col("servicetitan", "customer_contacts", st.tenant_id)
        found = self.pick_live(contacts, ok=lambda c: c["type"] == "Email")
        if found is not None:
            self.counts["/".join(map(str, contacts.key))] += 1
            contacts.mark_deleted(found[0], ms)

    def edit_technician(self, st: StTenant, ms: int) -> None:
        techs = self.col("servicetitan", "technicians", st.tenant_id)
        found = self.pick_live(techs)
        if found is not None:
            i, rec = found
            rec["hourlyRate"] = float(rec["hourlyRate"]) + 1.0
            if self.r.chance(20):
                rec["active"] = False
            self.commit(techs, i, rec, ms)

    # ---- GoHighLevel ---------------------------------------------------------------
    def move_opportunity(self, loc: GhlLocation, ms: int) -> None:
        opps = self.col("gohighlevel", "opportunities", loc.location_id)
        found = self.pick_live(opps, ok=lambda o: o["status"] == "open")
        if found is None:
            return
        q, rec = found
        pipe = 0 if rec["pipelineId"] == loc.pipeline_id(0) else 1
        stages = PIPELINES[pipe][1]
        ids = [loc.stage_id(pipe, s) for s in range(len(stages))]
        stage = ids.index(rec["pipelineStageId"]) if rec["pipelineStageId"] in ids else 0
        if stage + 1 >= len(stages) - 1 or self.r.chance(25):
            status = OPP_STATUS[1] if self.r.chance(60) else OPP_STATUS[2]
            stage = len(stages) - 1 if status == "won" else stage
            rec.update({"status": status, "lastStatusChangeAt": iso_z(ms)})
            if status == "lost":
                rec["lostReasonId"] = loc.codec["stages"].encode(999)
        else:
            stage += 1
        rec.update(
            {
                "pipelineStageId": ids[stage],
                "lastStageChangeAt": iso_z(ms),
                "lastActionDate": iso_z(ms),
                "indexVersion": str(ms),
            }
        )
        self.commit(opps, q, rec, ms)

    def tag_contact(self, loc: GhlLocation, ms: int) -> None:
        contacts = self.col("gohighlevel", "contacts", loc.location_id)
        found = self.pick_live(contacts)
        if found is not None:
            c, rec = found
            rec["tags"] = sorted(
                set(rec["tags"]) | {self.r.pick(("newsletter", "review-asked", "maintenance-plan"))}
            )
            self.commit(contacts, c, rec, ms)

    def add_note(self, loc: GhlLocation, ms: int) -> None:
        contacts = self.col("gohighlevel", "contacts", loc.location_id)
        found = self.pick_live(contacts)
        if found is not None:
            notes = self.col("gohighlevel", "notes", loc.location_id)
            n = notes.new_index()
            self.commit(notes, n, loc.note_record(n, found[1]["id"], self.r, ms), ms)

    def delete_contact_ghl(self, loc: GhlLocation, ms: int) -> None:
        """Deleting a contact in GHL takes its opportunities, notes and conversations (with
        their messages) with it."""
        contacts = self.col("gohighlevel", "contacts", loc.location_id)
        found = self.pick_live(contacts)
        if found is None:
            return
        c, rec = found
        self.counts["/".join(map(str, contacts.key))] += 1
        contacts.mark_deleted(c, ms)
        for name in ("opportunities", "notes", "conversations", "messages"):
            col = self.col("gohighlevel", name, loc.location_id)
            for idx in self._children_of(loc, name, c, rec["id"]):
                if not col.is_deleted_index(idx):
                    self.counts["/".join(map(str, col.key))] += 1
                    col.mark_deleted(idx, ms)

    def _children_of(self, loc: GhlLocation, name: str, c: int, contact_id: str) -> list[int]:
        col = self.col("gohighlevel", name, loc.location_id)
        out = []
        if c < loc.contacts_ch.total:
            if name == "messages":
                for k in range(*loc.convs_ch.range(c)):
                    out += list(range(*loc.msgs_ch.range(k)))
            else:
                ch = {"opportunities": loc.opps_ch, "notes": loc.notes_ch}.get(name, loc.convs_ch)
                out += list(range(*ch.range(c)))
        # records inserted later (by advance or the apps) can belong to any contact
        out += [
            idx
            for idx in range(col.table.n_base, len(col))
            if col.get_index(idx).get("contactId") == contact_id
        ]
        return out

    # ---- CallRail ------------------------------------------------------------------
    def late_call_edit(self, account: str, ms: int) -> None:
        """Value / tags / lead status land days after the call (CallRail calls stay
        mutable); only calls from the last ten days are touched."""
        calls = self.col("callrail", "calls", account)
        lo = calls.position_at(self.w.now - timedelta(days=10))
        hi = calls.end_position()
        if hi <= lo:
            return
        pos = lo + self.r.below(hi - lo)
        rec = next(calls.iter_from(pos), None)
        if rec is None:
            return
        _, call = rec
        idx = calls.existing_index(call["id"])
        if call["lead_status"] == "good_lead":
            value = f"{self.r.between(15, 900) * 5}.00"
            call.update(
                {
                    "value": value,
                    "formatted_value": f"${value}",
                    "tags": sorted(set(call["tags"]) | {"booked"}),
                    "note": "Booked in ServiceTitan",
                }
            )
        else:
            call.update(
                {
                    "lead_status": self.r.pick(("not_a_lead", "good_lead")),
                    "tags": sorted(set(call["tags"]) | {self.r.pick(("spam", "follow-up"))}),
                }
            )
        self.commit(calls, idx, call, ms)


def advance(world: World, hours: float) -> dict[str, int]:
    return Advance(world, hours).run()
