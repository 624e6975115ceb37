"""Raw rows made ahead of dlt, so that fetching and typing overlap with loading.

dlt runs extract, normalize and load one after the other. A sync therefore loads in packages
of about `PACKAGE_BYTES` of rows, and each resource's pages are fetched and turned into raw
rows by a thread of its own (its feed) that keeps working while dlt loads the previous
package: the vendor's HTTP, our Python and PostgreSQL's COPY run at the same time instead of
taking turns.

Each batch carries the resource's state (its cursors) as it stood after that page, and the
resource commits that state in the package holding the page, so however far a feed runs
ahead, a committed cursor never passes the rows in the warehouse. What the feeds hold at a
kill is lost and fetched again by the next run.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any, Final

import pyarrow as pa

from dlt_pipelines.common import copy_text
from dlt_pipelines.common.rows import BatchCounts, RawTable, to_batch
from lazi.progress import BOARD

# One package's rows, and how far all feeds together may run ahead of dlt. A package takes
# about 2-3 s to load at this size: long enough that dlt's fixed cost per package is small,
# short enough that the first extract and the last load (which nothing overlaps) are short.
PACKAGE_BYTES = 128 << 20
RAMP_BYTES = 16 << 20  # what the first package waits for
PRODUCERS = 3  # feeds fetching and typing at one time: two cores, and one waiting on HTTP


class CountedRecords(list[dict[str, Any]]):
    """One API page's records, with the vendor's count of the records its listing holds in
    all (GoHighLevel's `total`, CallRail's `total_records`): what progress bars measure."""

    def __init__(self, records: list[dict[str, Any]], total: int | None) -> None:
        super().__init__(records)
        self.total = total


@dataclass
class Page:
    """Records of one scope as one API page returned them."""

    scope: Any
    records: list[dict[str, Any]]
    deleted: bool = False  # tombstones made by a full reconcile
    total: int | None = None  # the listing's count of records, taken from a CountedRecords

    def __post_init__(self) -> None:
        if self.total is None:
            self.total = getattr(self.records, "total", None)


PageSource = Callable[[dict[str, Any]], Iterator[Page]]


@dataclass
class Batch:
    """One page as raw rows in COPY text (copy_text.py) without the load id, which only the
    package knows, or, with `lines` None, only a move of the state (a page without records,
    or the end of a feed)."""

    lines: pa.Array | None
    columns: list[str]
    scope: Any
    counts: BatchCounts | None
    deleted: bool
    state: dict[str, Any]
    nbytes: int = field(init=False)

    def __post_init__(self) -> None:
        self.nbytes = self.lines.nbytes if self.lines is not None else 0


class _End:
    pass


class _NotReady(Enum):
    """`take`'s answer while nothing is made yet; an enum, so that `is NOT_READY` narrows."""

    NOT_READY = auto()


NOT_READY: Final = _NotReady.NOT_READY


