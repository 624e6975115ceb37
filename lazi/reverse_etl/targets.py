"""The pushes: for each, the dbt model of desired state, the queue's names for its records and
how a queue row becomes a request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from lazi.reverse_etl.delivery import Outcome, Request
from lazi.reverse_etl.queue import Claim


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    headers: dict[str, str]


class InvalidPayload(ValueError):
    """A queue row that cannot become a request (e.g. put into the queue by hand)."""


@dataclass(frozen=True)
class Target:
    name: str  # what `lazi push --target` takes
    vendor: str  # sync.outbound_queue.target_system, and the rate-limit vendor
    entity_type: str  # sync.outbound_queue.entity_type and sync.entity_hashes.entity_type
    operation: str
    model: tuple[str, str]  # (schema, table) of the dbt sync_* model
    scope_column: str  # the model's column holding the vendor scope (account, location, tenant)
    endpoint: Callable[[], Endpoint]  # base URL and auth headers, from the configuration
    request: Callable[[Claim, Endpoint], Request]  # raises InvalidPayload
    # run with the delivered status: (conn, claim, body sent, response)
    delivered: Callable[[psycopg.Connection, Claim, Any, Any], None] | None = None
    # run with the failed status (the vendor refused the row): (conn, claim, error)
    rejected: Callable[[psycopg.Connection, Claim, str], None] | None = None
    # conflict checks: the request that reads the record as the vendor holds it now, its
    # writable fields from the answer, and when two values of a field are the same
    # (None from it: nothing to read, e.g. a record still to be created)
    current: Callable[[Claim, Endpoint], Request | None] | None = None
    current_fields: Callable[[Any], dict[str, Any]] = dict
    same: Callable[[str, Any, Any], bool] = lambda _field, a, b: a == b
    merge_rules: str = ""  # workflow.merge_rules.target_entity
    # requests a row needs first (e.g. creating GoHighLevel custom fields), made through the
    # given send (rate limit, audit, lease); returns the answer that stops the row, or None
    prepare: (
        Callable[[Claim, Endpoint, Callable[[Request], Outcome | None]], Outcome | None] | None
    ) = None


def all_targets() -> dict[str, Target]:
    from lazi.reverse_etl import callrail, gohighlevel, servicetitan

    targets = (
        callrail.CALLS,
        gohighlevel.CONTACTS,
        gohighlevel.OPPORTUNITIES,
        servicetitan.CUSTOMERS,
        servicetitan.CUSTOMER_TAGS,
        servicetitan.PRICEBOOK,
    )
    return {target.name: target for target in targets}


def by_entity(vendor: str, entity_type: str) -> Target | None:
    return next(
        (
            target
            for target in all_targets().values()
            if (target.vendor, target.entity_type) == (vendor, entity_type)
        ),
        None,
    )
