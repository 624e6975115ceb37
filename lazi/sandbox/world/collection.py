"""Collections: a lazily generated base table plus an overlay of changes and writes.

Base records are never stored. Each table guarantees that base record i is modified
strictly before base record i+1 (or supplies an explicit order for small tables), so the
base change feed is just the index sequence. Every later change is appended to a log
whose timestamps only grow, so positions are: base index, then n_base + log offset.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import orjson

from .clock import to_ms

Record = dict[str, Any]


def clone(value: Any) -> Any:
    """Deep copy for JSON-shaped data; much faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def merge(target: Record, changes: Record) -> None:
    """PATCH semantics: nested objects merge, everything else (lists included) replaces."""
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            merge(target[k], v)
        else:
            target[k] = clone(v)


@dataclass(frozen=True)
class Hooks:
    """How a vendor names, stamps, creates and deletes records."""

    id_of: Callable[[int], object]
    idx_of: Callable[[object], int | None]
    stamp: Callable[[Record, int], None]  # set the modified field(s) to ms
    fill_new: Callable[[Record, int, int], None]  # give an inserted record id + timestamps
    tombstone: Callable[[Record], None] | None = None  # what deleting does to the record


class Table:
    """How one collection's base records are generated. Subclasses supply the records."""

    n_base: int = 0

    def __init__(self, key: tuple[str, str, object], hooks: Hooks, max_lag_ms: int = 0) -> None:
        self.key = key
        self.hooks = hooks
        # Upper bound of (base modified time - business time such as createdOn or
        # start_time), so a createdOn / start_time range maps to a bounded position range.
        self.max_lag_ms = max_lag_ms

    def base_record(self, idx: int) -> Record:
        raise NotImplementedError

    def base_ms(self, idx: int) -> int:
        raise NotImplementedError

    def base_deleted(self, idx: int) -> bool:
        return False

    def order(self) -> Sequence[int] | None:
        """Base index at each base position; None means identity (the common, lazy case)."""
        return None

    def id_of(self, idx: int) -> object:
        return self.hooks.id_of(idx)

    def int_id_of(self, idx: int) -> int:
        """id_of where the vendor's ids are numbers (ServiceTitan)."""
        record_id = self.id_of(idx)
        if not isinstance(record_id, int):
            raise TypeError(f"{self.key}: id {record_id!r} is not a number")
        return record_id

    def idx_of(self, record_id: object) -> int | None:
        return self.hooks.idx_of(record_id)

    def stamp(self, record: Record, ms: int) -> None:
        self.hooks.stamp(record, ms)

    def fill_new(self, record: Record, idx: int, ms: int) -> None:
        self.hooks.fill_new(record, idx, ms)

    def tombstone(self, record: Record) -> None:
        if self.hooks.tombstone:
            self.hooks.tombstone(record)


class ListTable(Table):
    """Small reference tables built eagerly; order is computed by sorting."""

    def __init__(
        self,
        key: tuple[str, str, object],
        hooks: Hooks,
        records: list[Record],
        modified_ms: list[int],
        deleted: set[int] | None = None,
    ) -> None:
        super().__init__(key, hooks)
        self._records = records
        self._ms = modified_ms
        self._deleted = deleted or set()
        self.n_base = len(records)
        self._order = sorted(range(self.n_base), key=lambda i: (modified_ms[i], i))

    def base_record(self, idx: int) -> Record:
        return clone(self._records[idx])

    def base_ms(self, idx: int) -> int:
        return self._ms[idx]

    def base_deleted(self, idx: int) -> bool:
        return idx in self._deleted

    def order(self) -> Sequence[int]:
        return self._order


class LazyTable(Table):
    """A big generated table whose base record i is modified strictly before i+1."""

    def __init__(
        self,
        key: tuple[str, str, object],
        hooks: Hooks,
        n_base: Callable[[], int],
        record: Callable[[int], Record],
        ms: Callable[[int], int],
        deleted: Callable[[int], bool] | None = None,
        max_lag_ms: int = 0,
    ) -> None:
        super().__init__(key, hooks, max_lag_ms)
        self._n = n_base
        self._record = record
        self._ms = ms
        self._deleted = deleted

    # mypy rejects a cached_property over the base class's plain attribute, which is what this
    # is: computed once, then read like one.
    @cached_property
    def n_base(self) -> int:  # type: ignore[override]
        # computing it may build the parent layout, so only on first use
        return self._n()

    def base_record(self, idx: int) -> Record:
        return self._record(idx)

    def base_ms(self, idx: int) -> int:
        return self._ms(idx)

    def base_deleted(self, idx: int) -> bool:
        return bool(self._deleted and self._deleted(idx))


