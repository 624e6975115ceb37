"""Flags that drift: a boolean sent as a string is read as what it means, one that cannot be
read is null and flagged, never `false`, and an unknown do-not-disturb never reads as "may
contact". The stand-ins' schema drift sends every boolean as a string ("true", "false")."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from lazi.config import PROJECT_ROOT
from lazi.db.cluster import LocalCluster
from lazi.ingest import run_vendor
from tests.transform._crm_fixtures import CRM_SELECTOR, CrmWarehouse, build_warehouse

VENDORS = ("gohighlevel", "callrail")


@pytest.fixture(scope="module")
def wh(
    pg_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrmWarehouse]:
    yield from build_warehouse(pg_cluster, tmp_path_factory.mktemp("drift"), scale=120, seed=41)


def flag_counts(wh: CrmWarehouse) -> dict[str, int]:
    return wh.rows(
        """
        select
            (select count(*) from staging.stg_gohighlevel__contacts where is_dnd) as dnd,
            (select count(*) from staging.stg_gohighlevel__contacts where is_dnd is null)
                as dnd_unknown,
            (select count(*) from staging.stg_callrail__calls where is_answered) as answered,
            (select count(*) from staging.stg_callrail__calls where not is_answered) as missed,
            (select count(*) from staging.stg_callrail__calls where is_answered is null)
                as answered_unknown,
            (select count(*) from staging.stg_gohighlevel__contacts where has_type_errors)
                + (select count(*) from staging.stg_callrail__calls where has_type_errors)
                as flagged
        """
    )[0]


def drift(wh: CrmWarehouse, rate: float) -> None:
    for vendor in VENDORS:
        base = wh.sandbox.base_url(vendor)
        httpx.post(f"{base}/_sandbox/faults", json={"rate_schema_drift": rate}).raise_for_status()
        run_vendor(vendor, wh.url, full=True)


def test_booleans_sent_as_strings_keep_their_meaning_and_recover(wh: CrmWarehouse) -> None:
    before = flag_counts(wh)
    assert before["dnd"] > 0 and before["answered"] > 0 and before["missed"] > 0
    assert before["dnd_unknown"] == before["answered_unknown"] == 0

    drift(wh, 1.0)
    drifted = flag_counts(wh)
    assert drifted["flagged"] > before["flagged"], "the changed JSON types are reported"
    for name in ("dnd", "answered", "missed"):
        assert drifted[name] == before[name], f"{name}: 'true'/'false' strings read as meant"
    assert drifted["dnd_unknown"] == drifted["answered_unknown"] == 0

    drift(wh, 0.0)
    assert flag_counts(wh) == before, "after the drift ends, the true values are latest again"


def test_an_unreadable_flag_is_null_flagged_and_never_permission(wh: CrmWarehouse) -> None:
    location = wh.world.ghl_locations[0]
    contacts = wh.world.collection("gohighlevel", "contacts", location)
    contact = next(
        r for _, r in contacts.iter_from(0) if not contacts.is_deleted(r) and r.get("dnd") is False
    )
    account = wh.world.callrail_accounts[0]
    calls = wh.world.collection("callrail", "calls", account)
    call = next(
        r for _, r in calls.iter_from(0) if not calls.is_deleted(r) and r.get("answered") is True
    )
    contacts.patch(contact["id"], {"dnd": "maybe"})
    calls.patch(call["id"], {"answered": "sometimes"})
    for vendor in VENDORS:
        run_vendor(vendor, wh.url, full=True)

    staged = wh.rows(
        "select is_dnd, has_type_errors, type_errors from staging.stg_gohighlevel__contacts "
        "where contact_id = %s",
        (contact["id"],),
    )[0]
    assert staged["is_dnd"] is None and staged["has_type_errors"], staged
    assert "dnd" in staged["type_errors"].split(",")
    staged_call = wh.rows(
        "select is_answered, has_type_errors from staging.stg_callrail__calls where call_id = %s",
        (call["id"],),
    )[0]
    assert staged_call == {"is_answered": None, "has_type_errors": True}

    wh.dbt("build", "--select", *CRM_SELECTOR, "--indirect-selection", "cautious")
    person = wh.rows(
        "select contacts.is_dnd from crm.contacts inner join crm.contact_links using (contact_id) "
        "where contact_links.source_system = 'gohighlevel' and contact_links.source_id = %s",
        (contact["id"],),
    )
    assert person == [{"is_dnd": True}], "an unknown do-not-disturb reads as do-not-disturb"
    outcome = wh.rows(
        "select outcome from crm.activities where source_system = 'callrail' and source_id = %s",
        (str(call["id"]),),
    )
    assert outcome and outcome[0]["outcome"] in (None, call.get("lead_status")), outcome
    assert outcome[0]["outcome"] != "missed"

    status = subprocess.run(
        [sys.executable, "-m", "lazi.cli", "status"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": wh.url},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flagged = dict(
        line.split()[:2] for line in status.splitlines() if line.strip().startswith("raw.")
    )
    assert int(flagged["raw.ghl_contacts"]) >= 1 and int(flagged["raw.callrail_calls"]) >= 1
