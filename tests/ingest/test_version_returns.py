"""A record that returns to an earlier content (A -> B -> A) records its return: raw compares a
delivery with the record's *latest* version, not with every version it ever held.

Records without a modification time in their content (CallRail calls) return to an earlier
content whenever a tag is added and removed again; any record does when a vendor's schema drift
comes and goes. Each test ends with raw's latest versions equal to what the vendor serves now.
"""

from __future__ import annotations

import httpx
import psycopg
import pytest

from dlt_pipelines.callrail.settings import CALLS
from lazi.ingest import run_vendor
from lazi.sandbox.server import Sandbox
from tests.ingest.conftest import duplicate_versions, latest_versions
from tests.ingest.test_callrail_source import assert_mirrors as assert_callrail_mirrors
from tests.ingest.test_gohighlevel_source import assert_mirrors as assert_ghl_mirrors
from tests.ingest.test_servicetitan_source import assert_raw_matches_world


def versions_of(url: str, table: str, id_column: str, record_id: object) -> list[str]:
    """The content hashes raw holds for one record, oldest first."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"select content_hash from raw.{table} where {id_column} = %s "
            "order by modified_on nulls first, _dlt_load_id, content_hash",
            (record_id,),
        ).fetchall()
    return [row[0] for row in rows]


def test_a_call_whose_tag_is_added_then_removed_ends_with_its_first_content(
    sandbox: Sandbox, configured: dict[str, str], warehouse: str
) -> None:
    run_vendor("callrail", warehouse)
    account = sandbox.world.callrail_accounts[0]
    calls = sandbox.world.collection("callrail", "calls", account)
    call = next(r for _, r in calls.iter_from(0) if not calls.is_deleted(r))
    original_tags = list(call.get("tags") or [])

    calls.patch(call["id"], {"tags": [*original_tags, "sandbox-return-test"]})
    tagged = run_vendor("callrail", warehouse, full=True)
    calls.patch(call["id"], {"tags": original_tags})
    returned = run_vendor("callrail", warehouse, full=True)

    first, with_tag, back = versions_of(warehouse, CALLS.name, "callrail_id", call["id"])
    assert first == back != with_tag, "the return to the first content is a new version"
    assert tagged.new_versions >= 1 and returned.new_versions >= 1
    raw = latest_versions(warehouse, CALLS.name, "account_id", "callrail_id", account)
    assert raw[call["id"]][0] == calls.get(call["id"]), "the latest version is what CallRail serves"
    assert_callrail_mirrors(sandbox, warehouse)

    again = run_vendor("callrail", warehouse, full=True)
    assert again.new_versions == 0, "re-reading the returned content adds nothing"
    assert duplicate_versions(warehouse, CALLS.name, CALLS.entity_key) == 0


@pytest.mark.parametrize("vendor", ["callrail", "gohighlevel", "servicetitan"])
def test_schema_drift_then_recovery_ends_with_the_true_values(
    sandbox: Sandbox, configured: dict[str, str], warehouse: str, vendor: str
) -> None:
    """The issue's reproduction: drift on, full sync, drift off, full sync again."""
    run_vendor(vendor, warehouse)
    base = sandbox.base_url(vendor)
    httpx.post(f"{base}/_sandbox/faults", json={"rate_schema_drift": 1.0}).raise_for_status()
    drifted = run_vendor(vendor, warehouse, full=True)
    httpx.post(f"{base}/_sandbox/faults", json={"rate_schema_drift": 0.0}).raise_for_status()
    recovered = run_vendor(vendor, warehouse, full=True)

    assert drifted.new_versions > 0
    # Every record the drift touched returns to the content it had before: a version each.
    assert recovered.new_versions == drifted.new_versions
    if vendor == "servicetitan":
        assert_raw_matches_world(warehouse, sandbox)
    else:
        {"callrail": assert_callrail_mirrors, "gohighlevel": assert_ghl_mirrors}[vendor](
            sandbox, warehouse
        )
    assert run_vendor(vendor, warehouse, full=True).new_versions == 0
