"""ServiceTitan transactional data for one tenant, generated lazily from (seed, index).

Timeline: customers are spread over the whole history; job k's *last touch* (its base
modifiedOn) is spread over the history in index order, and everything about the job
(creation, appointments, completion, payment) happened before that touch. Children
(appointments, invoices, payments, calls...) are laid out contiguously per job, each
a few ms after the job's touch, so every table's base feed is ordered by index.
"""

from __future__ import annotations

from collections.abc import Callable

from .clock import DAY, HOUR
from .collection import LazyTable, Record
from .servicetitan_ref import st_hooks
from .st_base import S
from .st_calls import CallsMixin
from .st_crm import CrmMixin
from .st_jobs import JobsMixin
from .st_money import MoneyMixin


class StTenant(CrmMixin, JobsMixin, MoneyMixin, CallsMixin):
    """Lazy generator for one tenant's customers, jobs and everything hanging off them."""

    def tables(self) -> dict[str, LazyTable]:
        def st_table(
            name: str,
            n: Callable[[], int],
            record: Callable[[int], Record],
            ms: Callable[[int], int],
            deleted: Callable[[int], bool] | None = None,
            lag: int = 0,
        ) -> LazyTable:
            key = ("servicetitan", name, self.tenant_id)
            return LazyTable(key, st_hooks(self.id_base[name]), n, record, ms, deleted, lag)

        jms = self.job_ms
        return {
            "customers": st_table(
                "customers",
                lambda: self.n_c,
                self.customer,
                self.cust_ms,
                lambda i: self.cust_flags(i) == 2,
                20 * DAY,
            ),
            "customer_contacts": st_table(
                "customer_contacts",
                lambda: self.ccontacts.total,
                self.customer_contact,
                lambda c: (
                    self.cust_ms(self.ccontacts.parent(c)[0]) + 1 + self.ccontacts.parent(c)[1]
                ),
                lambda c: self.h(S["cdel"], c) % 100 < 2,
                20 * DAY,
            ),
            "locations": st_table(
                "locations", lambda: self.locs.total, self.location, self.loc_ms, None, 20 * DAY
            ),
            "location_contacts": st_table(
                "location_contacts",
                lambda: self.lcontacts.total,
                self.location_contact,
                lambda c: (
                    self.loc_ms(self.lcontacts.parent(c)[0]) + 1 + self.lcontacts.parent(c)[1]
                ),
                lambda c: self.h(S["lcdel"], c) % 100 < 2,
                HOUR,
            ),
            "jobs": st_table(
                "jobs", lambda: self.n_j, self.job_record, jms, self.job_deleted, 15 * DAY
            ),
            "appointments": st_table(
                "appointments",
                lambda: self.appts.total,
                self.appointment,
                lambda a: jms(self.appts.parent(a)[0]) + 10 * (self.appts.parent(a)[1] + 1),
                None,
                15 * DAY,
            ),
            "appointment_assignments": st_table(
                "appointment_assignments",
                lambda: self.assigns.total,
                self.assignment,
                self._assign_ms,
                None,
                15 * DAY,
            ),
            "estimates": st_table(
                "estimates",
                lambda: self.estimates_ch.total,
                self.estimate,
                lambda e: jms(self.estimates_ch.parent(e)[0]) + 3 + self.estimates_ch.parent(e)[1],
                None,
                15 * DAY,
            ),
            "invoices": st_table(
                "invoices", lambda: self.n_j, self.invoice, lambda k: jms(k) + 2, None, 15 * DAY
            ),
            "payments": st_table(
                "payments",
                lambda: self.payments_ch.total,
                self.payment,
                lambda q: jms(self.payments_ch.parent(q)[0]) + 1 + self.payments_ch.parent(q)[1],
                None,
                15 * DAY,
            ),
            "installed_equipment": st_table(
                "installed_equipment",
                lambda: self.equipment_ch.total,
                self.installed_equipment,
                lambda q: jms(self.equipment_ch.parent(q)[0]) + 4,
                None,
                15 * DAY,
            ),
            "calls": st_table(
                "calls",
                lambda: self.calls_ch.total,
                self.call,
                lambda c: jms(self.calls_ch.parent(c)[0]) + 1 + self.calls_ch.parent(c)[1],
                None,
                16 * DAY,
            ),
        }
