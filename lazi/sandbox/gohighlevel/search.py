"""The filter/sort language of POST /contacts/search (Elasticsearch underneath at GHL).

Filters: {field, operator, value} or {group: "AND"|"OR", filters: [...]}; operators eq,
not_eq, contains, not_contains, exists, not_exists, range (gt/gte/lt/lte). Sort: a list of
{field, direction}; the record id breaks ties. Date fields compare and sort as epoch
milliseconds, which is also what their searchAfter values are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lazi.sandbox._ghl_cr_kit import (
    Predicate,
    Record,
    dotted,
    iso_to_ms,
    prefix_component,
    sort_component,
)
from lazi.sandbox.gohighlevel.base import normalize_email, normalize_phone

DATE_FIELDS = frozenset(
    {"dateAdded", "dateUpdated", "lastActivity", "createdAt", "updatedAt", "lastStatusChangeAt"}
)
# Set at or before the record's modified time, so a lower bound on them can be answered
# from the change feed since that time (see Views.sorted_since).
NEVER_AFTER_MODIFIED = frozenset({"dateAdded", "dateUpdated", "createdAt", "updatedAt"})
EMAIL_FIELDS = frozenset({"email", "emailLowerCase"})
PHONE_FIELDS = frozenset({"phone"})
# Array-valued fields: "eq" means "contains", so they cannot partition an index.
LIST_FIELDS = frozenset(
    {"tags", "additionalEmails", "additionalPhones", "followers", "customFields", "attributions"}
)
OPERATORS = frozenset({"eq", "not_eq", "contains", "not_contains", "exists", "not_exists", "range"})
RANGE_KEYS = ("gt", "gte", "lt", "lte")
# Fields the free-text `query` runs against.
QUERY_FIELDS = ("name", "firstName", "lastName", "email", "phone", "companyName")


class SearchError(ValueError):
    """A request the real service refuses (rendered as 400 BadRequestDTO)."""


def field_value(record: Record, field: str) -> Any:
    """A record's value for filtering and sorting: dates as epoch ms, emails lower-cased,
    phones in E.164; dotted names reach into nested objects."""
    value = dotted(record, field)
    if value is None or value == "":
        return None
    if field in DATE_FIELDS:
        return iso_to_ms(value) if isinstance(value, str) else value
    if field in EMAIL_FIELDS:
        return normalize_email(value)
    if field in PHONE_FIELDS:
        return normalize_phone(value)
    if isinstance(value, bool):
        return int(value)
    return value


def coerce(field: str, value: Any) -> Any:
    """A client-supplied comparison or cursor value, in field_value's terms."""
    if value is None:
        return None
    if field in DATE_FIELDS:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, str):
            if value.lstrip("-").isdigit():
                return int(value)
            try:
                return iso_to_ms(value)
            except ValueError as exc:
                raise SearchError(f"{field}: invalid date {value!r}") from exc
        raise SearchError(f"{field}: invalid date {value!r}")
    if field in EMAIL_FIELDS:
        return normalize_email(value)
    if field in PHONE_FIELDS:
        return normalize_phone(value)
    if isinstance(value, bool):
        return int(value)
    return value


@dataclass(frozen=True)
class SortSpec:
    field: str
    descending: bool


def parse_sort(raw: Any, default: list[SortSpec]) -> list[SortSpec]:
    if raw in (None, []):
        return default
    if not isinstance(raw, list):
        raise SearchError("sort must be an array")
    specs = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise SearchError("sort.field must be a string")
        direction = str(item.get("direction", "asc")).lower()
        if direction not in ("asc", "desc"):
            raise SearchError("sort.direction must be one of the following values: asc, desc")
        specs.append(SortSpec(item["field"], direction == "desc"))
    return specs


def key_fn(specs: list[SortSpec], eq_fields: tuple[str, ...] = ()) -> Callable[[Record], tuple]:
    """Index key: equality-partition values first, then the sort values."""

    def key(record: Record) -> tuple:
        head = tuple(prefix_component(field_value(record, f)) for f in eq_fields)
        return head + tuple(
            sort_component(field_value(record, s.field), s.descending) for s in specs
        )

    return key


def cursor_key(specs: list[SortSpec], search_after: Any) -> tuple:
    """searchAfter [v1, ..., vn, id] as an index key."""
    if not isinstance(search_after, list) or len(search_after) != len(specs) + 1:
        raise SearchError(
            f"searchAfter must be an array of {len(specs) + 1} values (sort values and id)"
        )
    parts = [
        sort_component(coerce(s.field, v), s.descending)
        for s, v in zip(specs, search_after, strict=False)
    ]
    return (*parts, search_after[-1])


def search_after_of(record: Record, specs: list[SortSpec]) -> list[Any]:
    return [*(field_value(record, s.field) for s in specs), record["id"]]


@dataclass
class Range:
    """A range filter on the primary sort field, answered by the index instead of a scan."""

    low: Any = None
    low_open: bool = False
    high: Any = None
    high_open: bool = False


