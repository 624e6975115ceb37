"""Transactional list / get-by-id reads and export feeds over World collections.

World collections iterate in change order (ascending modifiedOn), so modified-date filters
become position ranges and exports become position cursors: both cost O(page), not O(table).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lazi.sandbox.servicetitan.params import BindError, parse_datetime

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

MAX_PAGE_SIZE = 5000  # documented: "between 1 and 5000"; larger values are capped, not refused
DEFAULT_PAGE_SIZE = 50
MAX_IDS = 50
# Parameters with dedicated handling; every other declared parameter is a field filter.
RESERVED = {
    "page",
    "pageSize",
    "includeTotal",
    "sort",
    "orderBy",
    "orderByDirection",
    "ids",
    "active",
    "activeState",
    "includeInactive",
    "activeOnly",
    "externalDataApplicationGuid",
    "externalDataKey",
    "externalDataValues",
}
_DATE_PARAM = re.compile(r"^(?P<base>.+?)(?P<op>OnOrAfter|OnOrBefore|Before|After)$")
_DATE_FIELD_ALIASES = {"starts": "start", "invoicedOn": "invoiceDate", "ends": "end"}
_ADDRESS_FIELDS = {"street", "unit", "city", "state", "zip", "country", "latitude", "longitude"}
_TOKEN_PREFIX = "st1:"  # noqa: S105 - a cursor format tag, not a secret
_MS = timedelta(milliseconds=1)


def _ceil_ms(ts: datetime) -> datetime:
    """Positions have millisecond resolution; round an inclusive bound up, never down."""
    micro = ts.microsecond
    if micro % 1000:
        ts = ts.replace(microsecond=micro - micro % 1000) + _MS
    return ts


# ---- export cursors ----------------------------------------------------------------------


def encode_token(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_from(value: str, coll: Any) -> int:
    """A continueFrom token or a date (the record's modifiedOn) -> start position."""
    text = value.strip()
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
        if raw.startswith(_TOKEN_PREFIX):
            return max(int(raw[len(_TOKEN_PREFIX) :]), 0)
    except (ValueError, UnicodeDecodeError):
        pass
    try:
        ts = parse_datetime(text)
    except ValueError:
        ts = None
    if ts is None:
        raise BindError(
            {"from": [f"The value '{value}' is not a valid continuation token or date."]}
        )
    return coll.position_at(_ceil_ms(ts))


def export_page(coll: Any, start: int, page_size: int) -> dict[str, Any]:
    """One export response. Tombstones come through with active=false (the World sets it)."""
    data: list[Record] = []
    has_more = False
    next_position = start
    for position, record in coll.iter_from(start):
        if len(data) == page_size:
            has_more = True
            break
        data.append(record)
        next_position = position + 1
    return {"hasMore": has_more, "continueFrom": encode_token(next_position), "data": data}


# ---- transactional lists -------------------------------------------------------------------


def _field(record: Record, name: str) -> tuple[bool, Any]:
    """Where a filter parameter's value lives in a record, if anywhere."""
    if name in record:
        return True, record[name]
    if name.endswith("Id"):
        nested = record.get(name[:-2])
        if isinstance(nested, dict) and "id" in nested:
            return True, nested["id"]
    if name in _ADDRESS_FIELDS and isinstance(record.get("address"), dict):
        return True, record["address"].get(name)
    return False, None


def _matches(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return any(_matches(actual, w) for w in wanted)
    if isinstance(actual, list):
        return any(_matches(a, wanted) for a in actual)
    if isinstance(actual, dict):
        actual = actual.get("name", actual.get("id"))
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.lower() == wanted.lower()
    if isinstance(wanted, float) and not isinstance(actual, bool):
        try:
            return float(actual) == wanted
        except (TypeError, ValueError):
            return False
    return bool(actual == wanted)


def _as_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def parse_id_list(name: str, text: str | None, limit: int | None = None) -> list[int] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        ids = [int(p) for p in parts]
    except ValueError:
        raise BindError({name: [f"The value '{text}' is not valid for {name}."]}) from None
    if limit is not None and len(ids) > limit:
        raise BindError({name: [f"The maximum number of values is {limit}."]})
    return ids


@dataclass
class ListPlan:
    """A bound list query reduced to: where to start, where to stop, what to keep."""

    start_position: int = 0
    stop_position: int | None = None
    predicates: list[Predicate] | None = None
    ids: list[int] | None = None
    sort_field: str | None = None
    descending: bool = False
    signature: tuple = ()


def _active_predicate(declared: dict[str, Any], bound: dict[str, Any]) -> Predicate | None:
    if "active" in declared:
        mode = bound.get("active") or "True"  # only active items by default
        if mode == "Any":
            return None
        want = mode == "True"
        return lambda r: bool(r.get("active", True)) is want
    if "activeState" in declared:
        state = bound.get("activeState") or "ActiveOnly"
        if state == "All":
            return None
        want = state == "ActiveOnly"
        return lambda r: bool(r.get("active", True)) is want
    if "includeInactive" in declared and not bound.get("includeInactive"):
        return lambda r: bool(r.get("active", True))
    if "activeOnly" in declared and bound.get("activeOnly"):
        return lambda r: bool(r.get("active", True))
    return None


def _date_predicate(base: str, op: str, ts: datetime) -> Predicate:
    candidates = [base + "On", base]
    if base in _DATE_FIELD_ALIASES:
        candidates.append(_DATE_FIELD_ALIASES[base])

    def check(record: Record) -> bool:
        for name in candidates:
            if name in record:
                value = _as_datetime(record[name])
                if value is None:
                    return False
                if op == "OnOrAfter":
                    return value >= ts
                if op == "After":
                    return value > ts
                if op == "OnOrBefore":
                    return value <= ts
                return value < ts
        return True  # the filter does not apply to this record type

    return check


def _field_predicate(name: str, wanted: Any) -> Predicate:
    def check(record: Record) -> bool:
        found, actual = _field(record, name)
        return _matches(actual, wanted) if found else True

    return check


def _narrow(plan: ListPlan, coll: Any, base: str, op: str, value: datetime) -> bool:
    """Turn a date filter into a position bound where the change order allows; True when
    the bound alone is exact (no per-record check needed)."""
    # Positions ascend with modifiedOn, so modified filters are exact position ranges.
    if base == "modified" and op == "OnOrAfter":
        plan.start_position = max(plan.start_position, coll.position_at(_ceil_ms(value)))
        return True
    if base == "modified" and op == "After":
        after = _ceil_ms(value + timedelta(microseconds=1))
        plan.start_position = max(plan.start_position, coll.position_at(after))
        return True
    if base == "modified" and op == "Before":
        stop = coll.position_at(_ceil_ms(value))
        plan.stop_position = stop if plan.stop_position is None else min(stop, plan.stop_position)
        return True
    if base == "created" and op in ("OnOrAfter", "After"):
        # createdOn <= modifiedOn, so this is a safe lower bound, refined per record.
        plan.start_position = max(plan.start_position, coll.position_at(value))
    return False


def plan_list(
    coll: Any | None, declared: dict[str, Any], bound: dict[str, Any], sort_fields: list[str] | None
) -> ListPlan:
    """Reduce bound parameters to a plan. With coll None (data outside the World, such as
    notes) every filter is a per-record predicate."""
    plan = ListPlan(predicates=[])
    preds: list[Predicate] = []
    active = _active_predicate(declared, bound)
    if active:
        preds.append(active)
    for name, value in bound.items():
        if value is None or name in RESERVED:
            continue
        date = _DATE_PARAM.match(name)
        if date and isinstance(value, datetime):
            base, op = date.group("base"), date.group("op")
            if coll is None or not _narrow(plan, coll, base, op, value):
                preds.append(_date_predicate(base, op, value))
            continue
        if name.endswith("Ids") and isinstance(value, str):
            value = parse_id_list(name, value)
            if not value:
                continue
            name = name if name == "tagTypeIds" else name[:-1]
        preds.append(_field_predicate(name, value))
    plan.predicates = preds
    plan.ids = (
        parse_id_list("ids", bound["ids"], MAX_IDS)
        if isinstance(bound.get("ids"), str)
        else (bound.get("ids") or None)
    )
    _plan_sort(plan, bound, sort_fields)
    plan.signature = tuple(
        sorted(
            (k, repr(v))
            for k, v in bound.items()
            if k not in ("page", "pageSize", "includeTotal", "externalDataApplicationGuid")
        )
    )
    return plan


def _plan_sort(plan: ListPlan, bound: dict[str, Any], sort_fields: list[str] | None) -> None:
    spec = bound.get("sort")
    if spec:
        text = spec.strip()
        # A raw '+' in a query string decodes to a space, which the strip() removes.
        plan.descending = text.startswith("-")
        name = text.lstrip("+-").strip()
        if sort_fields is not None and name.lower() not in {f.lower() for f in sort_fields}:
            raise BindError({"sort": [f"Sorting by '{name}' is not supported."]})
        plan.sort_field = name
    elif bound.get("orderBy"):
        plan.sort_field = bound["orderBy"].strip()
        plan.descending = str(bound.get("orderByDirection") or "asc").strip().lower() == "desc"


def sort_key(field: str | None) -> Callable[[Record], Any]:
    if not field or field.lower() == "id":
        return lambda r: r.get("id") or 0
    lowered = field[0].lower() + field[1:]

    def key(record: Record) -> tuple:
        value = record.get(lowered)
        if value is None:
            for k, v in record.items():
                if k.lower() == field.lower():
                    value = v
                    break
        if isinstance(value, dict):
            value = value.get("name", value.get("id"))
        # None sorts first; mixed types compare by their text.
        return (value is not None, value if isinstance(value, int | float) else str(value or ""))

    return key


def page_args(bound: dict[str, Any]) -> tuple[int, int]:
    """page/pageSize with the documented defaults; out-of-range values are clamped."""
    page = bound.get("page") or 1
    size = bound.get("pageSize") or DEFAULT_PAGE_SIZE
    return max(page, 1), min(max(size, 1), MAX_PAGE_SIZE)
