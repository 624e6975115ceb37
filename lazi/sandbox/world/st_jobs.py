"""ServiceTitan jobs and what hangs off them: appointments, technician assignments,
estimates and installed equipment."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import overload

import numpy as np

from .clock import DAY, HOUR, MINUTE, iso_z
from .collection import Record
from .layout import Children, umod
from .rand import Rng, bucket
from .servicetitan_ref import (
    CAMPAIGNS,
    EQUIPMENT,
    JOB_TYPES,
    Sku,
)
from .st_base import (
    APPT_STATUS,
    ASSIGN_STATUS,
    CENT,
    INSTALL_TYPES,
    N_TRACKED,
    NOCHARGE,
    OPEN,
    PAID,
    RECALL_TYPE,
    SCHEDULED,
    SPLIT,
    UNPAID,
    ZERO,
    Job,
    S,
    StBase,
)


class JobsMixin(StBase):
    @overload
    def job_ms(self, k: np.ndarray) -> np.ndarray: ...
    @overload
    def job_ms(self, k: int) -> int: ...
    def job_ms(self, k: int | np.ndarray) -> int | np.ndarray:
        s = self.step_j
        hv = self.h(S["jms"], k) if isinstance(k, int) else self.h.col(S["jms"], len(k))
        return self.tj0 + k * s + s // 20 + umod(hv, max(1, s * 9 // 10))

    @overload
    def job_lag(self, k: np.ndarray) -> np.ndarray: ...
    @overload
    def job_lag(self, k: int) -> int: ...
    def job_lag(self, k: int | np.ndarray) -> int | np.ndarray:
        """Time from booking to the last touch of the job."""
        hv = self.h(S["jlag"], k) if isinstance(k, int) else self.h.col(S["jlag"], len(k))
        return 2 * HOUR + umod(hv, 14 * DAY)

    @cached_property
    def job_cols(self) -> dict[str, np.ndarray]:
        n = self.n_j
        k = np.arange(n, dtype=np.int64)
        touch = self.job_ms(k)
        created = touch - self.job_lag(k)
        recent = (self.t1 - touch) < 5 * DAY
        is_open = recent & (umod(self.h.col(S["jopen"], n), 100) < 50)
        closed = bucket(self.h.col(S["jstat"], n), [72, 78, 88, 91]).astype(np.uint8)
        open_code = (SCHEDULED + umod(self.h.col(S["jstat2"], n), 4)).astype(np.uint8)
        status = np.where(is_open, open_code, closed).astype(np.uint8)
        avail = np.clip((created - DAY - self.t0) // self.step_c, 1, self.n_c)
        cust = umod(self.h.col(S["jcust"], n), avail)
        jt = umod(self.h.col(S["jtype"], n), RECALL_TYPE).astype(np.uint8)
        jt = np.where(status == NOCHARGE, RECALL_TYPE, jt).astype(np.uint8)
        lead = umod(self.h.col(S["jcall"], n), 100) < 62
        camp_h = self.h.col(S["jcamp"], n)
        camp = np.where(
            lead & (umod(camp_h, 100) < 75),
            umod(camp_h >> np.uint64(8), N_TRACKED),
            umod(camp_h >> np.uint64(16), len(CAMPAIGNS)),
        ).astype(np.uint8)
        return {"status": status, "cust": cust, "jt": jt, "lead": lead, "camp": camp}

    @cached_property
    def appts(self) -> Children:
        return Children(1 + bucket(self.h.col(S["jappt"], self.n_j), [85, 97]))

    @cached_property
    def assigns(self) -> Children:
        return Children(1 + bucket(self.h.col(S["asgn"], self.appts.total), [80]))

    @cached_property
    def estimates_ch(self) -> Children:
        return Children(bucket(self.h.col(S["jest"], self.n_j), [75, 93]))

    @cached_property
    def equipment_ch(self) -> Children:
        c = self.job_cols
        done = np.isin(c["status"], (PAID, SPLIT, UNPAID))
        return Children((done & np.isin(c["jt"], list(INSTALL_TYPES))).astype(np.int64))

    def job(self, k: int) -> Job:
        return self.cache_job(k)

    def _job(self, k: int) -> Job:
        c = self.job_cols
        status = int(c["status"][k])
        touch = int(self.job_ms(k))
        created = touch - int(self.job_lag(k))
        cust = int(c["cust"][k])
        r = Rng(self.h.seed, S["job"], k)
        lo, hi = self.locs.range(cust)
        loc = lo + r.below(hi - lo)
        completed = None
        if status in (PAID, SPLIT):
            completed = touch - r.below(min(4 * DAY, touch - created - HOUR))
        elif status in (UNPAID, NOCHARGE):
            completed = touch - 10 * MINUTE
        items: list[tuple[int, int, Decimal]] = []
        jt = int(c["jt"][k])
        if status in (PAID, SPLIT, UNPAID):
            skus = self.ref.skus
            for _ in range(r.between(1, 4)):
                s = r.below(len(skus))
                qty = 1 if skus[s].kind == "Service" else r.between(1, 4)
                items.append((s, qty, skus[s].price))
            if jt in INSTALL_TYPES:
                e = r.below(len(self.ref.equipment_skus))
                items.append((-1 - e, 1, self.ref.equipment_skus[e].price))
        elif status == NOCHARGE:
            s = next(i for i, sku in enumerate(self.ref.skus) if sku.name == "Warranty Visit")
            items.append((s, 1, ZERO))
        sub = sum((q * p for _, q, p in items), ZERO)
        taxable = sum((q * p for s, q, p in items if s < 0 or self.ref.skus[s].taxable), ZERO)
        tax = (taxable * self.ref.tax_rate).quantize(CENT)
        return Job(
            k=k,
            id=self.id_base["jobs"] + k,
            number=str(10_001 + k),
            status=status,
            touch=touch,
            created=created,
            completed=completed,
            cust=cust,
            loc=loc,
            job_type=jt,
            campaign=int(c["camp"][k]),
            lead_call=bool(c["lead"][k]),
            items=items,
            subtotal=sub.quantize(CENT),
            tax=tax,
        )

    def sku(self, s: int) -> Sku:
        return self.ref.skus[s] if s >= 0 else self.ref.equipment_skus[-1 - s]

    def tech_of(self, a_idx: int) -> int:
        """Technician index of assignment a_idx."""
        return self.h(S["asgt"], a_idx) % len(self.ref.technicians)

    def job_techs(self, k: int) -> list[int]:
        lo, hi = self.appts.range(k)
        out: list[int] = []
        for a in range(lo, hi):
            for b in range(*self.assigns.range(a)):
                t = self.tech_of(b)
                if t not in out:
                    out.append(t)
        return out

    def job_record(self, k: int) -> Record:
        j = self.job(k)
        a_lo, a_hi = self.appts.range(k)
        e_lo, e_hi = self.estimates_ch.range(k)
        call_lo, call_hi = self.calls_ch.range(k)
        r = Rng(self.h.seed, S["job"], -1 - k)
        cf = self.ref.custom_fields["job"]
        sold_by = self.job_techs(k)[0] if j.status in (PAID, SPLIT, UNPAID) else None
        return {
            "summary": f"<p>{JOB_TYPES[j.job_type][0]} requested by customer.</p>",
            "customFields": [{"typeId": cf[1][0], "name": cf[1][1], "value": r.pick(("Yes", "No"))}]
            if r.chance(30)
            else [],
            "externalData": [],
            "id": j.id,
            "jobNumber": j.number,
            "projectId": None,
            "customerId": self.id_base["customers"] + j.cust,
            "locationId": self.id_base["locations"] + j.loc,
            "jobStatus": j.status_name,
            "completedOn": iso_z(j.completed) if j.completed is not None else None,
            "businessUnitId": self.business_unit(j)[0],
            "jobTypeId": self.ref.job_types[j.job_type][0],
            "priority": JOB_TYPES[j.job_type][2],
            "campaignId": self.ref.campaigns[j.campaign][0],
            "appointmentCount": a_hi - a_lo,
            "firstAppointmentId": self.id_base["appointments"] + a_lo,
            "lastAppointmentId": self.id_base["appointments"] + a_hi - 1,
            "recallForId": None,
            "warrantyId": None,
            "jobGeneratedLeadSource": None,
            "noCharge": j.status == NOCHARGE,
            "notificationsEnabled": True,
            "createdOn": iso_z(j.created),
            "createdById": r.pick(self.ref.csrs),
            "modifiedOn": iso_z(j.touch),
            "tagTypeIds": [],
            "leadCallId": self.id_base["calls"] + call_lo
            if j.lead_call and call_hi > call_lo
            else None,
            "partnerLeadCallId": None,
            "bookingId": None,
            "soldById": self.ref.technicians[sold_by][0] if sold_by is not None else None,
            "customerPo": "",
            "invoiceId": self.id_base["invoices"] + k,
            "membershipId": None,
            "total": float(j.total),
            "createdFromEstimateId": None,
            "estimateIds": [self.id_base["estimates"] + e for e in range(e_lo, e_hi)],
            "active": not self.job_deleted(k),
        }

    def job_index(self, job_id: int) -> int:
        return job_id - self.id_base["jobs"]

    def job_deleted(self, k: int) -> bool:
        return self.h(S["jcust"], -1 - k) % 1000 < 5

    def appt_times(self, j: Job, n: int, ordinal: int) -> tuple[int, int]:
        if j.status in OPEN:
            start = j.touch + (ordinal + 1) * DAY - (j.touch % HOUR)
        else:
            end = j.completed if j.completed is not None else j.touch
            span = max(HOUR, end - j.created - 30 * MINUTE)
            start = j.created + 30 * MINUTE + span * ordinal // n
            start -= start % (15 * MINUTE)
        return start, start + 2 * HOUR

    def appointment(self, a: int) -> Record:
        k, o = self.appts.parent(a)
        j = self.job(k)
        lo, hi = self.appts.range(k)
        start, end = self.appt_times(j, hi - lo, o)
        ms = j.touch + 10 * (o + 1)
        status = APPT_STATUS[j.status_name]
        return {
            "id": self.id_base["appointments"] + a,
            "jobId": j.id,
            "appointmentNumber": f"{j.number}-{o + 1}",
            "start": iso_z(start),
            "end": iso_z(end),
            "arrivalWindowStart": iso_z(start),
            "arrivalWindowEnd": iso_z(start + 4 * HOUR),
            "status": status,
            "specialInstructions": None,
            "createdOn": iso_z(j.created + o * MINUTE),
            "modifiedOn": iso_z(ms),
            "customerId": self.id_base["customers"] + j.cust,
            "unused": False,
            "createdById": self.ref.csrs[k % len(self.ref.csrs)],
            "isConfirmed": True,
            "active": True,
        }

    def assignment(self, b: int) -> Record:
        a, o = self.assigns.parent(b)
        k, ao = self.appts.parent(a)
        j = self.job(k)
        tid, tname = self.ref.technicians[self.tech_of(b)]
        ms = j.touch + 10 * (ao + 1) + 1 + o
        appt_status = APPT_STATUS[j.status_name]
        return {
            "id": self.id_base["appointment_assignments"] + b,
            "technicianId": tid,
            "technicianName": tname,
            "assignedById": self.ref.employees[1][0],
            "assignedOn": iso_z(j.created + 5 * MINUTE),
            "status": ASSIGN_STATUS[appt_status],
            "isPaused": False,
            "jobId": j.id,
            "appointmentId": self.id_base["appointments"] + a,
            "createdOn": iso_z(j.created + 5 * MINUTE),
            "modifiedOn": iso_z(ms),
            "active": True,
        }

    def estimate(self, e: int) -> Record:
        k, o = self.estimates_ch.parent(e)
        j = self.job(k)
        r = Rng(self.h.seed, S["est"], e)
        items, sub = [], ZERO
        created = j.created + HOUR * (o + 1)
        for n in range(r.between(1, 3)):
            s = r.below(len(self.ref.skus))
            sku = self.ref.skus[s]
            qty = 1 if sku.kind == "Service" else r.between(1, 3)
            sub += qty * sku.price
            items.append(
                {
                    "id": (self.id_base["estimates"] + e) * 8 + n,
                    "sku": {
                        "id": sku.id,
                        "name": sku.code,
                        "displayName": sku.name,
                        "type": sku.kind,
                        "soldHours": float(sku.hours),
                        "generalLedgerAccountId": 4000,
                        "generalLedgerAccountName": "Income",
                        "modifiedOn": iso_z(j.created),
                    },
                    "skuAccount": "Income",
                    "description": f"<p>{sku.name}</p>",
                    "membershipTypeId": None,
                    "qty": float(qty),
                    "unitRate": float(sku.price),
                    "total": float(qty * sku.price),
                    "unitCost": float(sku.cost),
                    "totalCost": float(qty * sku.cost),
                    "itemGroupName": "",
                    "itemGroupRootId": None,
                    "createdOn": iso_z(created),
                    "modifiedOn": iso_z(created),
                    "chargeable": True,
                    "invoiceItemId": None,
                    "budgetCodeId": None,
                }
            )
        done = j.completed is not None
        status = r.pick(((1, "Sold"), (2, "Dismissed"), (0, "Open"))) if done else (0, "Open")
        bu_id, bu_name = self.business_unit(j)
        return {
            "id": self.id_base["estimates"] + e,
            "jobId": j.id,
            "projectId": None,
            "locationId": self.id_base["locations"] + j.loc,
            "customerId": self.id_base["customers"] + j.cust,
            "name": f"Option {o + 1}",
            "jobNumber": j.number,
            "status": {"value": status[0], "name": status[1]},
            "reviewStatus": "None",
            "summary": None,
            "createdOn": iso_z(created),
            "modifiedOn": iso_z(j.touch + 3 + o),
            "soldOn": iso_z(j.completed) if status[1] == "Sold" and j.completed else None,
            "soldBy": self.ref.technicians[self.job_techs(k)[0]][0]
            if status[1] == "Sold"
            else None,
            "active": True,
            "items": items,
            "externalLinks": [],
            "subtotal": float(sub),
            "tax": float((sub * self.ref.tax_rate).quantize(CENT)),
            "businessUnitId": bu_id,
            "businessUnitName": bu_name,
            "isRecommended": o == 0,
            "budgetCodeId": None,
            "isChangeOrder": False,
            "proposalTagName": None,
        }

    def installed_equipment(self, q: int) -> Record:
        k, _ = self.equipment_ch.parent(q)
        j = self.job(k)
        n, (s, _, _) = next((n, it) for n, it in enumerate(j.items) if it[0] < 0)
        sku = self.sku(s)
        make, model, _ = EQUIPMENT[-1 - s]
        installed = j.completed or j.touch
        return {
            "id": self.id_base["installed_equipment"] + q,
            "active": True,
            "equipmentId": sku.id,
            "locationId": self.id_base["locations"] + j.loc,
            "customerId": self.id_base["customers"] + j.cust,
            "invoiceItemId": (self.id_base["invoices"] + k) * 8 + n,
            "name": sku.name,
            "type": None,
            "installedOn": iso_z(installed),
            "createdOn": iso_z(installed),
            "modifiedOn": iso_z(j.touch + 4),
            "serialNumber": f"SN{self.h(S['ieq'], q) % 10**10:010d}",
            "barcodeId": None,
            "memo": "",
            "manufacturer": make,
            "model": model,
            "cost": float(sku.cost),
            "status": "Installed",
            "manufacturerWarrantyStart": iso_z(installed),
            "manufacturerWarrantyEnd": iso_z(installed + 3650 * DAY),
            "serviceProviderWarrantyStart": iso_z(installed),
            "serviceProviderWarrantyEnd": iso_z(installed + 365 * DAY),
            "tags": [],
            "actualReplacementDate": None,
            "predictedReplacementMonths": 144,
            "predictedReplacementDate": None,
        }

    def _assign_ms(self, b: int) -> int:
        a, o = self.assigns.parent(b)
        k, ao = self.appts.parent(a)
        return int(self.job_ms(k)) + 10 * (ao + 1) + 1 + o
