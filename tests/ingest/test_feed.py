"""Feeds: pages typed ahead of dlt keep their order and the state after each page, hand on
the page source's error, and never deadlock on the shared byte budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dlt_pipelines.common.feed import NOT_READY, Feeds, Page
from dlt_pipelines.common.rows import RawTable
from lazi.progress import BOARD

TABLE = RawTable("st_things", "tenant_id", "bigint", "st_id", modified_path=None)


def numbered_pages(count: int, per_page: int = 50) -> Any:
    def pages(state: dict[str, Any]) -> Iterator[Page]:
        for number in range(count):
            state["cursor"] = number  # moved before the page is handed on, as exports do
            first = number * per_page
            yield Page(7, [{"id": i, "name": "x" * 200} for i in range(first, first + per_page)])
        state["done"] = True  # moved after the last page, as listings do

    return pages


def drain(feeds: Feeds, feed: Any) -> list[Any]:
    batches = []
    while (batch := feed.take()) is not None:
        batches.append(batch)
    assert feed.finished
    return batches


def test_batches_keep_page_order_and_the_state_after_each_page() -> None:
    feeds = Feeds(package_bytes=1 << 20)
    initial = {"cursor": None}
    feed = feeds.start(TABLE, numbered_pages(5), initial)
    batches = drain(feeds, feed)
    feeds.close()

    assert initial == {"cursor": None}, "the feed advances its own copy of the state"
    pages, tail = batches[:-1], batches[-1]
    assert [b.state["cursor"] for b in pages] == [0, 1, 2, 3, 4]
    assert all("done" not in b.state for b in pages)
    position = pages[0].columns.index("st_id")
    ids = [int(line.split("\t")[position]) for b in pages for line in b.lines.to_pylist()]
    assert ids == list(range(250))
    assert tail.lines is None and tail.state["done"] is True
    assert feeds.all_finished()


def test_the_page_source_error_comes_after_the_pages_before_it() -> None:
    def failing(state: dict[str, Any]) -> Iterator[Page]:
        yield from numbered_pages(2)(state)
        raise RuntimeError("vendor said no")

    feeds = Feeds()
    feed = feeds.start(TABLE, failing, {})
    assert feed.take().state["cursor"] == 0
    assert feed.take().state["cursor"] == 1
    with pytest.raises(RuntimeError, match="vendor said no"):
        feed.take()
    assert feed.finished
    feeds.close()


def test_a_full_budget_held_by_one_feed_does_not_block_another() -> None:
    # The budget holds about one page: the first feed fills it, and a resource that waits on
    # the second feed must still get its pages (dlt takes from one resource at a time).
    feeds = Feeds(package_bytes=20_000)
    first = feeds.start(TABLE, numbered_pages(20), {})
    time.sleep(0.2)  # let the first feed fill the budget
    second = feeds.start(TABLE, numbered_pages(20), {})
    result: list[int] = []
    reader = threading.Thread(target=lambda: result.append(len(drain(feeds, second))))
    reader.start()
    reader.join(timeout=20)
    assert result == [21], "the second feed's pages and its end"
    assert len(drain(feeds, first)) == 21
    feeds.close()


def test_package_budget_counts_what_the_resources_took() -> None:
    feeds = Feeds(package_bytes=30_000)
    feed = feeds.start(TABLE, numbered_pages(10), {})
    taken = 0
    while not feeds.package_full():
        taken += feed.take().nbytes
    assert taken >= 30_000
    feeds.new_package()
    assert not feeds.package_full()
    feeds.close()


def test_a_resource_waits_for_the_first_rows_of_a_package_and_then_takes_what_is_ready() -> None:
    feeds = Feeds(package_bytes=1 << 30)
    gate = threading.Event()

    def slow(state: dict[str, Any]) -> Iterator[Page]:
        yield from numbered_pages(1)(state)
        gate.wait(10)
        yield from numbered_pages(1)(state)

    feeds.new_package()
    feed = feeds.start(TABLE, slow, {})
    assert feeds.package_wants_more()
    first = feed.take(wait=True)
    assert first is not NOT_READY and first.nbytes > 0
    assert feed.take(wait=False) is NOT_READY, "nothing ready: the package goes without"
    gate.set()
    assert feed.take(wait=True).state["cursor"] == 0
    feeds.close()


def test_close_stops_feeds_waiting_for_budget() -> None:
    feeds = Feeds(package_bytes=1)
    feed = feeds.start(TABLE, numbered_pages(1000), {})
    time.sleep(0.2)
    feeds.close()
    assert not feed.thread.is_alive()


def progress_of(name: str) -> Any:
    [meter] = [m for m in BOARD.meters() if m.name == name]
    return meter


def test_close_ends_the_progress_of_a_feed_stopped_half_way_and_the_next_sync_restarts_it() -> None:
    name = f"feedtest {TABLE.name}"
    feeds = Feeds(package_bytes=1, vendor="feedtest")  # one page held at a time
    feed = feeds.start(TABLE, numbered_pages(10), {})
    assert feed.take().state["cursor"] == 0
    deadline = time.monotonic() + 30
    while progress_of(name).done < 100:  # the second page, made while nothing takes it
        assert time.monotonic() < deadline, progress_of(name)
        time.sleep(0.01)
    feeds.close()  # a failed sync
    stopped = progress_of(name)
    assert (stopped.done, stopped.finished, stopped.stopped) == (100, True, True)
    assert stopped.line(time.monotonic()).endswith(", stopped")

    # The next sync in this process counts from zero, and ends done.
    feeds = Feeds(package_bytes=1 << 20, vendor="feedtest")
    drain(feeds, feeds.start(TABLE, numbered_pages(3), {}))
    feeds.close()
    done = progress_of(name)
    assert (done.done, done.finished, done.stopped) == (150, True, False)
    assert done.line(time.monotonic()).endswith(", done")
