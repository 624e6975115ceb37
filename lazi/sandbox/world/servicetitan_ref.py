"""ServiceTitan reference data (settings, marketing, dispatch, pricebook): small, eager.

These tables hold tens to a few thousand rows per tenant, so they are built as plain
lists once; the transactional tables refer to them by index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from .clock import DAY, iso_z
from .collection import Hooks, ListTable, Record
from .layout import int_id_codec
from .people import CITIES, FIRST_NAMES, LAST_NAMES, PERSON_AREA_CODES, STREET_NAMES
from .rand import Rng, stream_id

TRADES = {
    "Plumbing": ("Plumbing Service", "Plumbing Install", "Drains & Sewer", "Water Heaters"),
    "HVAC": ("HVAC Service", "HVAC Install", "HVAC Maintenance", "Indoor Air Quality"),
    "Electrical": ("Electrical Service", "Electrical Install", "Generators"),
}
JOB_TYPES = (
    # name, trade, priority, duration (s), class
    ("Service Call", "Plumbing", "Normal", 5400, "Service"),
    ("Drain Cleaning", "Plumbing", "Normal", 3600, "Service"),
    ("Water Heater Replacement", "Plumbing", "High", 14400, "Install"),
    ("Leak Repair", "Plumbing", "Urgent", 7200, "Service"),
    ("Repipe Estimate", "Plumbing", "Low", 3600, "Sales"),
    ("AC Repair", "HVAC", "Urgent", 5400, "Service"),
    ("AC Tune-Up", "HVAC", "Normal", 3600, "Maintenance"),
    ("Furnace Repair", "HVAC", "High", 5400, "Service"),
    ("System Replacement", "HVAC", "Normal", 28800, "Install"),
    ("Duct Cleaning", "HVAC", "Low", 10800, "Service"),
    ("Panel Upgrade", "Electrical", "Normal", 14400, "Install"),
    ("Outlet Repair", "Electrical", "Normal", 3600, "Service"),
    ("Warranty Recall", "Plumbing", "High", 3600, "Recall"),
)
CAMPAIGNS = (
    # name, category, source, medium, tracked by CallRail
    ("Google Ads - Search", "Paid Search", "google", "cpc", True),
    ("Google Local Services", "Paid Search", "google", "lsa", True),
    ("Facebook Ads", "Social", "facebook", "paid_social", True),
    ("Yelp", "Directories", "yelp", "referral", True),
    ("Website Organic", "Organic", "google", "organic", True),
    ("Direct Mail - Spring", "Print", "mailer", "direct_mail", True),
    ("Repeat Customer", "Existing Customer", None, None, False),
    ("Referral", "Word of Mouth", None, None, False),
    ("Truck Wrap", "Offline", None, None, False),
    ("Radio - KVET", "Broadcast", "radio", "broadcast", False),
)
TAG_TYPES = (
    ("VIP", "#D4AF37", "High"),
    ("Member", "#2E86C1", "Medium"),
    ("Do Not Call", "#C0392B", "High"),
    ("Commercial", "#7D3C98", "Medium"),
    ("Warranty", "#27AE60", "Medium"),
    ("Second Opinion", "#E67E22", "Medium"),
    ("Callback", "#5D6D7E", "Medium"),
    ("Senior Discount", "#1ABC9C", "Medium"),
    ("Pet on Site", "#F1C40F", "Medium"),
    ("Gate Code", "#34495E", "Medium"),
)
CALL_REASONS = (
    ("New Service Request", True),
    ("Estimate Request", True),
    ("Emergency", True),
    ("Reschedule", False),
    ("Billing Question", False),
    ("Warranty Claim", True),
    ("Wrong Number", False),
    ("Vendor / Solicitor", False),
)
CUSTOM_FIELDS = {
    "customer": (
        ("Preferred Contact", "Dropdown", ["Call", "Text", "Email"]),
        ("How Did You Hear", "Text", []),
        ("Member Since", "Text", []),
    ),
    "location": (("Gate Code", "Text", []), ("Home Age (years)", "Numeric", [])),
    "job": (
        ("Permit Number", "Text", []),
        ("Upsell Opportunity", "Dropdown", ["Yes", "No"]),
        ("Parts Ordered", "Dropdown", ["Yes", "No", "N/A"]),
    ),
}
MATERIALS = (
    "Copper Pipe 1/2in",
    "PEX 3/4in",
    "Ball Valve",
    "Wax Ring",
    "Flapper",
    "P-Trap",
    "Capacitor 45/5",
    "Contactor 30A",
    "R-410A (lb)",
    "Air Filter 16x25",
    "Thermostat Wire",
    "Breaker 20A",
    "GFCI Outlet",
    "Wire Nuts",
    "Teflon Tape",
    "Supply Line",
)
SERVICES = (
    "Diagnostic Fee",
    "Drain Clearing - Main",
    "Drain Clearing - Secondary",
    "Toilet Rebuild",
    "Faucet Install",
    "Leak Repair",
    "AC Diagnostic",
    "AC Tune-Up",
    "Capacitor Replacement",
    "Refrigerant Recharge",
    "Furnace Tune-Up",
    "Panel Inspection",
    "Outlet Replacement",
    "Camera Inspection",
    "Hydro Jetting",
    "Warranty Visit",
)
EQUIPMENT = (
    ("Rheem", "XE50T10H45U0", "50 gal Water Heater"),
    ("A.O. Smith", "GCR-50", "50 gal Gas Water Heater"),
    ("Navien", "NPE-240A2", "Tankless Water Heater"),
    ("Carrier", "24ACC636A003", "3 Ton AC Condenser"),
    ("Trane", "XR14", "2.5 Ton AC Condenser"),
    ("Lennox", "EL296V", "Gas Furnace 80k BTU"),
    ("Goodman", "GSX140361", "3 Ton AC Condenser"),
    ("Generac", "7043", "22kW Generator"),
    ("Square D", "QO130L200PG", "200A Load Center"),
)
EMPLOYEE_ROLES = (
    "Owner",
    "Admin",
    "CSR",
    "CSR",
    "CSR",
    "Dispatch",
    "Accounting",
    "FieldManager",
    "SalesManager",
)
TEAMS = ("Red Team", "Blue Team", "Install Crew", "Maintenance Crew")


@dataclass
class Sku:
    id: int
    kind: str  # Service | Material | Equipment
    code: str
    name: str
    price: Decimal
    cost: Decimal
    hours: Decimal
    taxable: bool


@dataclass
class RefData:
    """Everything the transactional tables need to pick foreign keys."""

    tables: dict[str, ListTable] = field(default_factory=dict)
    business_units: list[tuple[int, str]] = field(default_factory=list)
    technicians: list[tuple[int, str]] = field(default_factory=list)
    employees: list[tuple[int, str]] = field(default_factory=list)
    csrs: list[int] = field(default_factory=list)
    zones: list[int] = field(default_factory=list)
    job_types: list[tuple[int, str, int]] = field(default_factory=list)  # id, name, BU index
    campaigns: list[tuple[int, str, bool]] = field(default_factory=list)
    tag_types: list[int] = field(default_factory=list)
    call_reasons: list[tuple[int, str, bool]] = field(default_factory=list)
    custom_fields: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    skus: list[Sku] = field(default_factory=list)
    equipment_skus: list[Sku] = field(default_factory=list)
    tax_rate: Decimal = Decimal("0.0825")


def st_stamp(record: Record, ms: int) -> None:
    record["modifiedOn"] = iso_z(ms)


def st_filler(id_of: Callable[[int], object]) -> Callable[[Record, int, int], None]:
    """Inserted ServiceTitan records get the next id and both timestamps."""

    def fill(record: Record, idx: int, ms: int) -> None:
        record["id"] = id_of(idx)
        record.setdefault("createdOn", iso_z(ms))
        record["modifiedOn"] = iso_z(ms)
        record.setdefault("active", True)

    return fill


def st_tombstone(record: Record) -> None:
    record["active"] = False


def st_hooks(id_base: int) -> Hooks:
    id_of, idx_of = int_id_codec(id_base)
    return Hooks(id_of, idx_of, st_stamp, st_filler(id_of), st_tombstone)


def tracking_number(tenant_no: int, campaign_no: int) -> str:
    """CallRail tracking number of a tracked campaign (also listed on the ST campaign)."""
    return f"{(512, 210, 737, 830)[tenant_no % 4]}555{100 + 10 * tenant_no + campaign_no:04d}"


def st_id_base(tenant_no: int, collection_no: int) -> int:
    """Distinct int64 id ranges per tenant and collection, so a wrong join shows up."""
    return (tenant_no + 1) * 10_000_000_000 + collection_no * 100_000_000 + 1


class RefBuilder:
    """Builds one tenant's reference tables; history starts at t0 and ends at t1 (ms)."""

    def __init__(
        self,
        seed: int,
        tenant_no: int,
        tenant_id: int,
        tenant_name: str,
        trade: str,
        t0: int,
        t1: int,
        n_customers: int,
        collection_no: dict[str, int],
    ) -> None:
        self.seed = seed
        self.tn = tenant_no
        self.tenant_id = tenant_id
        self.tenant_name = tenant_name
        self.trade = trade
        self.t0 = t0
        self.t1 = t1
        self.n_c = n_customers
        self.cno = collection_no
        self.ref = RefData()

    def _rng(self, name: str, i: int) -> Rng:
        return Rng(self.seed, stream_id(f"st-ref-{name}-{self.tn}"), i)

    def _times(self, r: Rng) -> tuple[int, int]:
        created = self.t0 - r.between(30, 400) * DAY + r.below(DAY)
        modified = self.t0 + r.below(self.t1 - self.t0 - DAY)
        return created, modified

    def _add(
        self, name: str, rows: list[Record], ms: list[int], deleted: set[int] | None = None
    ) -> None:
        key = ("servicetitan", name, self.tenant_id)
        self.ref.tables[name] = ListTable(
            key, st_hooks(st_id_base(self.tn, self.cno[name])), rows, ms, deleted
        )

    def id(self, name: str, idx: int) -> int:
        return st_id_base(self.tn, self.cno[name]) + idx

    def build(self) -> RefData:
        self._employees()
        self._business_units()
        self._zones_teams_techs()
        self._job_types()
        self._campaigns()
        self._tag_types()
        self._call_reasons()
        self._custom_fields()
        self._pricebook()
        return self.ref

    def _employees(self) -> None:
        n = max(len(EMPLOYEE_ROLES), self.n_c // 1500)
        rows, ms = [], []
        for i in range(n):
            r = self._rng("emp", i)
            first, last = r.pick(FIRST_NAMES), r.pick(LAST_NAMES)
            role = EMPLOYEE_ROLES[i] if i < len(EMPLOYEE_ROLES) else r.pick(EMPLOYEE_ROLES[2:])
            created, modified = self._times(r)
            active = i < 2 or not r.chance(8)
            eid = self.id("employees", i)
            rows.append(
                {
                    "id": eid,
                    "userId": eid + 500_000_000,
                    "name": f"{first} {last}",
                    "firstName": first,
                    "lastName": last,
                    "managerId": None,
                    "role": role,
                    "roleIds": [],
                    "businessUnitId": None,
                    "createdOn": iso_z(created),
                    "modifiedOn": iso_z(modified),
                    "email": f"{first[0].lower()}{last.lower()}@{self._domain()}",
                    "phoneNumber": f"{PERSON_AREA_CODES[0]}555{1000 + i:04d}",
                    "loginName": f"{first[0].lower()}{last.lower()}{i}",
                    "active": active,
                    "aadUserId": None,
                    "accountLocked": False,
                    "customFields": [],
                    "permissions": [],
                    "home": None,
                    "agentId": 100 + i,
                    "startDate": iso_z(created),
                    "terminationDate": None if active else iso_z(modified),
                    "hourlyRate": float(r.between(18, 45)),
                    "overtimeProfileId": None,
                }
            )
            ms.append(modified)
            self.ref.employees.append((eid, f"{first} {last}"))
            if role == "CSR":
                self.ref.csrs.append(eid)
        self._add("employees", rows, ms)

    def _domain(self) -> str:
        return self.tenant_name.lower().replace(" ", "").replace("&", "") + ".com"

    def _business_units(self) -> None:
        names = TRADES[self.trade] + ("Electrical Service",)
        rows, ms = [], []
        for i, name in enumerate(names):
            r = self._rng("bu", i)
            created, modified = self._times(r)
            city = CITIES[self.tn * 4 % len(CITIES)]
            bid = self.id("business_units", i)
            trade = self.trade if i < len(names) - 1 else "Electrical"
            rows.append(
                {
                    "id": bid,
                    "active": i < len(names) - 1,
                    "name": name,
                    "officialName": f"{self.tenant_name} LLC",
                    "email": f"office@{self._domain()}",
                    "currency": "USD",
                    "phoneNumber": f"{PERSON_AREA_CODES[self.tn]}555{2000 + i:04d}",
                    "invoiceHeader": f"<b>{self.tenant_name}</b>",
                    "invoiceMessage": "Thank you for your business!",
                    "defaultTaxRate": float(self.ref.tax_rate),
                    "authorizationParagraph": None,
                    "acknowledgementParagraph": None,
                    "address": {
                        "street": f"{1200 + i} {STREET_NAMES[i]} Blvd",
                        "unit": None,
                        "city": city.name,
                        "state": city.state,
                        "zip": city.zips[0],
                        "country": "USA",
                        "latitude": city.lat,
                        "longitude": city.lon,
                        "isManualCoordinates": False,
                        "isMilitary": False,
                    },
                    "materialSku": None,
                    "quickbooksClass": name,
                    "accountCode": None,
                    "franchiseId": None,
                    "conceptCode": None,
                    "corporateContractNumber": None,
                    "trade": {"id": 1 + list(TRADES).index(trade), "name": trade},
                    "division": {"id": 1, "name": "Residential"},
                    "tagTypeIds": [],
                    "tenant": {
                        "id": self.tenant_id,
                        "name": self.tenant_name,
                        "accountCode": None,
                        "franchiseId": None,
                        "conceptCode": None,
                        "modifiedOn": iso_z(self.t0),
                    },
                    "createdOn": iso_z(created),
                    "modifiedOn": iso_z(modified),
                    "externalData": [],
                }
            )
            ms.append(modified)
            self.ref.business_units.append((bid, name))
        self._add("business_units", rows, ms)

    def _zones_teams_techs(self) -> None:
        rows, ms = [], []
        n_tech = max(6, self.n_c // 400)
        tech_ids = [self.id("technicians", i) for i in range(n_tech)]
        n_bu = len(self.ref.business_units) - 1
        for i, city in enumerate(CITIES[:6]):
            r = self._rng("zone", i)
            created, modified = self._times(r)
            zid = self.id("zones", i)
            rows.append(
                {
                    "id": zid,
                    "active": i < 5,
                    "name": f"{city.name} Metro",
                    "zips": list(city.zips),
                    "cities": [city.name],
                    "territoryNumbers": [f"T{i + 1:02d}"],
                    "locnNumbers": [],
                    "createdBy": self.ref.employees[1][0],
                    "createdOn": iso_z(created),
                    "modifiedOn": iso_z(modified),
                    "serviceDaysEnabled": False,
                    "serviceDays": [],
                    "businessUnits": [b for b, _ in self.ref.business_units[:n_bu]],
                    "technicians": tech_ids[i::6],
                }
            )
            ms.append(modified)
            self.ref.zones.append(zid)
        self._add("zones", rows, ms)
        rows, ms = [], []
        for i, name in enumerate(TEAMS):
            r = self._rng("team", i)
            created, modified = self._times(r)
            rows.append(
                {
                    "id": self.id("teams", i),
                    "active": i < 3,
                    "name": name,
                    "createdBy": self.ref.employees[0][0],
                    "createdOn": iso_z(created),
                    "modifiedOn": iso_z(modified),
                }
            )
            ms.append(modified)
        self._add("teams", rows, ms)
        rows, ms = [], []
        for i in range(n_tech):
            r = self._rng("tech", i)
            first, last = r.pick(FIRST_NAMES), r.pick(LAST_NAMES)
            created, modified = self._times(r)
            tid = tech_ids[i]
            zone = self.ref.zones[i % 6]
            rows.append(
                {
                    "id": tid,
                    "userId": tid + 500_000_000,
                    "name": f"{first} {last}",
                    "roleIds": [],
                    "businessUnitId": self.ref.business_units[i % n_bu][0],
                    "mainZoneId": zone,
                    "zoneIds": [zone],
                    "createdOn": iso_z(created),
                    "modifiedOn": iso_z(modified),
                    "email": f"{first.lower()}.{last.lower()}@{self._domain()}",
                    "phoneNumber": f"{PERSON_AREA_CODES[1]}555{3000 + i % 7000:04d}",
                    "loginName": f"{first.lower()}{i}",
                    "home": None,
                    "dailyGoal": float(r.between(8, 30) * 100),
                    "isManagedTech": True,
                    "licenseType": "ManagedTech",
                    "customFields": [],
                    "active": i != n_tech - 1 and not r.chance(8),  # someone always left
                    "aadUserId": None,
                    "burdenRate": float(r.between(20, 40)),
                    "team": TEAMS[i % 3],
                    "jobFilter": "AllScheduledDispatchedWorking",
                    "permissions": [],
                    "accountLocked": False,
                    "commissionRate": float(r.between(2, 8)),
                    "currentValue": None,
                    "firstName": first,
                    "lastName": last,
                    "hourlyRate": float(r.between(22, 48)),
                    "jobId": None,
                    "mobilePhone": None,
                    "outboundCallerId": None,
                    "payrollId": f"P{1000 + i}",
                    "payrollProfileId": None,
                    "appoitmentId": None,
                    "shiftStart": None,
                    "shiftEnd": None,
                    "soldByRate": float(r.between(1, 5)),
                    "startDate": iso_z(created),
                    "status": "Idle",
                    "skills": [],
                    "positions": ["Service"],
                    "location": None,
                    "bio": None,
                    "memo": None,
                }
            )
            ms.append(modified)
            self.ref.technicians.append((tid, f"{first} {last}"))
        self._add("technicians", rows, ms)

    def _job_types(self) -> None:
        rows, ms = [], []
        bu_names = [n for _, n in self.ref.business_units]
        for i, (name, trade, prio, dur, cls) in enumerate(JOB_TYPES):
            r = self._rng("jt", i)
            created, modified = self._times(r)
            bu = i % (len(bu_names) - 1) if trade == self.trade else len(bu_names) - 1
            if trade not in (self.trade, "Electrical"):
                bu = i % (len(bu_names) - 1)
            jid = self.id("job_types", i)
            rows.append(
                {
                    "id": jid,
                    "name": name,
                    "businessUnitIds": [self.ref.business_units[bu][0]],
                    "skills": [],
                    "tagTypeIds": [],
                    "priority": prio,
                    "duration": dur,
                    "soldThreshold": None,
                    "class": cls,
                    "summary": f"{name} ({trade})",
                    "noCharge": cls == "Recall",
                    "enforceRecurringServiceEventSelection": False,
                    "invoiceSignaturesRequired": cls == "Install",
                    "modifiedOn": iso_z(modified),
                    "createdOn": iso_z(created),
                    "externalData": [],
                    "active": True,
                    "isSmartDispatched": False,
                }
            )
            ms.append(modified)
            self.ref.job_types.append((jid, name, bu))
        self._add("job_types", rows, ms)

    def _campaigns(self) -> None:
        rows, ms = [], []
        categories: dict[str, int] = {}
        for i, (name, cat, source, medium, tracked) in enumerate(CAMPAIGNS):
            r = self._rng("camp", i)
            created, modified = self._times(r)
            cid = self.id("campaigns", i)
            cat_id = categories.setdefault(cat, 100 + len(categories))
            rows.append(
                {
                    "id": cid,
                    "name": name,
                    "modifiedOn": iso_z(modified),
                    "createdOn": iso_z(created),
                    "active": i != len(CAMPAIGNS) - 2,
                    "isDefaultCampaign": i == 6,
                    "category": {"id": cat_id, "name": cat, "active": True},
                    "source": source,
                    "otherSource": None,
                    "businessUnit": None,
                    "medium": medium,
                    "otherMedium": None,
                    "campaignPhoneNumbers": [tracking_number(self.tn, i)] if tracked else [],
                }
            )
            ms.append(modified)
            self.ref.campaigns.append((cid, name, tracked))
        self._add("campaigns", rows, ms)

    def _tag_types(self) -> None:
        rows, ms = [], []
        for i, (name, color, importance) in enumerate(TAG_TYPES):
            r = self._rng("tag", i)
            created, modified = self._times(r)
            tid = self.id("tag_types", i)
            rows.append(
                {
                    "id": tid,
                    "name": name,
                    "color": color,
                    "code": name[:3].upper(),
                    "importance": importance,
                    "isConversionOpportunity": name == "Second Opinion",
                    "allowToUseOnTimesheetActivity": False,
                    "isVisibleOnDispatchBoard": True,
                    "active": name != "Senior Discount",
                    "createdOn": iso_z(created),
                    "modifiedOn": iso_z(modified),
                }
            )
            ms.append(modified)
            self.ref.tag_types.append(tid)
        self._add("tag_types", rows, ms)

    def _call_reasons(self) -> None:
        rows, ms = [], []
        for i, (name, is_lead) in enumerate(CALL_REASONS):
            r = self._rng("reason", i)
            created, modified = self._times(r)
            rid = self.id("call_reasons", i)
            rows.append(
                {
                    "id": rid,
                    "name": name,
                    "isLead": is_lead,
                    "active": True,
                    "createdOn": iso_z(created),
                    "modifiedOn": iso_z(modified),
                }
            )
            ms.append(modified)
            self.ref.call_reasons.append((rid, name, is_lead))
        self._add("call_reasons", rows, ms)

    def _custom_fields(self) -> None:
        for owner, fields in CUSTOM_FIELDS.items():
            name = f"{owner}_custom_field_types"
            rows, ms, out = [], [], []
            for i, (label, dtype, options) in enumerate(fields):
                r = self._rng(name, i)
                created, modified = self._times(r)
                fid = self.id(name, i)
                rows.append(
                    {
                        "id": fid,
                        "name": label,
                        "dataType": dtype,
                        "dataTypeOptions": list(options),
                        "createdOn": iso_z(created),
                        "modifiedOn": iso_z(modified),
                    }
                )
                ms.append(modified)
                out.append((fid, label))
            self.ref.custom_fields[owner] = out
            self._add(name, rows, ms)

    def _pricebook(self) -> None:
        cats = [
            ("Plumbing Repairs", "Services"),
            ("HVAC Repairs", "Services"),
            ("Maintenance", "Services"),
            ("Diagnostics", "Services"),
            ("Pipe & Fittings", "Materials"),
            ("HVAC Parts", "Materials"),
            ("Electrical Parts", "Materials"),
            ("Consumables", "Materials"),
        ]
        rows: list[Record] = []
        ms: list[int] = []
        for i, (name, ctype) in enumerate(cats):
            r = self._rng("cat", i)
            created, modified = self._times(r)
            rows.append(
                {
                    "id": self.id("pricebook_categories", i),
                    "name": name,
                    "active": i != 7,
                    "description": None,
                    "image": None,
                    "parentId": None,
                    "position": i,
                    "categoryType": ctype,
                    "subcategories": [],
                    "businessUnitIds": [],
                    "skuImages": [],
                    "skuVideos": [],
                    "source": None,
                    "externalId": None,
                    "hideInMobile": False,
                    "createdOn": iso_z(created),
                    "modifiedOn": iso_z(modified),
                }
            )
            ms.append(modified)
        self._add("pricebook_categories", rows, ms)
        cat_ids = [row["id"] for row in rows]
        self._skus("pricebook_services", SERVICES, cat_ids[:4], "Service")
        self._skus("pricebook_materials", MATERIALS, cat_ids[4:], "Material")
        self._skus("pricebook_equipment", [e[2] for e in EQUIPMENT], [], "Equipment")

    def _skus(
        self, table: str, names: tuple[str, ...] | list[str], cat_ids: list[int], kind: str
    ) -> None:
        rows, ms = [], []
        for i, name in enumerate(names):
            r = self._rng(table, i)
            created, modified = self._times(r)
            sid = self.id(table, i)
            if kind == "Service":
                price = Decimal(r.between(8, 90) * 5) if name != "Warranty Visit" else Decimal(0)
            elif kind == "Material":
                price = Decimal(r.between(300, 12000)) / 100
            else:
                price = Decimal(r.between(120, 900) * 10)
            cost = (price * Decimal("0.45")).quantize(Decimal("0.01"))
            hours = Decimal(r.between(1, 8)) / 2 if kind == "Service" else Decimal(0)
            active = not r.chance(5)
            code = f"{kind[:3].upper()}-{1000 + i}"
            common = {
                "id": sid,
                "code": code,
                "displayName": name,
                "description": f"<p>{name}</p>",
                "active": active,
                "price": float(price),
                "memberPrice": float(price * Decimal("0.9")),
                "addOnPrice": float(price),
                "addOnMemberPrice": float(price * Decimal("0.9")),
                "hours": float(hours),
                "bonus": 0.0,
                "commissionBonus": 0.0,
                "paysCommission": kind != "Material",
                "assets": [],
                "modifiedOn": iso_z(modified),
                "createdOn": iso_z(created),
                "source": None,
                "externalId": None,
                "externalData": [],
                "businessUnitId": None,
                "cost": float(cost),
                "defaultAssetUrl": None,
                "budgetCostCode": None,
                "budgetCostType": None,
                "taxable": kind != "Service",
                "account": "Income",
            }
            if kind == "Service":
                common.update(
                    {
                        "warranty": {"duration": 30, "description": "30 day labor warranty"},
                        "categories": [
                            {"id": cat_ids[i % len(cat_ids)], "name": "Services", "active": True}
                        ],
                        "isLabor": True,
                        "recommendations": [],
                        "upgrades": [],
                        "serviceMaterials": [],
                        "serviceEquipment": [],
                        "crossSaleGroup": None,
                        "soldByCommission": 0.0,
                    }
                )
            else:
                vendor = {
                    "id": 9000 + i,
                    "vendorName": "Ferguson",
                    "vendorId": 77,
                    "memo": None,
                    "vendorPart": code,
                    "cost": float(cost),
                    "active": True,
                    "primarySubAccount": None,
                    "otherSubAccounts": [],
                }
                common.update(
                    {
                        "primaryVendor": vendor,
                        "otherVendors": [],
                        "unitOfMeasure": "Each",
                        "isInventory": kind == "Material",
                        "costOfSaleAccount": None,
                        "assetAccount": None,
                        "displayInAmount": False,
                        "generalLedgerAccountId": None,
                    }
                )
                if kind == "Material":
                    common.update(
                        {
                            "categories": [cat_ids[i % len(cat_ids)]],
                            "deductAsJobCost": False,
                            "isConfigurableMaterial": False,
                            "chargeableByDefault": True,
                            "variationsOrConfigurableMaterials": [],
                            "createdById": 0,
                            "isOtherDirectCost": False,
                            "costTypeId": None,
                        }
                    )
                    common["createdById"] = self.ref.employees[0][0]
                else:
                    make, model, _ = EQUIPMENT[i]
                    common.update(
                        {
                            "manufacturer": make,
                            "model": model,
                            "manufacturerWarranty": {"duration": 120, "description": "10 yr parts"},
                            "serviceProviderWarranty": {
                                "duration": 12,
                                "description": "1 yr labor",
                            },
                            "categories": [],
                            "recommendations": [],
                            "upgrades": [],
                            "equipmentMaterials": [],
                            "crossSaleGroup": None,
                            "isConfigurableEquipment": False,
                            "variationsOrConfigurableEquipment": [],
                            "typeId": None,
                            "dimensions": None,
                        }
                    )
                    del common["businessUnitId"]  # not part of the equipment schema
            rows.append(common)
            ms.append(modified)
            sku = Sku(sid, kind, code, name, price, cost, hours, kind != "Service")
            (self.ref.equipment_skus if kind == "Equipment" else self.ref.skus).append(sku)
        self._add(table, rows, ms)
