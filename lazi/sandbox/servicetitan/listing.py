"""Running a planned list query page by page without rescanning a large table for each page.

Two strategies, both cached per (endpoint, tenant, query, World version):
- by id (the default order): ServiceTitan ids grow with the World's record index, so records
  are read in index order and only as far as the requested page needs. Paging through a
  million customers is then O(page) per request, not O(table).
- any other order, or a modified-date window: collect the matches once (a position window
  keeps that small for incremental queries), sort, and keep the ordered ids.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lazi.sandbox.servicetitan.reads import ListPlan, Record, sort_key


@dataclass
class _IdScan:
    """Matches found so far, in id order, and where the scan stopped."""

    descending: bool
    ids: list[Any] = field(default_factory=list)
    scanned: int = 0
    done: bool = False

    def fill(self, coll: Any, plan: ListPlan, need: int | None, seen: dict[Any, Record]) -> None:
        """Scan until `need` matches exist (None: to the end); new matches go into `seen`."""
        preds = plan.predicates or []
        total = len(coll)
        while not self.done and (need is None or len(self.ids) < need):
            if self.scanned >= total:
                self.done = True
                break
            idx = total - 1 - self.scanned if self.descending else self.scanned
            self.scanned += 1
            if coll.is_deleted_index(idx):
                continue
            record = coll.get_index(idx)
            if all(p(record) for p in preds):
                self.ids.append(record["id"])
                seen[record["id"]] = record


class ListCache:
    """LRU of list-query state; each entry is an _IdScan or a fully sorted id list."""

    def __init__(self, size: int = 16) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, Any] = OrderedDict()
        self._size = size

    def get(self, key: tuple) -> Any:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def _candidates(coll: Any, plan: ListPlan, restrict_ids: Iterable[int] | None) -> Iterator[Record]:
    if plan.ids is not None or restrict_ids is not None:
        wanted = plan.ids if plan.ids is not None else sorted(restrict_ids or ())
        if plan.ids is not None and restrict_ids is not None:
            allowed = set(restrict_ids)
            wanted = [i for i in wanted if i in allowed]
        for record_id in dict.fromkeys(wanted):
            record = coll.get(record_id)
            if record is not None:
                yield record
        return
    for position, record in coll.iter_from(plan.start_position):
        if plan.stop_position is not None and position >= plan.stop_position:
            return
        yield record


def _by_id_scan_applies(coll: Any, plan: ListPlan, restrict_ids: Iterable[int] | None) -> bool:
    sorted_by_id = plan.sort_field is None or plan.sort_field.lower() == "id"
    unbounded = plan.start_position == 0 and plan.stop_position is None
    return (
        sorted_by_id
        and unbounded
        and plan.ids is None
        and restrict_ids is None
        and hasattr(coll, "get_index")
    )


def run_list(
    coll: Any,
    plan: ListPlan,
    page: int,
    page_size: int,
    cache: ListCache,
    cache_scope: tuple,
    restrict_ids: Iterable[int] | None = None,
    want_total: bool = False,
) -> tuple[list[Record], bool, int | None]:
    """(records of the page, hasMore, total matching or None when not asked and unknown)."""
    restrict = None if restrict_ids is None else tuple(sorted(restrict_ids))
    version = (coll.end_position(), len(coll))
    key = (*cache_scope, plan.signature, version, restrict)
    offset = (page - 1) * page_size
    entry = cache.get(key)
    seen: dict[Any, Record] = {}
    if entry is None and _by_id_scan_applies(coll, plan, restrict):
        entry = _IdScan(descending=plan.descending)
        cache.put(key, entry)
    if isinstance(entry, _IdScan):
        entry.fill(coll, plan, None if want_total else offset + page_size + 1, seen)
        ids = entry.ids
        total = len(ids) if entry.done else None
    else:
        if entry is None:
            rows = [
                r
                for r in _candidates(coll, plan, restrict)
                if not coll.is_deleted(r) and all(p(r) for p in plan.predicates or [])
            ]
            rows.sort(key=sort_key(plan.sort_field), reverse=plan.descending)
            seen = {r.get("id"): r for r in rows}
            entry = [r.get("id") for r in rows]
            cache.put(key, entry)
        ids = entry
        total = len(ids)
    chunk = [seen.get(i) or coll.get(i) for i in ids[offset : offset + page_size]]
    return [r for r in chunk if r is not None], len(ids) > offset + page_size, total
