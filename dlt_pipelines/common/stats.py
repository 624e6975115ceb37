"""Per-endpoint counters a sync fills while it extracts, written to sync.inbound_log afterwards,
beside the feeds that fetch ahead of dlt for the whole sync."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from dlt_pipelines.common.feed import PACKAGE_BYTES, Feeds
from dlt_pipelines.common.rows import BatchCounts


@dataclass
class EndpointStats:
    table: str
    endpoint: str
    scope: str
    started: float = field(default_factory=time.time)
    finished: float | None = None
    fetched: int = 0
    type_errors: int = 0
    deleted_marked: int = 0
    requests: int = 0
    new_fields: set[str] = field(default_factory=set)
    cursor_before: str | None = None
    cursor_after: str | None = None
    full: bool = False

    def add(self, counts: BatchCounts, *, deleted: bool = False) -> None:
        if deleted:
            self.deleted_marked += counts.records
        else:
            self.fetched += counts.records
        self.type_errors += counts.type_errors
        self.new_fields |= counts.new_fields

    def details(self) -> dict[str, Any]:
        return {
            "type_errors": self.type_errors,
            "new_fields": sorted(self.new_fields),
            "deleted_marked": self.deleted_marked,
        }


class RunStats:
    """Thread-safe registry: page sources run in the feeds' threads."""

    def __init__(self, package_bytes: int = PACKAGE_BYTES, vendor: str = "") -> None:
        self._by_key: dict[tuple[str, str], EndpointStats] = {}
        self._lock = threading.Lock()
        self.feeds = Feeds(package_bytes, vendor)

    def endpoint(self, table: str, endpoint: str, scope: Any) -> EndpointStats:
        key = (table, str(scope))
        with self._lock:
            if key not in self._by_key:
                self._by_key[key] = EndpointStats(table, endpoint, str(scope))
            return self._by_key[key]

    def all(self) -> list[EndpointStats]:
        with self._lock:
            return list(self._by_key.values())

    def finish(self, table: str) -> None:
        """The table's resource took its last page: its endpoints' extraction time ends."""
        now = time.time()
        for endpoint_stats in self.all():
            if endpoint_stats.table == table and endpoint_stats.finished is None:
                endpoint_stats.finished = now
