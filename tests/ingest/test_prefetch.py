"""prefetch: pages in order, errors in order, and pages held ahead bounded across feeds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from dlt_pipelines.common.prefetch import prefetch


class Source:
    """Numbered pages; counts the pages fetched and not yet handed on by the consumer."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.fetched = 0

    def __iter__(self) -> Iterator[int]:
        for n in range(self.count):
            if n == self.fail_at:
                raise RuntimeError(f"page {n} failed")
            self.fetched += 1
            yield n


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_pages_arrive_in_order_and_errors_after_the_pages_before_them() -> None:
    assert list(prefetch(iter(Source(50)))) == list(range(50))
    received = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for page in prefetch(iter(Source(10, fail_at=3))):
            received.append(page)
    assert received == [0, 1, 2]


def test_feeds_without_a_permit_fetch_only_when_asked() -> None:
    permits = threading.BoundedSemaphore(1)
    first, second = Source(10), Source(10)
    a = prefetch(iter(first), read_ahead=permits)
    b = prefetch(iter(second), read_ahead=permits)
    assert next(a) == 0
    wait_until(lambda: first.fetched == 2)  # a holds the one permit with page 1
    assert next(b) == 0  # b still gets its pages, fetched on demand
    assert next(b) == 1
    time.sleep(0.5)  # several polls: b may not fetch ahead while a holds the permit
    assert second.fetched == 2
    assert first.fetched == 2
    assert next(a) == 1  # a's page ahead is taken: the permit is free again
    wait_until(lambda: first.fetched + second.fetched == 5)
    a.close()
    b.close()


def test_a_consumer_that_stops_early_gives_its_permits_back() -> None:
    permits = threading.BoundedSemaphore(2)
    feeds = [prefetch(iter(Source(100)), read_ahead=permits) for _ in range(2)]
    for feed in feeds:
        assert next(feed) == 0
    time.sleep(0.3)
    for feed in feeds:
        feed.close()
    assert permits.acquire(blocking=False) and permits.acquire(blocking=False)
