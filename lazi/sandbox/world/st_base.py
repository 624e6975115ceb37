"""Shared state and vocabulary of the ServiceTitan tenant generator (see servicetitan.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .clock import DAY, HOUR
from .collection import Record
from .layout import Children, Hashes
from .people import Person, make_person
from .rand import stream_id
from .servicetitan_ref import (
    CAMPAIGNS,
    JOB_TYPES,
    RefData,
    Sku,
    st_id_base,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# job status codes (column `status`)
PAID, SPLIT, UNPAID, NOCHARGE, CANCELED, SCHEDULED, DISPATCHED, INPROGRESS, HOLD = range(9)
OPEN = (SCHEDULED, DISPATCHED, INPROGRESS, HOLD)
JOB_STATUS = {
    PAID: "Completed",
    SPLIT: "Completed",
    UNPAID: "Completed",
    NOCHARGE: "Completed",
    CANCELED: "Canceled",
    SCHEDULED: "Scheduled",
    DISPATCHED: "Dispatched",
    INPROGRESS: "InProgress",
    HOLD: "Hold",
}
APPT_STATUS = {
    "Completed": "Done",
    "Canceled": "Canceled",
    "Scheduled": "Scheduled",
    "Dispatched": "Dispatched",
    "InProgress": "Working",
    "Hold": "Hold",
}
ASSIGN_STATUS = {
    "Done": "Done",
    "Canceled": "Done",
    "Scheduled": "Scheduled",
    "Dispatched": "Dispatched",
    "Working": "Working",
    "Hold": "Scheduled",
}
PAYMENT_TYPES = (
    ("1", "Credit Card"),
    ("2", "Check"),
    ("3", "Cash"),
    ("4", "ACH"),
    ("5", "Financing"),
)
N_TRACKED = sum(1 for c in CAMPAIGNS if c[4])
RECALL_TYPE = len(JOB_TYPES) - 1
INSTALL_TYPES = frozenset(i for i, jt in enumerate(JOB_TYPES) if jt[4] == "Install")

S = {
    name: stream_id("st-" + name)
    for name in (
        "cms",
        "clag",
        "cflag",
        "locn",
        "ccn",
        "lcn",
        "loc",
        "ctype",
        "jms",
        "jlag",
        "jstat",
        "jstat2",
        "jopen",
        "jcust",
        "jloc",
        "jtype",
        "jappt",
        "jest",
        "jcall",
        "jcall2",
        "jcamp",
        "jcr",
        "asgn",
        "asgt",
        "job",
        "inv",
        "est",
        "pay",
        "call",
        "cust",
        "ieq",
        "cdel",
        "lcdel",
    )
}


def money(d: Decimal) -> str:
    """ServiceTitan accounting money: a decimal string with two places."""
    return str(d.quantize(CENT))


@dataclass(slots=True)
class Job:
    """Everything needed to render a job and its children consistently."""

    k: int
    id: int
    number: str
    status: int
    touch: int  # base modifiedOn (ms)
    created: int
    completed: int | None
    cust: int
    loc: int
    job_type: int
    campaign: int
    lead_call: bool
    items: list[tuple[int, int, Decimal]]  # (sku index, qty, unit price); -1 = equipment
    subtotal: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    @property
    def status_name(self) -> str:
        return JOB_STATUS[self.status]


class StBase:
    """State shared by the tenant mixins; StTenant is the concrete class."""

    COLLECTIONS = (
        "customers",
        "customer_contacts",
        "locations",
        "location_contacts",
        "jobs",
        "appointments",
        "appointment_assignments",
        "estimates",
        "invoices",
        "payments",
        "installed_equipment",
        "calls",
    )

    def __init__(
        self,
        seed: int,
        tenant_no: int,
        tenant_id: int,
        n_customers: int,
        person_base: int,
        t0: int,
        t1: int,
        ref: RefData,
        collection_no: dict[str, int],
    ) -> None:
        self.seed = seed
        self.tn = tenant_no
        self.tenant_id = tenant_id
        self.n_c = max(1, n_customers)
        self.person_base = person_base
        self.t0 = t0
        self.t1 = t1
        self.ref = ref
        self.h = Hashes(seed * 7919 + tenant_no)
        self.id_base = {
            name: st_id_base(tenant_no, collection_no[name]) for name in self.COLLECTIONS
        }
        self.step_c = max(1, (t1 - HOUR - t0) // self.n_c)
        self.n_j = max(1, round(self.n_c * 2.2))
        # jobs start once the first customer surely exists (matters for tiny worlds)
        self.tj0 = min(t0 + max(60 * DAY, self.step_c + 17 * DAY), t1 - 30 * DAY)
        self.step_j = max(1, (t1 - HOUR - self.tj0) // self.n_j)
        self.cache_job = lru_cache(maxsize=8192)(self._job)

    if TYPE_CHECKING:
        # What the mixins use of each other, all defined on StTenant; declared here so that each
        # mixin type-checks on its own.
        @property
        def job_cols(self) -> dict[str, np.ndarray]: ...
        @property
        def locs(self) -> Children: ...
        @property
        def calls_ch(self) -> Children: ...
        @property
        def equipment_ch(self) -> Children: ...
        def _job(self, k: int) -> Job: ...
        def job(self, k: int) -> Job: ...
        def job_techs(self, k: int) -> list[int]: ...
        def sku(self, s: int) -> Sku: ...
        def address(self, p: Person, j: int) -> Record: ...

    def person(self, i: int) -> Person:
        return make_person(self.seed, self.person_base + i)

    def customer_name(self, i: int) -> str:
        p = self.person(i)
        return p.company if p.commercial else p.full_name

    def business_unit(self, j: Job) -> tuple[int, str]:
        """(id, name) of the business unit that owns the job's type."""
        return self.ref.business_units[self.ref.job_types[j.job_type][2]]
