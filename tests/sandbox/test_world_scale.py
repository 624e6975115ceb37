"""A million customers: cheap to build, O(page) to read anywhere, bounded memory.
(Full-iteration figures: lazi/sandbox/README.md; this keeps the fast guarantees honest.)"""

from __future__ import annotations

import itertools
import resource
import time
from datetime import timedelta

from lazi.sandbox.world import World


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_million_customers_is_lazy_and_pages_are_cheap() -> None:
    t = time.perf_counter()
    w = World(1_000_000)
    assert time.perf_counter() - t < 2.0
    assert sum(len(w.collection("servicetitan", "customers", x)) for x in w.tenants) == 1_000_000
    for name in ("customers", "locations", "jobs", "invoices", "appointment_assignments"):
        col = w.collection("servicetitan", name, w.tenants[0])
        t = time.perf_counter()
        n = len(col)
        deep = list(itertools.islice(col.iter_from(n - 500), 500))
        mid = list(itertools.islice(col.iter_from(n // 2), 200))
        assert [p for p, _ in deep] == list(range(n - 500, n))
        assert col.get(deep[-1][1]["id"]) == deep[-1][1]
        at = col.position_at(w.now - timedelta(days=400))
        assert 0 < at < n
        assert len(mid) == 200
        # layout arrays are built once per tenant; after that a page costs milliseconds
        assert time.perf_counter() - t < 6.0, name
    contacts = w.collection("gohighlevel", "contacts", w.ghl_locations[0])
    assert len(list(itertools.islice(contacts.iter_from(len(contacts) // 2), 100))) == 100
    calls = w.collection("callrail", "calls", w.callrail_accounts[0])
    assert len(list(itertools.islice(calls.iter_from(len(calls) - 100), 100))) == 100
    assert _rss_mb() < 1024
