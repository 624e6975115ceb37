"""Query-string binding that behaves like ASP.NET Core model binding, which ServiceTitan runs on.

What that means in practice (and why the stand-in must copy it, not be stricter):
- parameter names are matched case-insensitively; unknown parameters are ignored;
- a repeated scalar parameter binds its first value, an array parameter binds all values;
- an empty value binds null for the nullable types the specs declare;
- booleans and enum names are case-insensitive; enums also accept their ordinal;
- a value that does not convert yields 400 "The value 'x' is not valid for name."
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_NUM_RE = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
# .NET's invariant culture also reads US-style dates; ISO 8601 covers everything else.
_US_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p")


class BindError(Exception):
    """Carries ASP.NET-style model-state errors: {parameter: [messages]}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def parse_datetime(text: str) -> datetime | None:
    """Parse like DateTime.Parse (invariant culture) would; naive values are taken as UTC."""
    value = text.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        for fmt in _US_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        else:
            raise
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _convert(raw: str, kind: Any) -> Any:
    """Convert one raw value; raises ValueError when ASP.NET would fail to bind it."""
    if isinstance(kind, dict) and "enum" in kind:
        value = raw.strip()
        for name in kind["enum"]:
            if name.lower() == value.lower():
                return name
        if _INT_RE.match(value) and 0 <= int(value) < len(kind["enum"]):
            return kind["enum"][int(value)]
        raise ValueError(raw)
    if kind in _INT_RANGES:
        if not _INT_RE.match(raw):
            raise ValueError(raw)
        number = int(raw)
        low, high = _INT_RANGES[kind]
        if not low <= number <= high:
            raise ValueError(raw)
        return number
    if kind in ("double", "decimal"):
        if not _NUM_RE.match(raw):
            raise ValueError(raw)
        return float(raw)
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise ValueError(raw)
        return lowered == "true"
    if kind in ("datetime", "date"):
        return parse_datetime(raw)
    if kind == "guid":
        return str(uuid.UUID(raw.strip().strip("()")))
    return raw


def bind_query(pairs: Iterable[tuple[str, str]], declared: Mapping[str, Any]) -> dict[str, Any]:
    """Bind raw query pairs to the declared parameters; absent ones are simply missing."""
    by_lower = {name.lower(): name for name in declared}
    collected: dict[str, list[str]] = {}
    for key, value in pairs:
        name = by_lower.get(key.lower())
        if name is not None:
            collected.setdefault(name, []).append(value)
    bound: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, values in collected.items():
        kind = declared[name]
        if kind == "object":  # dictionary-typed filters (customField.Fields) are not modelled
            continue
        try:
            if isinstance(kind, dict) and "array" in kind:
                bound[name] = [
                    _convert(part, kind["array"])
                    for value in values
                    for part in value.split(",")
                    if part.strip()
                ]
            elif values[0] == "":
                bound[name] = None
            else:
                bound[name] = _convert(values[0], kind)
        except ValueError:
            bad = (
                values[0] if not isinstance(kind, dict) or "array" not in kind else ",".join(values)
            )
            errors.setdefault(name, []).append(f"The value '{bad}' is not valid for {name}.")
    if errors:
        raise BindError(errors)
    return bound
