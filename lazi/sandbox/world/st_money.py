"""ServiceTitan accounting: invoices (money as decimal strings) and payments applied to them."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property

import numpy as np

from .clock import DAY, HOUR, iso_z
from .collection import Record
from .layout import Children
from .rand import Rng
from .servicetitan_ref import (
    JOB_TYPES,
)
from .st_base import CENT, PAID, PAYMENT_TYPES, SPLIT, ZERO, Job, S, StBase, money


class MoneyMixin(StBase):
    @cached_property
    def payments_ch(self) -> Children:
        st = self.job_cols["status"]
        return Children(np.where(st == PAID, 1, np.where(st == SPLIT, 2, 0)))

    def invoice(self, k: int) -> Record:
        j = self.job(k)
        p = self.person(j.cust)
        loc_rec_addr = self.address(p, self.locs.parent(j.loc)[1])
        bu_id, bu_name = self.business_unit(j)
        techs = self.job_techs(k)
        paid = j.status in (PAID, SPLIT)
        inv_date = j.completed if j.completed is not None else j.created
        r = Rng(self.h.seed, S["inv"], k)
        addr = {
            key: v for key, v in self.address(p, 0).items() if key not in ("latitude", "longitude")
        }
        laddr = {key: v for key, v in loc_rec_addr.items() if key not in ("latitude", "longitude")}
        return {
            "summary": None,
            "items": self.invoice_items(j, self.id_base["invoices"] + k, techs),
            "customFields": [],
            "active": not r.chance(1),
            "discountTotal": "0.00",
            "importId": None,
            "exportId": None,
            "materialSkuId": None,
            "membershipId": None,
            "paidOn": iso_z(j.touch) if paid else None,
            "invoiceConfiguration": "JobInvoice",
            "id": self.id_base["invoices"] + k,
            "syncStatus": "Pending" if not paid else "Posted",
            "budgetCodeId": None,
            "referenceNumber": j.number,
            "invoiceDate": iso_z(inv_date),
            "dueDate": iso_z(inv_date + 30 * DAY),
            "subTotal": money(j.subtotal),
            "salesTax": money(j.tax),
            "salesTaxCode": {"id": 1, "name": "TX Sales Tax", "taxRate": float(self.ref.tax_rate)},
            "taxZoneId": None,
            "total": money(j.total),
            "balance": "0.00" if paid else money(j.total),
            "invoiceType": None,
            "customer": {
                "id": self.id_base["customers"] + j.cust,
                "name": self.customer_name(j.cust),
            },
            "customerAddress": addr,
            "location": {
                "id": self.id_base["locations"] + j.loc,
                "name": self.customer_name(j.cust),
            },
            "locationAddress": laddr,
            "businessUnit": {"id": bu_id, "name": bu_name},
            "termName": "Due Upon Receipt",
            "createdBy": "system",
            "batch": None,
            "depositedOn": None,
            "createdOn": iso_z(j.created),
            "modifiedOn": iso_z(j.touch + 2),
            "adjustmentToId": None,
            "job": {"id": j.id, "number": j.number, "type": JOB_TYPES[j.job_type][0]},
            "projectId": None,
            "royalty": None,
            "employeeInfo": None,
            "commissionEligibilityDate": None,
            "sentStatus": "Sent" if j.completed else "NotSent",
            "reviewStatus": "Invoiced" if j.completed else "NeedsReview",
            "assignedTo": None,
        }

    def invoice_items(self, j: Job, invoice_id: int, techs: list[int]) -> list[Record]:
        bu_id, bu_name = self.business_unit(j)
        return [
            self._invoice_item(j, invoice_id * 8 + n, n, s, q, price, techs, bu_id, bu_name)
            for n, (s, q, price) in enumerate(j.items)
        ]

    def _invoice_item(
        self,
        j: Job,
        item_id: int,
        n: int,
        s: int,
        qty: int,
        price: Decimal,
        techs: list[int],
        bu_id: int,
        bu_name: str,
    ) -> Record:
        sku = self.sku(s)
        total = qty * price
        return {
            "id": item_id,
            "description": f"<p>{sku.name}</p>",
            "quantity": f"{qty}.00",
            "cost": money(sku.cost),
            "totalCost": money(qty * sku.cost),
            "budgetCodeId": None,
            "inventoryLocationId": None,
            "inventoryLocation": None,
            "price": money(price),
            "type": sku.kind,
            "skuName": sku.code,
            "skuId": sku.id,
            "total": money(total),
            "inventory": sku.kind == "Material",
            "taxable": sku.taxable,
            "isChargeable": True,
            "generalLedgerAccount": None,
            "costOfSaleAccount": None,
            "assetAccount": None,
            "membershipTypeId": 0,
            "itemGroup": None,
            "displayName": sku.name,
            "soldHours": float(sku.hours),
            "createdOn": iso_z(j.created),
            "modifiedOn": iso_z(j.touch),
            "serviceDate": iso_z(j.completed) if j.completed else None,
            "order": n,
            "businessUnit": {"id": bu_id, "name": bu_name},
            "createdById": None,
            "displayInAmount": True,
            "importId": None,
            "exportId": None,
            "inventoryStatus": None,
            "addOn": False,
            "memberPrice": money(price * Decimal("0.9")),
            "technicianId": self.ref.technicians[techs[n % len(techs)]][0] if techs else None,
            "installedEquipmentId": self.id_base["installed_equipment"]
            + self.equipment_ch.range(j.k)[0]
            if s < 0
            else None,
            "estimateItemId": None,
        }

    def payment(self, q: int) -> Record:
        k, o = self.payments_ch.parent(q)
        j = self.job(k)
        n = self.payments_ch.range(k)[1] - self.payments_ch.range(k)[0]
        total = j.total
        amount = (
            (total / 2).quantize(CENT)
            if n == 2 and o == 0
            else total - ((total / 2).quantize(CENT) if n == 2 else ZERO)
        )
        when = j.touch if o == n - 1 else (j.completed or j.touch) - 2 * HOUR
        r = Rng(self.h.seed, S["pay"], q)
        return self.payment_record(
            self.id_base["payments"] + q,
            j,
            self.id_base["invoices"] + k,
            amount,
            when,
            j.touch + 1 + o,
            r,
        )

    def payment_record(
        self, pid: int, j: Job, invoice_id: int, amount: Decimal, when: int, ms: int, r: Rng
    ) -> Record:
        type_id, type_name = r.pick(PAYMENT_TYPES)
        bu_id, bu_name = self.business_unit(j)
        return {
            "active": True,
            "appliedTo": [
                {
                    "appliedAmount": money(amount),
                    "appliedBy": "system",
                    "appliedId": pid * 4,
                    "appliedOn": iso_z(when),
                    "appliedTo": invoice_id,
                    "appliedToReferenceNumber": j.number,
                }
            ],
            "authCode": f"{r.below(999999):06d}" if type_name == "Credit Card" else None,
            "batch": None,
            "businessUnit": {"id": bu_id, "name": bu_name},
            "checkNumber": str(r.between(1000, 9999)) if type_name == "Check" else None,
            "createdBy": "system",
            "createdOn": iso_z(when),
            "customer": {
                "id": self.id_base["customers"] + j.cust,
                "name": self.customer_name(j.cust),
            },
            "customFields": [],
            "date": iso_z(when),
            "deposit": None,
            "generalLedgerAccount": None,
            "id": pid,
            "memo": None,
            "modifiedOn": iso_z(ms),
            "referenceNumber": j.number,
            "refundedPaymentId": None,
            "syncStatus": "Posted",
            "total": money(amount),
            "type": type_name,
            "typeId": type_id,
            "unappliedAmount": "0.00",
        }