@dataclass
class Compiled:
    """A filter list split by how it is answered: `eq` pairs (field, key prefix) pick an
    index partition, `index_range` bounds the primary sort field, `predicate` checks each
    remaining candidate for everything else."""

    predicate: Predicate | None = None
    index_range: Range | None = None
    eq: tuple[tuple[str, str], ...] = ()
    # Lower bound (epoch ms) of the range, when its field never exceeds the modified time.
    since_ms: int | None = None


def compile_filters(filters: Any, primary: SortSpec | None) -> Compiled:
    """Compile a top-level filter list (implicit AND)."""
    if filters in (None, []):
        return Compiled()
    if not isinstance(filters, list):
        raise SearchError("filters must be an array")
    index_range = None
    since_ms = None
    eq: dict[str, str] = {}
    rest: list[Predicate] = []
    for item in filters:
        if (
            index_range is None
            and primary is not None
            and isinstance(item, dict)
            and item.get("field") == primary.field
            and item.get("operator") == "range"
            and primary.field in DATE_FIELDS
        ):
            index_range = _range(primary, item.get("value"))
            if primary.field in NEVER_AFTER_MODIFIED:
                bounds = _range_bounds(primary.field, item.get("value"))
                since_ms = bounds.get("gte", bounds.get("gt"))
            continue
        if (
            isinstance(item, dict)
            and item.get("operator") == "eq"
            and item.get("field") not in LIST_FIELDS | eq.keys()
            and isinstance(item.get("value"), str)
            and item["value"]
        ):
            # A non-empty string matches exactly when the prefix does: no re-check needed.
            eq[item["field"]] = prefix_component(coerce(item["field"], item["value"]))
            continue
        rest.append(_compile(item))
    predicate = rest[0] if len(rest) == 1 else (lambda r: all(p(r) for p in rest))
    return Compiled(predicate if rest else None, index_range, tuple(sorted(eq.items())), since_ms)


def _range(spec: SortSpec, value: Any) -> Range:
    bounds = _range_bounds(spec.field, value)
    low = bounds.get("gte", bounds.get("gt"))
    high = bounds.get("lte", bounds.get("lt"))
    result = Range(
        low, "gt" in bounds and "gte" not in bounds, high, "lt" in bounds and "lte" not in bounds
    )
    if spec.descending:  # negated keys: the bounds swap ends
        return Range(
            None if result.high is None else -result.high,
            result.high_open,
            None if result.low is None else -result.low,
            result.low_open,
        )
    return result


def _range_bounds(field: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value or set(value) - set(RANGE_KEYS):
        raise SearchError(f"{field}: range value must be an object with gt, gte, lt or lte")
    return {k: coerce(field, v) for k, v in value.items()}


def _compile(item: Any) -> Predicate:
    if not isinstance(item, dict):
        raise SearchError("filters must contain objects")
    if "group" in item:
        group = str(item["group"]).upper()
        parts = item.get("filters")
        if group not in ("AND", "OR") or not isinstance(parts, list):
            raise SearchError("group must be AND or OR with a filters array")
        preds = [_compile(p) for p in parts]
        if group == "AND":
            return lambda r: all(p(r) for p in preds)
        return lambda r: any(p(r) for p in preds)
    field, operator = item.get("field"), item.get("operator")
    if not isinstance(field, str) or not field:
        raise SearchError("filters.field must be a string")
    if operator not in OPERATORS:
        raise SearchError(
            f"filters.operator must be one of the following values: {', '.join(sorted(OPERATORS))}"
        )
    if operator in ("exists", "not_exists"):
        want = operator == "exists"
        return lambda r: _present(r, field) is want
    raw = item.get("value")
    if operator == "range":
        bounds = _range_bounds(field, raw)
        return lambda r: _in_range(field_value(r, field), bounds)
    if operator in ("eq", "not_eq"):
        target = coerce(field, raw)
        want = operator == "eq"
        return lambda r: _equals(field_value(r, field), target) is want
    needle = str(raw).lower()
    want = operator == "contains"
    return lambda r: _contains(field_value(r, field), needle) is want


def _present(record: Record, field: str) -> bool:
    return field_value(record, field) not in (None, [], {})


def _equals(value: Any, target: Any) -> bool:
    if isinstance(value, list):
        return target in value
    return value == target


def _contains(value: Any, needle: str) -> bool:
    if isinstance(value, list):
        return any(needle in str(v).lower() for v in value)
    return value is not None and needle in str(value).lower()


def _in_range(value: Any, bounds: dict[str, Any]) -> bool:
    if value is None:
        return False
    try:
        return (
            ("gt" not in bounds or value > bounds["gt"])
            and ("gte" not in bounds or value >= bounds["gte"])
            and ("lt" not in bounds or value < bounds["lt"])
            and ("lte" not in bounds or value <= bounds["lte"])
        )
    except TypeError:
        return False


def query_predicate(query: Any) -> Predicate | None:
    if not isinstance(query, str) or not query.strip():
        return None
    needle = query.strip().lower()
    return lambda r: any(needle in str(r.get(f) or "").lower() for f in QUERY_FIELDS)