class Collection:
    """One (vendor, name, scope) as the apps see it. See lazi/sandbox/README.md for the API."""

    def __init__(
        self,
        table: Table,
        clock: Callable[[], int],
        on_change: Callable[[], None],
        lock: AbstractContextManager[object],
    ) -> None:
        self._lock = lock  # the world's: writes and advance() must not interleave
        self.table = table
        self.key = table.key
        self._clock = clock
        self._on_change = on_change
        # Overlay records are kept as orjson bytes: ~4x smaller than dicts, and decoding
        # doubles as the defensive copy every read needs anyway.
        self._over: dict[int, bytes] = {}
        self._deleted: set[int] = set()
        self._log_idx: list[int] = []
        self._log_ms: list[int] = []
        self._latest: dict[int, int] = {}
        self._n = table.n_base

    # ---- reads ---------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    @property
    def max_lag(self) -> timedelta:
        """Base records' business time (createdOn, start_time) is at most this much
        earlier than their position's modified time; widen createdOn/start_time
        ranges by it before mapping them to positions with position_at()."""
        return timedelta(milliseconds=self.table.max_lag_ms)

    def index_of(self, record_id: object) -> int | None:
        idx = self.table.idx_of(record_id)
        if idx is None or idx >= self._n:
            return None
        return idx

    def existing_index(self, record_id: object) -> int:
        """index_of for a record just read from this collection, which must be there."""
        idx = self.index_of(record_id)
        if idx is None:
            raise KeyError(f"{self.key}: no record {record_id!r}")
        return idx

    def _current(self, idx: int) -> Record:
        rec = self._over.get(idx)
        return orjson.loads(rec) if rec is not None else self.table.base_record(idx)

    def get(self, record_id: object) -> Record | None:
        idx = self.index_of(record_id)
        return None if idx is None else self._current(idx)

    def get_index(self, idx: int) -> Record:
        return self._current(idx)

    def modified_ms(self, idx: int) -> int:
        pos = self._latest.get(idx)
        return self._log_ms[pos] if pos is not None else self.table.base_ms(idx)

    def iter_from(self, position: int = 0) -> Iterator[tuple[int, Record]]:
        nb = self.table.n_base
        position = max(position, 0)
        if position < nb:
            order = self.table.order()
            latest = self._latest
            base = self.table.base_record
            for q in range(position, nb):
                idx = order[q] if order is not None else q
                if idx in latest:
                    continue  # it reappears at the position of its latest change
                yield q, base(idx)
        log_idx = self._log_idx
        for li in range(max(position - nb, 0), len(log_idx)):
            idx = log_idx[li]
            if self._latest[idx] == li:
                yield nb + li, orjson.loads(self._over[idx])

    def records(self, live: bool = False) -> Iterator[Record]:
        """Every current record in feed order; live=True skips deleted ones."""
        for _, rec in self.iter_from(0):
            if not (live and self.is_deleted(rec)):
                yield rec

    def position_at(self, ts: datetime) -> int:
        ms = to_ms(ts)
        nb = self.table.n_base
        if nb and self.table.base_ms(self._base_at(nb - 1)) >= ms:
            lo, hi = 0, nb - 1
            while lo < hi:
                mid = (lo + hi) // 2
                if self.table.base_ms(self._base_at(mid)) >= ms:
                    hi = mid
                else:
                    lo = mid + 1
            return lo
        return nb + bisect_left(self._log_ms, ms)

    def end_position(self) -> int:
        """One past the last position handed out so far."""
        return self.table.n_base + len(self._log_idx)

    def _base_at(self, q: int) -> int:
        order = self.table.order()
        return order[q] if order is not None else q

    def is_deleted(self, record: Record) -> bool:
        idx = self.index_of(record.get("id"))
        if idx is None:
            return False
        return idx in self._deleted or (idx < self.table.n_base and self.table.base_deleted(idx))

    def is_deleted_index(self, idx: int) -> bool:
        return idx in self._deleted or (idx < self.table.n_base and self.table.base_deleted(idx))

    # ---- writes --------------------------------------------------------------------
    def commit(self, idx: int, record: Record, ms: int) -> Record:
        """Store a new version of record idx changed at ms (>= every earlier change)."""
        if self._log_ms and ms < self._log_ms[-1]:
            raise ValueError(f"{self.key}: change at {ms} is older than the log tail")
        self.table.stamp(record, ms)
        # copy out of orjson's buffer: the bytes it returns keep a 4-16 KiB allocation
        self._over[idx] = bytes(memoryview(orjson.dumps(record)))
        self._latest[idx] = len(self._log_idx)
        self._log_idx.append(idx)
        self._log_ms.append(ms)
        self._on_change()
        return record

    def new_index(self) -> int:
        idx = self._n
        self._n += 1
        return idx

    def patch(self, record_id: object, changes: Record) -> Record:
        with self._lock:
            idx = self._require(record_id)
            rec = self._current(idx)
            merge(rec, changes)
            return clone(self.commit(idx, rec, self._clock()))

    def insert(self, record: Record) -> Record:
        with self._lock:
            ms = self._clock()
            idx = self.new_index()
            rec = clone(record)
            self.table.fill_new(rec, idx, ms)
            return clone(self.commit(idx, rec, ms))

    def delete(self, record_id: object) -> None:
        with self._lock:
            idx = self._require(record_id)
            self.mark_deleted(idx, self._clock())

    def mark_deleted(self, idx: int, ms: int) -> None:
        rec = self._current(idx)
        self.table.tombstone(rec)
        self._deleted.add(idx)
        self.commit(idx, rec, ms)

    def _require(self, record_id: object) -> int:
        idx = self.index_of(record_id)
        if idx is None:
            raise KeyError(f"{self.key}: no record {record_id!r}")
        return idx
