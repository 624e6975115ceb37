"""Live indexes over World collections and the helpers that read records: sorted and
grouped views kept current from each collection's change feed, key components, paging."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


def iso_to_ms(value: str) -> int:
    """Milliseconds since the epoch for an ISO-8601 timestamp ('Z' or offset)."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def dotted(record: Record, path: str) -> Any:
    """record["a"]["b"] for path "a.b"; None where any step is missing."""
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def all_of(*predicates: Predicate | None) -> Predicate | None:
    """The conjunction of the given predicates (None ones ignored; None if none is left)."""
    present = [p for p in predicates if p is not None]
    if len(present) <= 1:
        return present[0] if present else None
    return lambda record: all(p(record) for p in present)


def ms_to_iso_z(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


# --- live indexes over World collections -----------------------------------------------------


class _Collection(Protocol):
    def iter_from(self, position: int = 0) -> Iterator[tuple[int, Record]]: ...
    def is_deleted(self, record: Record) -> bool: ...
    def get(self, record_id: object) -> Record | None: ...


class _LiveView:
    """Follows a collection's change feed: each refresh reads only what changed since the
    last one (iter_from(last position + 1)), so indexes stay current after world.advance()
    and after writes without rescanning. Records are digested one at a time (only keys are
    kept), so building a view over a million records holds no million dicts."""

    def __init__(self, collection: _Collection) -> None:
        self.collection = collection
        self.next_position = 0
        self.built = False

    def refresh(self) -> None:
        refresh_together([self])

    def begin(self) -> None:
        """Start a batch of take() calls."""

    def take(self, record_id: Any, record: Record | None) -> None:
        """Digest the latest version of one record (None: it is deleted)."""
        raise NotImplementedError

    def finish(self) -> None:
        """End a batch of take() calls."""

    def reset(self) -> None:
        """Forget everything; the next refresh rebuilds from the start of the feed."""
        self.next_position = 0
        self.built = False


def refresh_together(views: list[_LiveView]) -> None:
    """Bring views over one collection up to date in a single pass over its change feed:
    with several indexes per collection, a cold start reads each record once, not once per
    index."""
    if not views:
        return
    collection = views[0].collection
    try:
        for view in views:
            view.begin()
        for position, record in collection.iter_from(min(v.next_position for v in views)):
            live = None if collection.is_deleted(record) else record
            for view in views:
                if position >= view.next_position:
                    view.take(record["id"], live)
                    view.next_position = position + 1
        for view in views:
            view.finish()
            view.built = True
    except Exception:
        for view in views:  # half-applied changes: start over next time
            view.reset()
        raise


class _Top:
    """Sorts after every other value; stands in for missing sort values and open bounds."""

    def __lt__(self, other: object) -> bool:
        return False

    def __le__(self, other: object) -> bool:
        return other is self

    def __gt__(self, other: object) -> bool:
        return other is not self

    def __ge__(self, other: object) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return 0


TOP = _Top()


class SortedView(_LiveView):
    """Live records of a collection as a sorted list of keys (key_fn(record) + (id,))."""

    # Beyond this many changes a full re-sort (Timsort on nearly sorted data) beats
    # bisect-and-shift per change.
    _BULK = 256

    def __init__(self, collection: _Collection, key_fn: Callable[[Record], tuple]) -> None:
        super().__init__(collection)
        self.key_fn = key_fn
        self.keys: list[tuple] = []
        self._by_id: dict[Any, tuple] = {}

    def begin(self) -> None:
        self._gone: set[tuple] = set()
        self._added: list[tuple] = []

    def take(self, record_id: Any, record: Record | None) -> None:
        old = self._by_id.pop(record_id, None)
        if old is not None:
            self._gone.add(old)
        if record is not None:
            key = (*self.key_fn(record), record_id)
            self._by_id[record_id] = key
            self._added.append(key)

    def finish(self) -> None:
        gone, added = self._gone, self._added
        self._gone, self._added = set(), []
        if len(gone) + len(added) > self._BULK:
            kept = [k for k in self.keys if k not in gone] if gone else self.keys
            kept.extend(added)
            kept.sort()
            self.keys = kept
            return
        for key in gone:
            i = bisect_left(self.keys, key)
            if i < len(self.keys) and self.keys[i] == key:
                del self.keys[i]
        for key in added:
            insort(self.keys, key)

    def reset(self) -> None:
        super().reset()
        self.keys, self._by_id = [], {}

    def range_of(
        self,
        prefix: tuple = (),
        low: Any = None,
        high: Any = None,
        *,
        low_open: bool = False,
        high_open: bool = False,
        missing: bool = True,
    ) -> tuple[int, int]:
        """Index range of the keys that start with `prefix` and whose next component lies
        between low and high (None = unbounded; open = exclusive). `missing` keeps records
        without a value there (TOP, sorted last); a range filter excludes them."""
        keys = self.keys
        if not keys:
            return 0, 0
        tops = (TOP,) * (len(keys[0]) - len(prefix) - 1)  # the rest of a key, id included
        if low is None:
            lo = bisect_left(keys, prefix)
        elif low_open:
            lo = bisect_right(keys, (*prefix, low, *tops))
        else:
            lo = bisect_left(keys, (*prefix, low))
        if high is None:
            hi = bisect_right(keys, (*prefix, TOP, *tops))
            if not missing:
                hi = bisect_left(keys, (*prefix, TOP))
        elif high_open:
            hi = bisect_left(keys, (*prefix, high))
        else:
            hi = bisect_right(keys, (*prefix, high, *tops))
        return lo, max(lo, hi)

    def after(self, key: tuple) -> int:
        """Index of the first key strictly after a full key (cursor pagination)."""
        return bisect_right(self.keys, key)

    def key_of(self, record_id: Any) -> tuple | None:
        return self._by_id.get(record_id)


class GroupView(_LiveView):
    """Live record ids grouped by derived values (e.g. normalised email -> contact ids)."""

    def __init__(
        self, collection: _Collection, groups_fn: Callable[[Record], Iterable[Hashable]]
    ) -> None:
        super().__init__(collection)
        self.groups_fn = groups_fn
        self._members: dict[Hashable, set[Any]] = {}
        self._groups_of: dict[Any, tuple[Hashable, ...]] = {}

    def take(self, record_id: Any, record: Record | None) -> None:
        for group in self._groups_of.pop(record_id, ()):
            members = self._members.get(group)
            if members is not None:
                members.discard(record_id)
                if not members:
                    del self._members[group]
        if record is not None:
            groups = tuple(g for g in dict.fromkeys(self.groups_fn(record)) if g is not None)
            self._groups_of[record_id] = groups
            for group in groups:
                self._members.setdefault(group, set()).add(record_id)

    def reset(self) -> None:
        super().reset()
        self._members, self._groups_of = {}, {}

    def ids(self, group: Hashable) -> set[Any]:
        return set(self._members.get(group, ()))


class Views:
    """Views by (collection key, name): declared on first use, then refreshed
    incrementally; warm() builds a collection's declared views in one pass."""

    # Windows are rebuilt whenever the collection changes; a few recent ones serve the
    # pages of the walks in progress. Larger spans go to the full index instead.
    _WINDOWS_KEPT = 8
    _MAX_WINDOW = 50_000

    def __init__(self) -> None:
        self._views: dict[tuple[Any, ...], _LiveView] = {}
        self._windows: dict[tuple[Any, ...], SortedView] = {}

    def _declare(self, collection: Any, name: Hashable, make: Callable[[], _LiveView]) -> Any:
        view = self._views.get((collection.key, name))
        if view is None:
            view = self._views[(collection.key, name)] = make()
        return view

    def sorted(
        self,
        collection: Any,
        name: Hashable,
        key_fn: Callable[[Record], tuple],
        *,
        refresh: bool = True,
    ) -> SortedView:
        view = self._declare(collection, name, lambda: SortedView(collection, key_fn))
        if refresh:
            view.refresh()
        return view

    def grouped(
        self,
        collection: Any,
        name: Hashable,
        groups_fn: Callable[[Record], Iterable[Hashable]],
        *,
        refresh: bool = True,
    ) -> GroupView:
        view = self._declare(collection, name, lambda: GroupView(collection, groups_fn))
        if refresh:
            view.refresh()
        return view

    def sorted_since(
        self,
        collection: Any,
        name: Hashable,
        key_fn: Callable[[Record], tuple],
        since_ms: int | None,
    ) -> SortedView:
        """The full index if it is built or no lower bound is known; otherwise an index of
        only the records changed since `since_ms`. That suffices when the bounded field
        never exceeds the record's modified time (dateUpdated, dateAdded, createdAt,
        start_time), so an incremental read of a huge collection stays proportional to what
        changed instead of waiting for a full build. Kept per collection state, so the
        pages of one walk share it."""
        view = self._views.get((collection.key, name))
        if since_ms is None or (view is not None and view.built):
            return self.sorted(collection, name, key_fn)
        end = collection.end_position()
        cache_key = (collection.key, name, since_ms, end)
        window = self._windows.get(cache_key)
        if window is None:
            start = collection.position_at(datetime.fromtimestamp(since_ms / 1000, UTC))
            if end - start > self._MAX_WINDOW:
                # Most of the collection anyway: build the full index once and keep it,
                # rather than rebuilding large windows (e.g. a backfill in date slices).
                return self.sorted(collection, name, key_fn)
            window = SortedView(collection, key_fn)
            window.next_position = start
            window.refresh()
            self._windows[cache_key] = window
            while len(self._windows) > self._WINDOWS_KEPT:
                del self._windows[next(iter(self._windows))]
        return window

    def warm(self, collection: Any) -> None:
        """Refresh every view declared on `collection` in a single pass."""
        refresh_together([v for (key, _), v in self._views.items() if key == collection.key])


class Desc:
    """Wraps a value so that it sorts in reverse; lets one ascending index serve a
    descending sort on strings (numbers are simply negated)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: object) -> bool:
        return other.v < self.v if isinstance(other, Desc) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return other.v > self.v if isinstance(other, Desc) else NotImplemented

    def __le__(self, other: object) -> bool:
        return other.v <= self.v if isinstance(other, Desc) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return other.v >= self.v if isinstance(other, Desc) else NotImplemented

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Desc) and other.v == self.v

    def __hash__(self) -> int:
        return hash(self.v)


def prefix_component(value: Any) -> str:
    """An equality-filter value as an index key prefix: always a string, so that records
    of any shape stay comparable (the exact filter still runs on the candidates)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = int(value)
    return str(value)


def sort_component(value: Any, descending: bool) -> Any:
    """One element of an index key: missing values last in either direction (as
    Elasticsearch and Postgres NULLS LAST do), numbers negated for descending order."""
    if value is None:
        return TOP
    if isinstance(value, dict | list):  # order objects by their JSON, not by failing
        value = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    if not descending:
        return value
    return -value if isinstance(value, int | float) else Desc(value)


@dataclass
class Page:
    records: list[Record]
    total: int
    # Records left after this page (in the selection, ignoring offset/cursor before it).
    has_more: bool
    # Index of the first selected record in the whole selection (for page numbers).
    start_rank: int


def select(
    view: SortedView,
    *,
    lo: int = 0,
    hi: int | None = None,
    predicate: Predicate | None = None,
    after: tuple | None = None,
    offset: int = 0,
    limit: int,
) -> Page:
    """A page of records from view.keys[lo:hi] that satisfy predicate, starting after the
    cursor key `after` (exclusive) and skipping `offset` more matches.

    Without a predicate this is pure index arithmetic, O(limit); with one, every record in
    the range is read once (needed anyway for an exact total)."""
    keys = view.keys
    hi = len(keys) if hi is None else hi
    get = view.collection.get
    start = max(lo, view.after(after)) if after is not None else lo
    if predicate is None:
        first = min(start + offset, hi)
        last = min(first + limit, hi)
        records: list[Record] = [
            r for r in (get(keys[i][-1]) for i in range(first, last)) if r is not None
        ]
        return Page(records, hi - lo, last < hi, first - lo)
    total = 0
    rank_of_start = 0
    skipped = 0
    records = []
    has_more = False
    for i in range(lo, hi):
        record = get(keys[i][-1])
        if record is None or not predicate(record):
            continue
        total += 1
        if i < start:
            rank_of_start += 1
        elif skipped < offset:
            skipped += 1
        elif len(records) < limit:
            records.append(record)
        else:
            has_more = True
    return Page(records, total, has_more, rank_of_start + skipped)
