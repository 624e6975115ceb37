"""The analytics marts against answers computed straight from the stand-ins' records:
revenue per ServiceTitan campaign, last-touch CallRail attribution (the same rule, applied
in Python to the world's calls and jobs with the world's own person keys), technician
productivity against the truth's technician revenue. Money must match to the cent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from lazi.db.cluster import LocalCluster
from tests.transform._crm_fixtures import (
    CrmWarehouse,
    build_warehouse,
    counted_jobs,
    job_revenue,
    parse_ts,
    scope_pairs,
)

WINDOW = timedelta(days=7)  # var marts_attribution_window_days


@pytest.fixture(scope="module")
def wh(
    pg_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrmWarehouse]:
    yield from build_warehouse(
        pg_cluster, tmp_path_factory.mktemp("marts"), scale=400, seed=41, rounds=1, hours=72
    )


def campaign_rows(wh: CrmWarehouse, system: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (r["scope_id"], r["campaign_key"]): r
        for r in wh.rows(
            "select * from marts.campaign_attribution where attribution_system = %s", (system,)
        )
    }


def test_revenue_per_servicetitan_campaign(wh: CrmWarehouse) -> None:
    ours = campaign_rows(wh, "servicetitan")
    checked = 0
    for tenant in wh.world.tenants:
        revenue = job_revenue(wh.world, tenant)
        expected: dict[str, list[Decimal]] = defaultdict(list)
        for job in counted_jobs(wh.world, tenant):
            expected[str(job["campaignId"])].append(revenue.get(job["id"], Decimal("0")))
        for campaign, amounts in expected.items():
            row = ours[(str(tenant), campaign)]
            assert row["job_count"] == len(amounts)
            assert row["revenue"] == sum(amounts), (tenant, campaign)
            checked += 1
        assert sum(1 for scope, _ in ours if scope == str(tenant)) == len(expected)
    assert checked


def last_touch_truth(wh: CrmWarehouse) -> dict[tuple[str, tuple[str, str, str]], list[Decimal]]:
    """(account, (source, medium, campaign)) -> revenues of the counted jobs whose last
    inbound call within the window before creation, from the customer's person, came in
    through that campaign."""
    world, truth = wh.world, wh.world.truth
    result: dict[tuple[str, tuple[str, str, str]], list[Decimal]] = defaultdict(list)
    for tenant, _location, account in scope_pairs(world):
        calls_of: dict[str, list[tuple[Any, str, tuple[str, str, str]]]] = defaultdict(list)
        for call in world.collection("callrail", "calls", account).records(live=True):
            if call["direction"] != "inbound":
                continue
            person = truth.callrail_call_person(account, call["id"])
            if person is not None:
                key = tuple(call.get(k) or "unknown" for k in ("source", "medium", "campaign"))
                calls_of[person].append((parse_ts(call["start_time"]), call["id"], key))
        revenue = job_revenue(world, tenant)
        for job in counted_jobs(world, tenant):
            person = truth.st_customer_person(tenant, job["customerId"])
            created = parse_ts(job["createdOn"])
            candidates = [
                c for c in calls_of.get(person, ()) if created - WINDOW <= c[0] <= created
            ]
            if not candidates:
                continue
            latest = max(c[0] for c in candidates)
            _, _, key = min(c for c in candidates if c[0] == latest)
            result[(account, key)].append(revenue.get(job["id"], Decimal("0")))
    return result


def test_last_touch_revenue_per_callrail_campaign(wh: CrmWarehouse) -> None:
    ours = campaign_rows(wh, "callrail")
    truth = last_touch_truth(wh)
    assert truth, "no job is attributed in the world"
    for (account, key), amounts in truth.items():
        row = ours[(account, "/".join(key))]
        assert row["job_count"] == len(amounts), (account, key)
        assert row["revenue"] == sum(amounts), (account, key)
    attributed_keys = {(a, "/".join(k)) for a, k in truth}
    for scope_key, row in ours.items():
        if scope_key not in attributed_keys:
            assert row["job_count"] == 0 and row["revenue"] == 0
    total = sum(sum(a) for a in truth.values())
    print(f"\nlast-touch CallRail revenue {total} over {sum(map(len, truth.values()))} jobs")


def test_calls_per_callrail_campaign(wh: CrmWarehouse) -> None:
    ours = campaign_rows(wh, "callrail")
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for account in wh.world.callrail_accounts:
        for call in wh.world.collection("callrail", "calls", account).records(live=True):
            key = "/".join(call.get(k) or "unknown" for k in ("source", "medium", "campaign"))
            expected[(account, key)] += call["direction"] == "inbound"
    assert {k: r["call_count"] for k, r in ours.items()} == dict(expected)


def test_booked_calls_get_their_jobs(wh: CrmWarehouse) -> None:
    """The world books a job a few minutes after a tracked call: nearly every such job
    must be attributed to a call of the same campaign as its ServiceTitan campaign."""
    rows = wh.rows(
        """
        select st_campaign_name, call_campaign, is_call_attributed
        from marts.job_attribution
        where is_counted and st_campaign_name in (
            select campaign_name from marts.campaign_attribution
            where attribution_system = 'callrail'
        )
        """
    )
    attributed = [r for r in rows if r["is_call_attributed"]]
    same = sum(r["call_campaign"] == r["st_campaign_name"] for r in attributed)
    assert len(attributed) / len(rows) > 0.5
    assert same / len(attributed) > 0.8


def test_job_revenue_matches_invoices(wh: CrmWarehouse) -> None:
    ours = {
        (r["tenant_id"], r["job_id"]): r["revenue"]
        for r in wh.rows("select tenant_id, job_id, revenue from marts.job_attribution")
    }
    for tenant in wh.world.tenants:
        revenue = job_revenue(wh.world, tenant)
        for job in counted_jobs(wh.world, tenant):
            assert ours[(tenant, job["id"])] == revenue.get(job["id"], Decimal("0"))


def test_technician_productivity_matches_the_truth(wh: CrmWarehouse) -> None:
    totals: dict[tuple[int, int], dict[str, Any]] = defaultdict(
        lambda: {"revenue": Decimal("0"), "jobs": 0}
    )
    for row in wh.rows("select * from marts.technician_productivity"):
        total = totals[(row["tenant_id"], row["technician_id"])]
        total["revenue"] += row["revenue"]
        total["jobs"] += row["completed_job_count"]
        if row["invoiced_job_count"]:
            ticket = row["revenue"] / row["invoiced_job_count"]
            assert row["average_ticket"] == ticket.quantize(Decimal("0.01"), ROUND_HALF_UP)
    truth = wh.world.truth
    checked = 0
    for tenant in wh.world.tenants:
        techs: dict[int, set[int]] = defaultdict(set)
        for assignment in wh.world.collection(
            "servicetitan", "appointment_assignments", tenant
        ).records(live=True):
            if assignment["active"]:
                techs[assignment["jobId"]].add(assignment["technicianId"])
        completed_jobs: dict[int, int] = defaultdict(int)
        for job in wh.world.collection("servicetitan", "jobs", tenant).records(live=True):
            if job["active"] and job["jobStatus"] == "Completed":
                for tech in techs.get(job["id"], ()):
                    completed_jobs[tech] += 1
        for technician in wh.world.collection("servicetitan", "technicians", tenant).records():
            tech_id = technician["id"]
            ours = totals.get((tenant, tech_id), {"revenue": Decimal("0"), "jobs": 0})
            assert ours["revenue"] == truth.technician_revenue(tenant, tech_id), tech_id
            assert ours["jobs"] == completed_jobs.get(tech_id, 0), tech_id
            checked += 1
    assert checked
