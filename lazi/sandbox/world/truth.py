"""The answers the warehouse must reproduce, computed from the records actually served.

Everything streams the current state of the collections (base + overlay), so writes and
advance() are reflected automatically. Aggregates are cached per world.version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from .people import person_key, person_of_email, person_of_phone

if TYPE_CHECKING:
    from . import World
    from .collection import Collection, Record

ZERO = Decimal("0.00")


@dataclass
class _TenantFacts:
    lifetime_value: dict[int, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    job_count: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    paid: dict[int, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    tech_revenue: dict[int, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    identifiers: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))


def person_of_identifiers(phones: Sequence[str | None], emails: Sequence[str | None]) -> int | None:
    """Phones first (in order), then emails: the first identifier that names a person."""
    for ph in phones:
        p = person_of_phone(ph)
        if p is not None:
            return p
    for em in emails:
        p = person_of_email(em)
        if p is not None:
            return p
    return None


class Truth:
    """Ground truth for the marts. Persons are opaque string keys: compare by equality."""

    def __init__(self, world: World) -> None:
        self.w = world
        self._facts: dict[int, _TenantFacts] = {}
        self._version = -1

    def _tenant(self, tenant: int) -> _TenantFacts:
        if self._version != self.w.version:
            self._facts = {}
            self._version = self.w.version
        if tenant not in self._facts:
            self._facts[tenant] = self._compute(tenant)
        return self._facts[tenant]

    def _compute(self, tenant: int) -> _TenantFacts:
        def col(name: str) -> Collection:
            return self.w.collection("servicetitan", name, tenant)

        f = _TenantFacts()
        completed: set[int] = set()
        for job in col("jobs").records(live=True):
            if job["active"] and job["jobStatus"] != "Canceled":
                f.job_count[job["customerId"]] += 1
            if job["active"] and job["jobStatus"] == "Completed":
                completed.add(job["id"])
        techs: dict[int, set[int]] = defaultdict(set)
        for asg in col("appointment_assignments").records(live=True):
            if asg["active"]:
                techs[asg["jobId"]].add(asg["technicianId"])
        for inv in col("invoices").records(live=True):
            if not inv["active"]:
                continue
            total = Decimal(inv["total"] or "0")
            f.lifetime_value[inv["customer"]["id"]] += total
            job_id = inv["job"]["id"] if inv.get("job") else None
            if job_id in completed:
                for t in techs.get(job_id, ()):
                    f.tech_revenue[t] += total
        for pay in col("payments").records(live=True):
            if pay["active"]:
                for ap in pay["appliedTo"] or []:
                    f.paid[ap["appliedTo"]] += Decimal(ap["appliedAmount"] or "0")
        # identity: every contact value ever attached to the customer (a deleted contact
        # row still tells who the customer is), customer contacts before location ones
        for c in col("customer_contacts").records():
            f.identifiers[c["customerId"]].append(c["value"])
        loc_owner = {loc["id"]: loc["customerId"] for loc in col("locations").records()}
        for c in col("location_contacts").records():
            owner = loc_owner.get(c["locationId"])
            if owner is not None:
                f.identifiers[owner].append(c["value"])
        return f

    # ---- ServiceTitan money & counts -------------------------------------------------
    def customer_lifetime_value(self, tenant: int, customer_id: int) -> Decimal:
        """Sum of `total` (decimal string) over the tenant's invoices whose customer.id is
        customer_id, counting only invoices with active=true that are not deleted.
        Unpaid invoices count; the job's status does not matter."""
        return self._tenant(tenant).lifetime_value.get(customer_id, ZERO)

    def customer_job_count(self, tenant: int, customer_id: int) -> int:
        """Number of the customer's jobs (jobs.customerId) with active=true, not deleted
        and jobStatus != "Canceled" (open and completed jobs both count)."""
        return self._tenant(tenant).job_count.get(customer_id, 0)

    def invoice_paid_amount(self, tenant: int, invoice_id: int) -> Decimal:
        """Sum of appliedTo[].appliedAmount over active, non-deleted payments, for the
        appliedTo entries whose appliedTo == invoice_id. Equals total - balance for every
        generated invoice."""
        return self._tenant(tenant).paid.get(invoice_id, ZERO)

    def technician_revenue(self, tenant: int, technician_id: int) -> Decimal:
        """Completed revenue credited to a technician: for every active invoice whose job
        (invoice.job.id) is active with jobStatus "Completed", the invoice total is
        credited in full to each distinct technician holding an active appointment
        assignment on that job (no splitting; a two-tech job counts for both)."""
        return self._tenant(tenant).tech_revenue.get(technician_id, ZERO)

    # ---- identity --------------------------------------------------------------------
    # A person is whoever owns a phone number / email: the world gives every person one
    # unique number and one unique email, and every record about a person keeps at least
    # one of them exactly (after normalising: digits only without the leading US 1,
    # lowercase email). So: same person <=> share a normalised phone or email.

    def st_customer_person(self, tenant: int, customer_id: int) -> str:
        """Person of an ST customer: from the values of all its customer contacts (any
        state, ordered by position) and then its locations' contacts, phones before
        emails. A customer with no usable identifier is a person of its own."""
        values = self._tenant(tenant).identifiers.get(customer_id, [])
        p = person_of_identifiers(values, values)
        return person_key(p) if p is not None else f"st-{tenant}-{customer_id}"

    def ghl_contact_person(self, location_id: str, contact_id: str) -> str | None:
        """Person of a GHL contact: its phone, else its email; None if the contact does
        not exist or is deleted; a contact with neither is a person of its own."""
        col = self.w.collection("gohighlevel", "contacts", location_id)
        rec = col.get(contact_id)
        if rec is None or col.is_deleted(rec):
            return None
        p = person_of_identifiers([rec.get("phone")], [rec.get("email")])
        return person_key(p) if p is not None else f"ghl-{location_id}-{contact_id}"

    def callrail_call_person(self, account_id: str, call_id: str) -> str | None:
        """Person behind a CallRail call: owner of customer_phone_number; None for
        strangers (numbers that belong to nobody in the world) and unknown calls."""
        rec = self.w.collection("callrail", "calls", account_id).get(call_id)
        if rec is None:
            return None
        p = person_of_phone(rec.get("customer_phone_number"))
        return person_key(p) if p is not None else None

    def person_of_record(self, record: Record) -> int | None:
        """Helper for tests: person index named by any phone/email field of a record."""
        phones = [record.get(k) for k in ("phone", "customer_phone_number", "from")]
        return person_of_identifiers(phones, [record.get("email")])
