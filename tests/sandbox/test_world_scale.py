"""A million customers: cheap to build, O(page) to read anywhere, bounded memory.
(Full-iteration figures: lazi/sandbox/README.md; this keeps the fast guarantees honest.)

Memory is what this test's own code allocates (tracemalloc: Python objects and numpy arrays),
not the pytest process's peak, and not time: a world that built or read its records eagerly
would allocate about a kilobyte per record, over a gigabyte here."""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta

import pytest

from lazi.sandbox.world import World

MB = 1 << 20


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def peak_since_reset() -> float:
    return tracemalloc.get_traced_memory()[1] / MB


def test_million_customers_is_lazy_and_pages_are_cheap(traced: None) -> None:
    w = World(1_000_000)
    assert peak_since_reset() < 64, "building the world materialises no records"
    assert sum(len(w.collection("servicetitan", "customers", x)) for x in w.tenants) == 1_000_000
    for name in ("customers", "locations", "jobs", "invoices", "appointment_assignments"):
        tracemalloc.reset_peak()
        col = w.collection("servicetitan", name, w.tenants[0])
        n = len(col)
        deep = list(itertools.islice(col.iter_from(n - 500), 500))
        assert [p for p, _ in deep] == list(range(n - 500, n))
        assert col.get(deep[-1][1]["id"]) == deep[-1][1]
        at = col.position_at(w.now - timedelta(days=400))
        assert 0 < at < n
        mid = list(itertools.islice(col.iter_from(n // 2), 200))
        assert len(mid) == 200
        # the layout arrays (a few bytes per record) are built once per tenant ...
        assert peak_since_reset() < 256, name
        tracemalloc.reset_peak()
        page = list(itertools.islice(col.iter_from(n // 3), 200))
        assert [p for p, _ in page] == list(range(n // 3, n // 3 + 200))
        # ... after that a page anywhere materialises only its own records (its vectorised
        # look-ups may take a temporary of a few dozen bytes per record of the tenant)
        assert peak_since_reset() < 128, name
    contacts = w.collection("gohighlevel", "contacts", w.ghl_locations[0])
    assert len(list(itertools.islice(contacts.iter_from(len(contacts) // 2), 100))) == 100
    calls = w.collection("callrail", "calls", w.callrail_accounts[0])
    assert len(list(itertools.islice(calls.iter_from(len(calls) - 100), 100))) == 100
