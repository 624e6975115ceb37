"""From World records (export-shaped) to each endpoint's record shape, and schema drift."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Record = dict[str, Any]
DRIFT_FIELD = "sandboxDriftNote"


def projector(fields: list[str]) -> Callable[[Record], Record]:
    """Keep only the fields the endpoint's response schema declares.

    Export records carry a few fields the transactional shape lacks (jobs and contacts add
    `active`); the check is cheap when nothing needs dropping, which is the common case.
    """
    allowed = frozenset(fields)

    def project(record: Record) -> Record:
        if record.keys() <= allowed:
            return record
        return {k: v for k, v in record.items() if k in allowed}

    return project


def drift(record: Record) -> Record:
    """A plausible unannounced API change: a new field, and *Id references turned to strings."""
    changed: Record = {}
    for key, value in record.items():
        if (
            key != "id"
            and key.endswith("Id")
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            changed[key] = str(value)
        else:
            changed[key] = value
    changed[DRIFT_FIELD] = {"addedIn": "v2.1", "values": [1, "two", None]}
    return changed


def drift_body(body: Any) -> Any:
    """Apply drift to the records of a list/export envelope, or to a single record."""
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return {**body, "data": [drift(r) if isinstance(r, dict) else r for r in body["data"]]}
    if isinstance(body, dict) and "id" in body:
        return drift(body)
    return body
