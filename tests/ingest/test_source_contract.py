"""What every paged JSON source promises, checked the same way for CallRail and GoHighLevel:
faults lose no data and breach no limit, a bad credential names the endpoint and the vendor's
message, drifted records land unchanged and are counted. (ServiceTitan's export feeds have
their own tests in test_servicetitan_source.py.)"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from dlt_pipelines.common.errors import SourceError
from dlt_pipelines.common.rows import RawTable
from lazi.ingest import run_vendor
from lazi.sandbox.server import Sandbox
from tests.ingest import test_callrail_source as callrail
from tests.ingest import test_gohighlevel_source as gohighlevel
from tests.ingest.conftest import drift_report


def _bad_callrail_key(_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__CALLRAIL__API_KEY", "not-a-real-key")


def _bad_ghl_token(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    location = sandbox.world.ghl_locations[0]
    monkeypatch.setenv(
        "SOURCES__GOHIGHLEVEL__LOCATIONS",
        f'[{{"location_id": "{location}", "token": "pit-not-a-real-token"}}]',
    )


@dataclass(frozen=True)
class Vendor:
    name: str
    base_url_fixture: str  # conftest's fixture: small pages, returns the base URL
    tables: dict[str, RawTable]
    assert_mirrors: Callable[[Sandbox, str], dict[str, int]]
    break_credentials: Callable[[Sandbox, pytest.MonkeyPatch], None]
    first_endpoint: str  # named in the error of a run whose credentials are refused


VENDORS = [
    Vendor(
        "callrail", "callrail", callrail.TABLES, callrail.assert_mirrors, _bad_callrail_key, ".json"
    ),
    Vendor(
        "gohighlevel",
        "ghl",
        gohighlevel.TABLES,
        gohighlevel.assert_mirrors,
        _bad_ghl_token,
        "contacts/search",
    ),
]


@pytest.fixture(params=VENDORS, ids=lambda vendor: vendor.name)
def vendor(request: pytest.FixtureRequest) -> Vendor:
    return request.param


@pytest.fixture
def base_url(vendor: Vendor, request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(vendor.base_url_fixture)


def test_faults_do_not_lose_data_or_breach_limits(
    vendor: Vendor,
    sandbox: Sandbox,
    warehouse: str,
    base_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 10% of requests fail: throttled, server errors, dropped connections, truncated bodies.
    faults = {"rate_429": 0.03, "rate_5xx": 0.03, "rate_drop": 0.02, "rate_truncate": 0.02}
    httpx.post(f"{base_url}/_sandbox/faults", json={**faults, "seed": 3}).raise_for_status()
    with caplog.at_level(logging.WARNING, logger="lazi.sources"):
        run_vendor(vendor.name, warehouse)
        sandbox.world.advance(24)
        run_vendor(vendor.name, warehouse)
    retries = [r for r in caplog.records if "; retry " in r.getMessage()]
    assert retries, "faults were injected and retried"
    vendor.assert_mirrors(sandbox, warehouse)
    limits: dict[str, Any] = httpx.get(f"{base_url}/_sandbox/limits").json()
    assert limits
    for window in limits.values():  # CallRail hourly and daily; GHL burst and daily
        assert max(window["max_seen"].values()) <= window["limit"]


def test_bad_credentials_name_the_endpoint_and_vendor_message(
    vendor: Vendor,
    sandbox: Sandbox,
    warehouse: str,
    base_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vendor.break_credentials(sandbox, monkeypatch)
    with pytest.raises(SourceError) as failure:
        run_vendor(vendor.name, warehouse)
    message = str(failure.value)
    assert vendor.first_endpoint in message and "HTTP 401" in message
    with psycopg.connect(warehouse) as conn:
        status, error = conn.execute(
            "select status, error from sync.inbound_log where endpoint = '(run)'"
        ).fetchone()
    assert status == "failed" and "HTTP 401" in error


def test_drifted_records_land_unchanged_and_are_counted(
    vendor: Vendor, sandbox: Sandbox, warehouse: str, base_url: str
) -> None:
    run_vendor(vendor.name, warehouse)  # the fields known so far
    sandbox.world.advance(24)
    httpx.post(f"{base_url}/_sandbox/faults", json={"rate_schema_drift": 1.0}).raise_for_status()
    result = run_vendor(vendor.name, warehouse)
    tombstones = sum(e["deleted_marked"] for e in result.endpoints)
    assert result.fetched + tombstones == result.new_versions > 0, "every drifted record is kept"
    type_errors, new_fields = drift_report(warehouse, result.run_id)
    with psycopg.connect(warehouse) as conn:
        flagged = sum(
            conn.execute(
                f"select count(*) from raw.{table.name} where type_errors is not null"
            ).fetchone()[0]
            for table in vendor.tables.values()
        )
    assert new_fields, "fields the vendor added are reported"
    assert flagged == type_errors, "a value of an unexpected type leaves its key column null"
