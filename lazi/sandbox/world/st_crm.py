"""ServiceTitan CRM: customers, locations and their contacts (one person each)."""

from __future__ import annotations

from functools import cached_property
from typing import overload

import numpy as np

from .clock import DAY, HOUR, iso_z
from .collection import Record
from .layout import Children, umod
from .people import CITIES, Person, make_person
from .rand import Rng, bucket
from .st_base import S, StBase


class CrmMixin(StBase):
    @overload
    def cust_ms(self, i: np.ndarray) -> np.ndarray: ...
    @overload
    def cust_ms(self, i: int) -> int: ...
    def cust_ms(self, i: int | np.ndarray) -> int | np.ndarray:
        s = self.step_c
        return (
            self.t0
            + i * s
            + s // 20
            + umod(
                self.h(S["cms"], i) if isinstance(i, int) else self.h.col(S["cms"], len(i)),
                max(1, s * 9 // 10),
            )
        )

    def cust_flags(self, i: int) -> int:
        """0 active, 1 inactive, 2 deleted (served as active=false tombstone)."""
        v = self.h(S["cflag"], i) % 1000
        return 2 if v < 10 else 1 if v < 40 else 0

    @cached_property
    def locs(self) -> Children:
        return Children(1 + bucket(self.h.col(S["locn"], self.n_c), [90, 98]))

    @cached_property
    def ccontacts(self) -> Children:
        return Children(1 + bucket(self.h.col(S["ccn"], self.n_c), [22]))

    @cached_property
    def lcontacts(self) -> Children:
        return Children(bucket(self.h.col(S["lcn"], self.locs.total), [45]))

    def customer(self, i: int) -> Record:
        p = self.person(i)
        ms = self.cust_ms(i)
        r = Rng(self.h.seed, S["cust"], i)
        created = ms - r.below(20 * DAY)
        flag = self.cust_flags(i)
        cf = self.ref.custom_fields["customer"]
        return {
            "id": self.id_base["customers"] + i,
            "active": flag == 0,
            "name": p.company if p.commercial else p.full_name,
            "type": "Commercial" if p.commercial else "Residential",
            "address": self.address(p, 0),
            "customFields": [
                {"typeId": cf[0][0], "name": cf[0][1], "value": r.pick(("Call", "Text", "Email"))}
            ]
            if r.chance(40)
            else [],
            "balance": 0.0,
            "taxExempt": p.commercial and r.chance(20),
            "tagTypeIds": [r.pick(self.ref.tag_types)] if r.chance(15) else [],
            "doNotMail": r.chance(5),
            "doNotService": flag != 0 and r.chance(50),
            "nationalAccount": False,
            "createdOn": iso_z(created),
            "createdById": r.pick(self.ref.csrs),
            "modifiedOn": iso_z(ms),
            "mergedToId": None,
            "paymentTermId": None,
            "creditLimit": None,
            "creditLimitBalance": None,
            "externalData": [],
        }

    def address(self, p: Person, j: int) -> Record:
        if j == 0:
            street, city, zip_, lat, lon = p.street, p.city, p.zip, p.lat, p.lon
        else:  # extra locations: rentals, a parent's house, a business site
            other = make_person(self.seed, p.index + 977 * j)
            street, city, zip_, lat, lon = other.street, other.city, other.zip, other.lat, other.lon
        unit = f"Apt {100 + p.index % 300}" if (p.index + j) % 11 == 0 else None
        return {
            "street": street,
            "unit": unit,
            "city": city.name,
            "state": city.state,
            "zip": zip_,
            "country": "USA",
            "latitude": lat,
            "longitude": lon,
        }

    def customer_contact(self, c: int) -> Record:
        i, j = self.ccontacts.parent(c)
        p = self.person(i)
        ms = self.cust_ms(i) + 1 + j
        created = ms - Rng(self.h.seed, S["cust"], i).below(20 * DAY)
        r = Rng(self.h.seed, S["ctype"], c)
        deleted = self.h(S["cdel"], c) % 100 < 2
        if j == 0:
            ctype, value = ("MobilePhone" if r.chance(60) else "Phone"), p.phone
        else:
            ctype, value = "Email", p.email
        return self.contact_record(
            self.id_base["customer_contacts"] + c,
            ctype,
            value,
            r,
            created,
            ms,
            not deleted,
            "customerId",
            self.id_base["customers"] + i,
        )

    @staticmethod
    def contact_record(
        cid: int,
        ctype: str,
        value: str,
        r: Rng,
        created: int,
        ms: int,
        active: bool,
        owner_key: str,
        owner_id: int,
    ) -> Record:
        phone = ctype != "Email"
        return {
            "id": cid,
            "type": ctype,
            "value": value,
            "memo": r.pick(("cell", "home", "work", None, None)) if phone else None,
            # The spec marks phoneSettings required even for emails; emails carry an empty one.
            "phoneSettings": {"phoneNumber": value if phone else "", "doNotText": r.chance(5)},
            "createdOn": iso_z(created),
            "modifiedOn": iso_z(ms),
            "preferences": {
                "jobRemindersEnabled": True,
                "marketingUpdatesEnabled": r.chance(60),
                "invoiceStatementNotification": not phone,
            },
            owner_key: owner_id,
            "active": active,
        }

    def loc_ms(self, loc: int) -> int:
        i, j = self.locs.parent(loc)
        return self.cust_ms(i) + 10 * (j + 1)

    def location(self, loc: int) -> Record:
        i, j = self.locs.parent(loc)
        p = self.person(i)
        ms = self.cust_ms(i) + 10 * (j + 1)
        r = Rng(self.h.seed, S["loc"], loc)
        created = ms - Rng(self.h.seed, S["cust"], i).below(20 * DAY)
        addr = self.address(p, j)
        cf = self.ref.custom_fields["location"]
        zone = next(
            (z for z, c in zip(self.ref.zones, CITIES, strict=False) if c.name == addr["city"]),
            None,
        )
        return {
            "taxZoneId": None,
            "id": self.id_base["locations"] + loc,
            "customerId": self.id_base["customers"] + i,
            "active": self.cust_flags(i) == 0,
            "name": (p.company if p.commercial else p.full_name)
            if j == 0
            else f"{addr['street']} ({'Rental' if r.chance(70) else 'Office'})",
            "address": addr,
            "customFields": [
                {"typeId": cf[0][0], "name": cf[0][1], "value": str(r.between(1000, 9999))}
            ]
            if r.chance(10)
            else [],
            "createdOn": iso_z(created),
            "createdById": r.pick(self.ref.csrs),
            "modifiedOn": iso_z(ms),
            "mergedToId": None,
            "zoneId": zone,
            "taxExempt": False,
            "tagTypeIds": [self.ref.tag_types[-1]] if r.chance(8) else [],
            "externalData": [],
        }

    def location_contact(self, c: int) -> Record:
        loc, j = self.lcontacts.parent(c)
        i, _ = self.locs.parent(loc)
        p = self.person(i)
        ms = self.loc_ms(loc) + 1 + j
        r = Rng(self.h.seed, S["ctype"], -1 - c)
        deleted = self.h(S["lcdel"], c) % 100 < 2
        return self.contact_record(
            self.id_base["location_contacts"] + c,
            "Phone",
            p.phone,
            r,
            ms - HOUR,
            ms,
            not deleted,
            "locationId",
            self.id_base["locations"] + loc,
        )
