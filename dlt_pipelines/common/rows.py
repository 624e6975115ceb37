"""The layout every raw table shares, and turning API records into Arrow batches of raw rows.

A raw row is one *version* of a vendor record: the record exactly as the API sent it (`full_data`,
jsonb), its content hash, and typed key columns. The primary key is (scope, vendor id, content
hash) and tables load with dlt's `insert-only` merge, so a changed record adds a row, an identical
re-delivery adds nothing, and existing rows are never rewritten.

Typing never drops a record: a key column whose JSON value has an unexpected type is named in
`type_errors`; it is still typed when the value converts cleanly (an id sent as "123"), left null
when it does not, and `full_data` keeps the value exactly as sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import orjson
import pyarrow as pa

ColumnType = Literal["bigint", "text", "decimal", "bool", "timestamp", "json", "double"]

_ARROW: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "text": pa.string(),
    "decimal": pa.string(),  # PostgreSQL parses the validated text into numeric on COPY
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),  # serialized JSON; the json hint makes the column jsonb
    "double": pa.float64(),
}
_DLT: dict[str, str] = {
    "bigint": "bigint",
    "text": "text",
    "decimal": "decimal",
    "bool": "bool",
    "timestamp": "timestamp",
    "json": "json",
    "double": "double",
}


@dataclass(frozen=True)
class Column:
    name: str
    path: str  # dotted path into the record: "address", "customer.id"
    type: ColumnType = "text"


@dataclass(frozen=True)
class RawTable:
    """How one vendor endpoint lands in raw."""

    name: str
    scope_column: str
    scope_type: ColumnType
    id_column: str
    id_type: ColumnType = "bigint"
    id_path: str = "id"
    modified_path: str | None = "modifiedOn"
    active_path: str | None = "active"
    columns: Sequence[Column] = ()

    @property
    def primary_key(self) -> list[str]:
        return [self.scope_column, self.id_column, "content_hash"]

    def dlt_columns(self) -> dict[str, dict[str, Any]]:
        hints: dict[str, dict[str, Any]] = {
            self.scope_column: {"data_type": _DLT[self.scope_type], "nullable": False},
            self.id_column: {"data_type": _DLT[self.id_type], "nullable": False},
            "content_hash": {"data_type": "text", "nullable": False},
            "modified_on": {"data_type": "timestamp", "nullable": True},
            "active": {"data_type": "bool", "nullable": True},
            "is_deleted": {"data_type": "bool", "nullable": False},
            "type_errors": {"data_type": "text", "nullable": True},
            "full_data": {"data_type": "json", "nullable": False},
        }
        for col in self.columns:
            hints[col.name] = {"data_type": _DLT[col.type], "nullable": True}
        return hints


@dataclass
class BatchCounts:
    records: int = 0
    type_errors: int = 0
    new_fields: set[str] = field(default_factory=set)


def canonical(record: Any) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def content_hash(canonical_json: bytes, *, deleted: bool = False) -> str:
    digest = hashlib.md5(canonical_json, usedforsecurity=False).hexdigest()
    return digest + ("-deleted" if deleted else "")


def to_batch(
    table: RawTable,
    scope: Any,
    records: Iterable[dict[str, Any]],
    *,
    deleted: bool = False,
    known_fields: set[str] | None = None,
) -> tuple[pa.Table, BatchCounts]:
    """Arrow batch of raw rows for `records` of one scope. `known_fields`, when given, is updated
    with top-level fields seen, and fields it did not hold before are reported as new."""
    counts = BatchCounts()
    key_cols = [table.id_column, "modified_on", "active"]
    key_paths = [table.id_path, table.modified_path, table.active_path]
    key_types: list[ColumnType] = [table.id_type, "timestamp", "bool"]
    names = key_cols + [c.name for c in table.columns]
    paths = [_split(p) for p in key_paths] + [_split(c.path) for c in table.columns]
    types = key_types + [c.type for c in table.columns]
    values: list[list[Any]] = [[] for _ in names]
    hashes: list[str] = []
    full: list[str] = []
    errors: list[str | None] = []
    for record in records:
        counts.records += 1
        raw = canonical(record)
        hashes.append(content_hash(raw, deleted=deleted))
        full.append(raw.decode())
        if known_fields is not None and isinstance(record, dict):
            unseen = record.keys() - known_fields
            if unseen and known_fields:
                counts.new_fields |= unseen
            known_fields.update(record.keys())
        bad: list[str] = []
        for i, (path, kind) in enumerate(zip(paths, types, strict=True)):
            raw_value = _get(record, path)
            try:
                values[i].append(_convert(raw_value, kind))
            except (TypeError, ValueError, InvalidOperation, OverflowError):
                values[i].append(None)
                bad.append(names[i])
                continue
            if kind == "bigint" and isinstance(raw_value, str):
                bad.append(names[i])  # typed, but the vendor changed the JSON type
        if values[0][-1] is None:
            raise ValueError(f"{table.name}: a record without a usable id: {raw[:200]!r}")
        errors.append(",".join(bad) if bad else None)
        counts.type_errors += bool(bad)
    n = counts.records
    arrays = {
        table.scope_column: pa.array([scope] * n, _ARROW[table.scope_type]),
        "content_hash": pa.array(hashes, pa.string()),
        "is_deleted": pa.array([deleted] * n, pa.bool_()),
        "type_errors": pa.array(errors, pa.string()),
        "full_data": pa.array(full, pa.string()),
    }
    for name, kind, column in zip(names, types, values, strict=True):
        arrays[name] = pa.array(column, _ARROW[kind])
    return pa.table(arrays), counts


def _split(path: str | None) -> tuple[str, ...]:
    return tuple(path.split(".")) if path else ()


def _get(record: Any, path: tuple[str, ...]) -> Any:
    """Follow a dotted path; a numeric part indexes a list ("appliedTo.0.appliedTo")."""
    value = record
    for key in path:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit():
            value = value[int(key)] if int(key) < len(value) else None
        else:
            return None
    return value if path else None


def _convert(value: Any, kind: ColumnType) -> Any:
    if value is None:
        return None
    if kind == "json":
        return orjson.dumps(value).decode()
    if kind == "text":
        if isinstance(value, dict | list):
            raise TypeError("structured value for a text column")
        return value if isinstance(value, str) else orjson.dumps(value).decode()
    if kind == "bigint":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError("not an integer")
        number = int(value)
        if not -(2**63) <= number < 2**63:
            raise OverflowError("outside bigint")
        return number
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError("not a number")
        number = Decimal(str(value))
        if not number.is_finite():
            raise ValueError("not finite")
        return str(number)
    if kind == "double":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("not a number")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError("not a boolean")
        return value
    if kind == "timestamp":
        if not isinstance(value, str):
            raise TypeError("not a timestamp string")
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise ValueError(f"unknown column type {kind}")