class Feeds:
    """The feeds of one sync and the byte budget they share.

    Feeds run in this interpreter, so they compete with dlt's own Python (extracting and
    normalizing a package) for the interpreter lock: while the sync is `paused()`, a feed makes
    its next batch only if the resource is waiting for exactly that feed. They work while dlt
    loads, which is PostgreSQL's work, and stop when they hold `package_bytes` between them.
    """

    def __init__(self, package_bytes: int = PACKAGE_BYTES, vendor: str = "") -> None:
        self.package_bytes = package_bytes
        self.vendor = vendor
        self._feeds: list[Feed] = []
        self._in_package = 0
        self._packages = 0
        self._held = 0  # bytes made by feeds and not yet taken
        self._paused = False
        self._lock = threading.Condition()
        self.producing = threading.BoundedSemaphore(PRODUCERS)

    def start(self, table: RawTable, pages: PageSource, state: dict[str, Any]) -> Feed:
        feed = Feed(self, table, pages, copy.deepcopy(state))
        with self._lock:
            self._feeds.append(feed)
        feed.thread.start()
        return feed

    def new_package(self) -> None:
        self._in_package = 0
        self._packages += 1

    def package_full(self) -> bool:
        return self._in_package >= self.package_bytes

    def package_wants_more(self) -> bool:
        """Below half a package, a resource waits for its feed's next batch; above, it takes
        only what is ready, so that dlt seldom waits while PostgreSQL has nothing to do. The
        first packages are smaller, so that loading starts early."""
        ramp = RAMP_BYTES << max(0, self._packages - 1)
        return self._in_package < min(self.package_bytes // 2, ramp)

    def all_finished(self) -> bool:
        with self._lock:
            return all(feed.finished for feed in self._feeds)

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self._lock:
            self._paused = True
        try:
            yield
        finally:
            with self._lock:
                self._paused = False
                self._lock.notify_all()

    def close(self) -> None:
        """Stop every feed's thread (a failed sync must not leave them fetching), and end the
        progress of those stopped before their last page (one that finished stays done): no
        counter of this sync runs on after it, nor adds to the next sync's."""
        with self._lock:
            feeds = list(self._feeds)
            for feed in feeds:
                feed.stopped = True
            self._lock.notify_all()
        for feed in feeds:
            feed.thread.join(timeout=10)
            BOARD.finish(feed.progress, stopped=True)

    def _put(self, feed: Feed, item: Batch | BaseException | _End) -> bool:
        """Hand on an item, then wait until the feed may make the next one; False: stop."""
        with self._lock:
            feed.queue.append(item)
            if isinstance(item, Batch):
                self._held += item.nbytes
            self._lock.notify_all()
            # An empty queue always lets a feed go on: the resource may be waiting for exactly
            # this feed while the budget is held by the others.
            while (
                not feed.stopped
                and feed.queue
                and (self._paused or self._held >= self.package_bytes)
            ):
                self._lock.wait()
            return not feed.stopped

    def _take(self, feed: Feed, wait: bool) -> Batch | _NotReady | None:
        with self._lock:
            while not feed.queue:
                if not wait:
                    return NOT_READY
                self._lock.wait()
            item = feed.queue.popleft()
            if isinstance(item, Batch):
                self._held -= item.nbytes
                self._in_package += item.nbytes
            self._lock.notify_all()
        if isinstance(item, BaseException):
            feed.finished = True
            raise item
        if isinstance(item, _End):
            feed.finished = True
            return None
        return item


@dataclass(eq=False)
class Feed:
    """A thread that runs one resource's page source and types each page into raw rows."""

    feeds: Feeds
    table: RawTable
    pages: PageSource
    state: dict[str, Any]  # the feed's own copy, advanced by the page source
    queue: deque[Batch | BaseException | _End] = field(default_factory=deque)
    finished: bool = False  # the resource has taken the last batch
    stopped: bool = False

    def __post_init__(self) -> None:
        self.thread = threading.Thread(
            target=self._produce, name=f"feed-{self.table.name}", daemon=True
        )
        self.progress = f"{self.feeds.vendor} {self.table.name}".strip()  # its name on BOARD

    def take(self, *, wait: bool = True) -> Batch | _NotReady | None:
        """The next batch, in page order; None at the end; NOT_READY if none is made yet and
        `wait` is false. Re-raises the page source's error."""
        return self.feeds._take(self, wait)

    def _count(self, page: Page, *, restart: bool) -> None:
        """Count `page` on BOARD unless the feed is stopped, under the lock `Feeds.close` stops
        it with: nothing is counted after close ended the counter."""
        with self.feeds._lock:
            if not self.stopped:
                BOARD.count(
                    self.progress, len(page.records), page.scope, page.total, restart=restart
                )

    def _produce(self) -> None:
        try:
            state = self.state
            known = state.setdefault("known_fields", [])
            known_fields = set(known)
            json_columns = self.table.json_columns
            pages = iter(self.pages(state))
            counted = False
            while True:
                # A few feeds at a time fetch and type: each holds a parsed page or two (tens
                # of MB) while it does, and ServiceTitan alone has 28 endpoints.
                with self.feeds.producing:
                    page = next(pages, None)
                    if page is None:
                        break
                    # Live progress counts pages as they come; the run's books (stats.py)
                    # count them only when a package takes them, up to a package later. A
                    # run that succeeds takes every page made, so the two end equal.
                    if not page.deleted and (page.records or page.total is not None):
                        self._count(page, restart=not counted)
                        counted = True
                    text, columns, counts = None, [], None
                    if page.records:
                        rows, counts = to_batch(
                            self.table,
                            page.scope,
                            page.records,
                            deleted=page.deleted,
                            known_fields=known_fields,
                        )
                        if counts.new_fields or len(known) != len(known_fields):
                            known[:] = sorted(known_fields)
                        text, columns = copy_text.lines(rows, json_columns), rows.column_names
                    state_now = copy.deepcopy(state)
                if not self.feeds._put(
                    self, Batch(text, columns, page.scope, counts, page.deleted, state_now)
                ):
                    return
            BOARD.finish(self.progress)
            # Page sources move some cursors only after their last page.
            end_state = Batch(None, [], None, None, False, copy.deepcopy(state))
            if self.feeds._put(self, end_state):
                self.feeds._put(self, _End())
        except BaseException as exc:  # handed to the resource, which re-raises it
            self.feeds._put(self, exc)
