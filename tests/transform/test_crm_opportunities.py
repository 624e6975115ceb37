"""crm pipelines, stages, opportunities, stage history and activities against the stand-ins:
what GoHighLevel holds after several weeks of stage moves (snapshotted between loads), notes
arriving as webhooks, and calls tied to the people who made them."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import orjson
import pytest

from lazi.db.cluster import LocalCluster
from tests.transform._crm_fixtures import CrmWarehouse, build_warehouse, parse_ts

WEBHOOK_TABLE = """
create table if not exists raw.ghl_webhook_events (
    webhook_id text primary key,
    location_id text not null,
    event_type text not null,
    received_at timestamptz not null,
    full_data jsonb not null
)
"""


def deliver_notes(wh: CrmWarehouse) -> None:
    """Act as the webhook receiver: every live note as a NoteCreate delivery (one of them
    delivered twice), and a NoteDelete for one note."""
    world = wh.world
    wh.execute(WEBHOOK_TABLE)
    rows = []
    for location in world.ghl_locations:
        notes = list(world.collection("gohighlevel", "notes", location).records(live=True))
        for note in notes:
            payload = {"type": "NoteCreate", "locationId": location, **note}
            received = parse_ts(note["dateAdded"]) + timedelta(seconds=5)
            rows.append((f"wh-{note['id']}", location, "NoteCreate", received, payload))
        if notes:
            first = notes[0]
            deleted = {
                "type": "NoteDelete",
                "locationId": location,
                "id": first["id"],
                "contactId": first["contactId"],
            }
            later = parse_ts(first["dateAdded"]) + timedelta(days=1)
            rows.append((f"wh-del-{first['id']}", location, "NoteDelete", later, deleted))
    with_redelivery = [*rows, rows[0]]
    for webhook_id, location, event_type, received, payload in with_redelivery:
        wh.execute(
            "insert into raw.ghl_webhook_events values (%s, %s, %s, %s, %s)"
            " on conflict (webhook_id) do nothing",
            (webhook_id, location, event_type, received, orjson.dumps(payload).decode()),
        )


@pytest.fixture(scope="module")
def wh(
    pg_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrmWarehouse]:
    yield from build_warehouse(
        pg_cluster,
        tmp_path_factory.mktemp("crm_opportunities"),
        scale=200,
        seed=31,
        rounds=4,
        hours=24 * 7,
        before_build=deliver_notes,
    )


def contact_of_ghl(wh: CrmWarehouse) -> dict[tuple[str, str], uuid.UUID]:
    return {
        (r["source_scope"], r["source_id"]): r["contact_id"]
        for r in wh.rows(
            "select source_scope, source_id, contact_id from crm.contact_links"
            " where source_system = 'gohighlevel'"
        )
    }


def test_pipelines_and_stages_match_the_world(wh: CrmWarehouse) -> None:
    stages = wh.rows("select * from crm.pipeline_stages")
    pipelines = {
        (p["location_id"], p["pipeline_id"]): p for p in wh.rows("select * from crm.pipelines")
    }
    by_pipeline: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for stage in stages:
        by_pipeline[(stage["location_id"], stage["pipeline_id"])].append(stage)
    expected = 0
    for location in wh.world.ghl_locations:
        for pipeline in wh.world.collection("gohighlevel", "pipelines", location).records(
            live=True
        ):
            key = (location, pipeline["id"])
            assert pipelines[key]["pipeline_name"] == pipeline["name"]
            assert pipelines[key]["stage_count"] == len(pipeline["stages"])
            ours = sorted(by_pipeline[key], key=lambda s: s["stage_position"])
            assert [(s["stage_id"], s["stage_name"], s["stage_position"]) for s in ours] == [
                (s["id"], s["name"], s["position"]) for s in pipeline["stages"]
            ]
            # won opportunities sit in the last stage: it is the won stage
            assert [s["is_won"] for s in ours] == [False] * (len(ours) - 1) + [True]
            probabilities = [s["probability_percent"] for s in ours]
            assert probabilities == sorted(probabilities) and probabilities[-1] == 100
            expected += len(pipeline["stages"])
    assert len(stages) == expected


def test_opportunities_match_the_world(wh: CrmWarehouse) -> None:
    ours = {
        (o["location_id"], o["opportunity_id"]): o
        for o in wh.rows("select * from crm.opportunities")
    }
    contacts = contact_of_ghl(wh)
    live = 0
    for location in wh.world.ghl_locations:
        collection = wh.world.collection("gohighlevel", "opportunities", location)
        for opportunity in collection.records():
            row = ours.get((location, opportunity["id"]))
            if collection.is_deleted(opportunity):
                assert row is None or row["is_deleted"], opportunity["id"]
                continue
            live += 1
            assert row is not None, opportunity["id"]
            assert not row["is_deleted"]
            assert row["status"] == opportunity["status"]
            assert row["pipeline_id"] == opportunity["pipelineId"]
            assert row["stage_id"] == opportunity["pipelineStageId"]
            assert row["value"] == Decimal(str(opportunity["monetaryValue"])).quantize(
                Decimal("0.01")
            )
            assert row["ghl_contact_id"] == opportunity["contactId"]
            assert row["contact_id"] == contacts[(location, opportunity["contactId"])]
            assert row["stage_name"] is not None and row["probability_percent"] is not None
            assert row["is_won"] == (opportunity["status"] == "won")
    assert live == sum(not o["is_deleted"] for o in ours.values())


def test_stage_history_follows_the_moves(wh: CrmWarehouse) -> None:
    history = wh.rows(
        "select * from crm.opportunity_stage_history"
        " order by location_id, opportunity_id, stay_number"
    )
    current = {
        (o["location_id"], o["opportunity_id"]): o
        for o in wh.rows("select * from crm.opportunities where not is_deleted")
    }
    stays: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for stay in history:
        stays[(stay["location_id"], stay["opportunity_id"])].append(stay)
    moved = [key for key, s in stays.items() if len(s) > 1]
    print(f"\n{len(stays)} opportunities in the stage history, {len(moved)} seen moving")
    assert moved, "the snapshot saw no stage move"
    for key, seq in stays.items():
        assert [s["stay_number"] for s in seq] == list(range(1, len(seq) + 1))
        assert [s["is_current"] for s in seq] == [False] * (len(seq) - 1) + [True]
        for before, after in itertools.pairwise(seq):
            assert before["next_stage_id"] == after["stage_id"]
            assert before["exited_at"] == after["entered_at"]
            assert before["hours_in_stage"] >= 0
            # the stand-in only moves opportunities forward
            assert after["stage_position"] > before["stage_position"]
        if key in current:
            assert seq[-1]["stage_id"] == current[key]["stage_id"]


def test_funnel_is_consistent(wh: CrmWarehouse) -> None:
    funnel = wh.rows(
        "select * from marts.opportunity_funnel order by location_id, pipeline_id, stage_position"
    )
    opportunities = wh.rows("select * from crm.opportunities where not is_deleted")
    by_pipeline: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in funnel:
        by_pipeline[(row["location_id"], row["pipeline_id"])].append(row)
    for key, rows in by_pipeline.items():
        in_pipeline = [o for o in opportunities if (o["location_id"], o["pipeline_id"]) == key]
        reached = [r["reached_count"] for r in rows]
        assert reached == sorted(reached, reverse=True)
        assert reached[0] == len(in_pipeline)  # everyone reached the first stage
        assert rows[-1]["won_count"] == sum(o["is_won"] for o in in_pipeline)
        assert sum(r["open_count"] for r in rows) == sum(o["is_open"] for o in in_pipeline)
        for row, following in itertools.pairwise(rows):
            assert row["advanced_count"] == following["reached_count"]
    assert any(r["completed_stay_count"] > 0 for r in funnel)


def test_notes_arrive_from_webhooks(wh: CrmWarehouse) -> None:
    contacts = contact_of_ghl(wh)
    notes = {
        (a["source_scope"], a["source_id"]): a
        for a in wh.rows("select * from crm.activities where activity_type = 'note'")
    }
    expected = 0
    deleted = 0
    for location in wh.world.ghl_locations:
        live = list(wh.world.collection("gohighlevel", "notes", location).records(live=True))
        for i, note in enumerate(live):
            expected += 1
            activity = notes[(location, note["id"])]
            assert activity["body"] == note["body"]
            assert activity["contact_id"] == contacts.get((location, note["contactId"]))
            assert activity["occurred_at"] == parse_ts(note["dateAdded"])
            assert activity["is_deleted"] == (i == 0)  # the NoteDelete'd one
            deleted += activity["is_deleted"]
    assert len(notes) == expected and deleted == len(wh.world.ghl_locations)


def test_calls_are_on_the_callers_contact(wh: CrmWarehouse) -> None:
    truth = wh.world.truth
    calls = wh.rows("select * from crm.activities where activity_type = 'call'")
    person_of_contact: dict[uuid.UUID, set[str]] = defaultdict(set)
    for link in wh.rows("select * from crm.contact_links where source_system = 'servicetitan'"):
        person = truth.st_customer_person(int(link["source_scope"]), int(link["source_id"]))
        person_of_contact[link["contact_id"]].add(person)
    strangers = linked = 0
    for call in calls:
        person = truth.callrail_call_person(call["source_scope"], call["source_id"])
        if person is None:
            strangers += 1
            assert call["contact_id"] is None and call["entity_type"] == "phone_number"
        elif call["contact_id"] is not None:
            linked += 1
            if person_of_contact.get(call["contact_id"]):
                assert person in person_of_contact[call["contact_id"]]
    print(f"\n{len(calls)} calls: {linked} on a contact, {strangers} from strangers")
    assert strangers and linked
    # every caller the world knows is a customer of the business is found
    assert linked + strangers == len(calls)


def test_job_events_are_on_the_customers_contact(wh: CrmWarehouse) -> None:
    rows = wh.rows(
        """
        select activities.activity_type, count(*) as n,
               count(*) filter (where activities.contact_id is null) as without_contact
        from crm.activities as activities
        where activities.source_system = 'servicetitan'
        group by 1
        """
    )
    kinds = {r["activity_type"]: r for r in rows}
    assert {"job_booked", "job_completed", "appointment"} <= kinds.keys()
    assert all(r["without_contact"] == 0 for r in rows)
    jobs = sum(
        len(list(wh.world.collection("servicetitan", "jobs", t).records()))
        for t in wh.world.tenants
    )
    assert kinds["job_booked"]["n"] == jobs
