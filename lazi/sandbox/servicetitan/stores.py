"""State ServiceTitan keeps that the World does not model: externalData per application and notes.

externalData is namespaced by the caller's application GUID: an app only sees and finds its
own keys. The World record's `externalData` holds the union over applications, so exports
(which take no GUID) still show that something was written.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

Scope = tuple[str, int]  # (collection name, tenant)


class ExternalDataStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (scope, record id) -> guid -> {key: value}, insertion-ordered like ServiceTitan's list
        self._data: dict[tuple[Scope, int], dict[str, dict[str, str]]] = {}
        self._index: dict[tuple[Scope, str, str, str], set[int]] = defaultdict(set)

    def apply(
        self, scope: Scope, record_id: int, guid: str, items: list[dict[str, Any]], mode: str
    ) -> None:
        """patchMode Replace drops this application's other keys; Merge keeps them."""
        with self._lock:
            per_guid = self._data.setdefault((scope, record_id), {})
            current = per_guid.setdefault(guid, {})
            for key, value in current.items():
                self._index[(scope, guid, key, value)].discard(record_id)
            if mode.lower() == "replace":
                current.clear()
            for item in items:
                current[str(item["key"])] = "" if item.get("value") is None else str(item["value"])
            for key, value in current.items():
                self._index[(scope, guid, key, value)].add(record_id)

    def entries(self, scope: Scope, record_id: int, guid: str | None) -> list[dict[str, str]]:
        """This application's entries, or every application's when guid is None."""
        with self._lock:
            per_guid = self._data.get((scope, record_id), {})
            chosen = [per_guid.get(guid, {})] if guid else list(per_guid.values())
            return [{"key": k, "value": v} for entries in chosen for k, v in entries.items()]

    def has(self, scope: Scope, record_id: int) -> bool:
        with self._lock:
            return (scope, record_id) in self._data

    def find(self, scope: Scope, guid: str | None, key: str, values: list[str]) -> set[int]:
        with self._lock:
            found: set[int] = set()
            for (s, g, k, v), ids in self._index.items():
                if s == scope and (guid is None or g == guid) and k == key and v in values:
                    found |= ids
            return found


class NoteStore:
    """Notes posted through the API, per (scope, parent id), oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._notes: dict[tuple[Scope, int], list[dict[str, Any]]] = defaultdict(list)
        self._next_id = 1

    def add(self, scope: Scope, parent_id: int, note: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            stored = {"id": self._next_id, **note}
            self._next_id += 1
            self._notes[(scope, parent_id)].append(stored)
            return dict(stored)

    def list(self, scope: Scope, parent_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(n) for n in self._notes.get((scope, parent_id), [])]
