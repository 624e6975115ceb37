"""Deterministic sandbox world for ServiceTitan, GoHighLevel and CallRail.

See lazi/sandbox/README.md for the API. Everything is a pure function of (scale, seed,
start) plus the changes made since (advance() and writes), which live in overlays.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property

import numpy as np

from .callrail import CrAccount
from .changes import TenantState
from .changes import advance as run_advance
from .clock import DAY, from_ms, to_ms
from .collection import Collection, Table
from .gohighlevel import GhlLocation
from .ids import IdCodec
from .rand import mix, stream_id
from .servicetitan import StTenant
from .servicetitan_ref import RefBuilder, RefData
from .truth import Truth

__all__ = ["World"]

DEFAULT_START = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
HISTORY_DAYS = 3 * 365
TENANTS = (("Perfect Catch Plumbing", "Plumbing", 0.6), ("Lone Star Air & Heat", "HVAC", 0.4))
ST_COLLECTIONS = (
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
    "technicians",
    "employees",
    "business_units",
    "campaigns",
    "job_types",
    "tag_types",
    "zones",
    "teams",
    "pricebook_categories",
    "pricebook_materials",
    "pricebook_services",
    "pricebook_equipment",
    "installed_equipment",
    "customer_custom_field_types",
    "location_custom_field_types",
    "job_custom_field_types",
    "call_reasons",
    "calls",
)
GHL_COLLECTIONS = (
    "contacts",
    "opportunities",
    "pipelines",
    "notes",
    "users",
    "conversations",
    "messages",
)
CR_COLLECTIONS = ("companies", "trackers", "calls", "users", "text_messages")


class World:
    """The sandbox's data for all three vendors. See lazi/sandbox/README.md."""

    def __init__(self, scale: int = 300, seed: int = 7, *, start: datetime | None = None) -> None:
        self.scale = max(2, int(scale))
        self.seed = int(seed)
        self._now_ms = to_ms(start or DEFAULT_START)
        self.t1 = self._now_ms
        self.t0 = self.t1 - HISTORY_DAYS * DAY
        self.version = 0  # bumped on every change; lets Truth cache per state
        # The apps serve requests from several threads; writes and advance() take this.
        self.lock = threading.RLock()
        self.advances = 0
        cno = {name: n for n, name in enumerate(ST_COLLECTIONS)}
        s_tenant = stream_id("tenant")
        shares = [round(self.scale * share) for *_, share in TENANTS]
        shares[-1] = self.scale - sum(shares[:-1])
        self.st: dict[int, StTenant] = {}
        self.tenant_names: dict[int, str] = {}
        # state advance() carries between calls (open jobs, unpaid invoices, new people)
        self.change_state: dict[int, TenantState] = {}
        self.next_person = 2 * self.scale  # [0, scale) customers, [scale, 2*scale) leads
        self.refs: dict[int, RefData] = {}
        self.ghl: dict[str, GhlLocation] = {}
        self.cr: dict[str, CrAccount] = {}
        person_base = 0
        for tn, ((name, trade, _), n_c) in enumerate(zip(TENANTS, shares, strict=True)):
            tid = 100_000_000 + mix(self.seed, s_tenant, tn) % 900_000_000
            ref = RefBuilder(self.seed, tn, tid, name, trade, self.t0, self.t1, n_c, cno).build()
            st = StTenant(self.seed, tn, tid, n_c, person_base, self.t0, self.t1, ref, cno)
            person_base += n_c
            self.st[tid] = st
            self.refs[tid] = ref
            self.tenant_names[tid] = name
        for tn, st in enumerate(self.st.values()):
            loc = GhlLocation(self.seed, tn, st, lead_base=self.scale)
            self.ghl[loc.location_id] = loc
            acc = CrAccount(self.seed, tn, st, self.tenant_names[st.tenant_id])
            self.cr[acc.account_id] = acc
        self._collections: dict[tuple[str, str, object], Collection] = {}
        self._tables: dict[tuple[str, object], Mapping[str, Table]] = {}
        self._truth: Truth | None = None

    # ---- clock ---------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return from_ms(self._now_ms)

    def now_ms(self) -> int:
        return self._now_ms

    def tick(self) -> int:
        """Timestamp for a write: the clock moves 1 ms per write so every change has its
        own timestamp and the change feed stays strictly ordered."""
        self._now_ms += 1
        return self._now_ms

    def _changed(self) -> None:
        self.version += 1

    def advance(self, hours: float = 24.0) -> dict[str, int]:
        """Move the clock and let the businesses run; returns changes per collection key
        (formatted "vendor/name/scope")."""
        with self.lock:
            return run_advance(self, hours)

    # ---- scopes & credentials ------------------------------------------------------
    @property
    def tenants(self) -> list[int]:
        return list(self.st)

    @property
    def ghl_locations(self) -> list[str]:
        return list(self.ghl)

    @property
    def callrail_accounts(self) -> list[str]:
        return list(self.cr)

    @cached_property
    def credentials(self) -> dict:
        codec = IdCodec(self.seed, "credentials", "ghl")
        return {
            "servicetitan": {
                "app_key": "ak1." + codec.encode(1).lower(),
                "tenants": {
                    tid: {
                        "client_id": f"cid.{codec.encode(10 + n).lower()}",
                        "client_secret": f"cs{n}.{codec.encode(20 + n)}",
                    }
                    for n, tid in enumerate(self.st)
                },
            },
            "gohighlevel": {
                "tokens": {
                    loc: f"pit-{codec.encode(30 + n).lower()}" for n, loc in enumerate(self.ghl)
                }
            },
            "callrail": {"api_key": codec.encode(40).lower() + codec.encode(41).lower()[:12]},
        }

    # ---- collections ---------------------------------------------------------------
    def collection_keys(self) -> list[tuple[str, str, object]]:
        keys: list[tuple[str, str, object]] = []
        for tid in self.st:
            keys += [("servicetitan", name, tid) for name in ST_COLLECTIONS]
        for loc in self.ghl:
            keys += [("gohighlevel", name, loc) for name in GHL_COLLECTIONS]
        for acc in self.cr:
            keys += [("callrail", name, acc) for name in CR_COLLECTIONS]
        return keys

    def collection(self, vendor: str, name: str, scope: object) -> Collection:
        key = (vendor, name, self._scope(vendor, scope))
        col = self._collections.get(key)
        if col is None:
            col = Collection(self._table(*key), self.tick, self._changed, self.lock)
            self._collections[key] = col
        return col

    def _scope(self, vendor: str, scope: object) -> object:
        if vendor == "servicetitan" and isinstance(scope, str) and scope.isdigit():
            return int(scope)
        return scope

    def _table(self, vendor: str, name: str, scope: object) -> Table:
        try:
            if vendor == "servicetitan" and name not in StTenant.COLLECTIONS:
                return self.refs[_tenant_id(scope)].tables[name]
            return self._scope_tables(vendor, scope)[name]
        except KeyError:
            raise KeyError(f"unknown collection {(vendor, name, scope)!r}") from None

    def _scope_tables(self, vendor: str, scope: object) -> Mapping[str, Table]:
        key = (vendor, scope)
        if key not in self._tables:
            if vendor == "servicetitan":
                self._tables[key] = self.st[_tenant_id(scope)].tables()
            elif vendor == "gohighlevel":
                self._tables[key] = self.ghl[_account_id(scope)].tables(self.t0)
            elif vendor == "callrail":
                self._tables[key] = self.cr[_account_id(scope)].tables(self.t0)
            else:
                raise KeyError(vendor)
        return self._tables[key]

    @property
    def truth(self) -> Truth:
        if self._truth is None:
            self._truth = Truth(self)
        return self._truth


def _tenant_id(scope: object) -> int:
    """ServiceTitan scopes are tenant ids (ints); any other scope names no tenant."""
    if not isinstance(scope, int | np.integer):
        raise KeyError(scope)
    return int(scope)


def _account_id(scope: object) -> str:
    """GoHighLevel location and CallRail account ids are strings."""
    if not isinstance(scope, str):
        raise KeyError(scope)
    return scope
