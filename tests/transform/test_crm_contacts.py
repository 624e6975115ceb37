"""crm.contacts against the truth: ServiceTitan customers and GoHighLevel contacts matched
into one contact per person on the stand-ins' messy data (phones in six formats, typos and
upper case in names, duplicates holding only an email, deleted contact rows), after a few
days of changes; plus the contract, index and grant promises BI tools rely on."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import psycopg
import pytest

from lazi.db.cluster import LocalCluster
from tests.transform._crm_fixtures import (
    CrmWarehouse,
    build_warehouse,
    matching_pairs,
    parse_ts,
)

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


@pytest.fixture(scope="module")
def wh(
    pg_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrmWarehouse]:
    yield from build_warehouse(
        pg_cluster,
        tmp_path_factory.mktemp("crm_contacts"),
        scale=600,
        seed=23,
        rounds=2,
        hours=72,
    )


def test_dbt_build_passes(wh: CrmWarehouse) -> None:
    print(
        f"\nload {wh.load_seconds:.1f}s, dbt build (crm + marts + upstream) "
        f"{wh.dbt_build_seconds[-1]:.1f}s"
    )
    assert wh.rows("select count(*) as n from crm.contacts")[0]["n"] > 0


def test_matching_precision_and_recall(wh: CrmWarehouse) -> None:
    truth, predicted = matching_pairs(wh)
    hits = len(truth & predicted)
    precision = hits / len(predicted)
    recall = hits / len(truth)
    rules = wh.rows("select match_rule, count(*) as n from crm.contact_links group by 1 order by 1")
    print(
        f"\ncontact matching: {len(truth)} true pairs, {len(predicted)} predicted, "
        f"precision {precision:.4f}, recall {recall:.4f}; links by rule: "
        + ", ".join(f"{r['match_rule']}={r['n']}" for r in rules)
    )
    assert precision >= 0.98
    assert recall >= 0.98
    # the fuzzy rule is exercised: some people share no phone or email across systems
    assert any(r["match_rule"] == "name_and_address" for r in rules)


def test_text_messages_are_sms_activities_on_the_numbers_contact(wh: CrmWarehouse) -> None:
    """Every CallRail conversation is one `sms` activity dated by its newest message, on the
    contact that holds the customer's number: the same contact as that number's calls."""
    expected = {
        f"callrail:sms:{account}:{conversation['id']}": conversation
        for account in wh.world.callrail_accounts
        for conversation in wh.world.collection("callrail", "text_messages", account).records(
            live=True
        )
    }
    rows = wh.rows(
        "select activity_id, contact_id, entity_type, entity_id, phone, occurred_at, body,"
        " direction, is_deleted from crm.activities where activity_type = 'sms'"
    )
    live = {r["activity_id"]: r for r in rows if not r["is_deleted"]}
    assert live.keys() == expected.keys() and len(live) > 100
    for activity_id, row in live.items():
        conversation = expected[activity_id]
        newest = conversation["recent_messages"][0]
        assert row["phone"] == conversation["customer_phone_number"], activity_id
        assert row["occurred_at"] == parse_ts(conversation["last_message_at"]), activity_id
        assert row["body"] == newest["content"], activity_id
        assert (
            row["direction"] == {"incoming": "inbound", "outgoing": "outbound"}[newest["direction"]]
        )
        on = str(row["contact_id"]) if row["contact_id"] else row["phone"]
        assert row["entity_id"] == on, activity_id
    mismatched = wh.rows(
        "select sms.activity_id, sms.contact_id, calls.contact_id as call_contact"
        " from crm.activities as sms inner join crm.activities as calls"
        " on calls.activity_type = 'call' and calls.phone = sms.phone"
        " where sms.activity_type = 'sms' and calls.contact_id is distinct from sms.contact_id"
    )
    assert not mismatched, mismatched[:3]
    on_contacts = sum(1 for r in live.values() if r["contact_id"] is not None)
    assert 0 < on_contacts < len(live), "customers and strangers both text"


def test_every_record_is_linked_once(wh: CrmWarehouse) -> None:
    counts = wh.rows(
        """
        select
            (select count(*) from staging.stg_servicetitan__customers) as customers,
            (select count(*) from staging.stg_gohighlevel__contacts) as ghl_contacts,
            (select count(*) from crm.contact_links
             where source_system = 'servicetitan') as st_links,
            (select count(*) from crm.contact_links
             where source_system = 'gohighlevel') as ghl_links,
            (select count(*) from crm.contact_links as links
             left join crm.contacts as contacts using (contact_id)
             where contacts.contact_id is null) as orphans,
            (select count(*) from crm.contacts as contacts
             where not exists (
                 select 1 from crm.contact_links as links
                 where links.contact_id = contacts.contact_id
             )) as empty_contacts
        """
    )[0]
    assert counts["st_links"] == counts["customers"]
    assert counts["ghl_links"] == counts["ghl_contacts"]
    assert counts["orphans"] == 0
    assert counts["empty_contacts"] == 0


def test_one_contact_per_person(wh: CrmWarehouse) -> None:
    """Every live ServiceTitan customer of a person lands in the same contact, and two
    people never share one (customers are distinct people in the world)."""
    truth = wh.world.truth
    links = wh.rows(
        "select source_scope, source_id, contact_id from crm.contact_links"
        " where source_system = 'servicetitan'"
    )
    person_of_contact: dict[object, set[str]] = {}
    for link in links:
        person = truth.st_customer_person(int(link["source_scope"]), int(link["source_id"]))
        person_of_contact.setdefault(link["contact_id"], set()).add(person)
    merged = [c for c, people in person_of_contact.items() if len(people) > 1]
    assert not merged, f"{len(merged)} contacts hold several people"


def test_contact_fields(wh: CrmWarehouse) -> None:
    contacts = wh.rows("select * from crm.contacts")
    for contact in contacts:
        phones, emails = contact["phones"], contact["emails"]
        assert all(E164.match(p) for p in phones), contact["contact_id"]
        assert all(e == e.strip().lower() and "@" in e for e in emails)
        if contact["primary_phone"] is not None:
            assert contact["primary_phone"] in phones
        if contact["primary_email"] is not None:
            assert contact["primary_email"] in emails
        assert contact["st_customer_count"] + contact["ghl_contact_count"] >= 1
        assert (contact["st_customer_id"] is not None) == contact["is_customer"]
        assert 0 < contact["match_confidence"] <= 1
    with_ghl = [c for c in contacts if c["ghl_contact_count"] > 0]
    assert all(c["owner_id"] for c in with_ghl)
    assert all(c["lead_source"] for c in with_ghl)
    # GoHighLevel tags arrive: every contact copied from a customer is tagged "customer"
    assert sum("customer" in c["tags"] for c in with_ghl) > len(with_ghl) / 2


def test_ghl_fields_follow_the_primary_contact(wh: CrmWarehouse) -> None:
    """owner_id and the GoHighLevel ids point at a contact of the person in GoHighLevel."""
    world = wh.world
    rows = wh.rows(
        "select ghl_location_id, ghl_contact_id, owner_id from crm.contacts"
        " where ghl_contact_id is not null"
    )
    for row in rows[:200]:
        record = world.collection("gohighlevel", "contacts", row["ghl_location_id"]).get(
            row["ghl_contact_id"]
        )
        assert record is not None
        assert record["assignedTo"] == row["owner_id"]


def test_contract_indexes_and_grants(wh: CrmWarehouse) -> None:
    indexes = {
        r["indexdef"] for r in wh.rows("select indexdef from pg_indexes where schemaname = 'crm'")
    }
    joined = "\n".join(indexes)
    assert "gin_trgm_ops" in joined and "(full_name gin_trgm_ops)" in joined
    assert "(primary_phone)" in joined and "(primary_email)" in joined
    assert "USING gin (phones)" in joined and "USING gin (emails)" in joined
    constraints = wh.rows(
        """
        select conrelid::regclass::text as relation, contype
        from pg_constraint where connamespace = 'crm'::regnamespace
        """
    )
    primary_keys = {c["relation"] for c in constraints if c["contype"] == "p"}
    for model in ("contacts", "contact_links", "pipelines", "pipeline_stages", "opportunities"):
        assert f"crm.{model}" in primary_keys
    for relation in (
        "crm.contacts",
        "crm.contact_links",
        "crm.opportunities",
        "crm.activities",
        "marts.campaign_attribution",
        "marts.technician_productivity",
        "marts.opportunity_funnel",
    ):
        granted = wh.rows(
            "select has_table_privilege('bi_reader', %s, 'select') as ok", (relation,)
        )[0]
        assert granted["ok"], relation


def test_gin_indexes_take_new_rows_without_a_pending_list(wh: CrmWarehouse) -> None:
    """Every search of a GIN index reads its whole pending list: the incremental matching's
    phone and email lookups ran six times slower after a run's inserts (macros/gin_indexes)."""
    gin = wh.rows(
        """
        select index_class.oid::regclass::text as index, index_class.reloptions as options
        from pg_index
        join pg_class as index_class on index_class.oid = pg_index.indexrelid
        join pg_am on pg_am.oid = index_class.relam
        where pg_am.amname = 'gin'
            and index_class.relnamespace::regnamespace::text
                in ('staging', 'intermediate', 'crm', 'marts')
        """
    )
    assert len(gin) >= 7, gin  # contacts (3), the matching's records (5), customer names
    assert all("fastupdate=off" in (row["options"] or []) for row in gin), gin


def test_bi_lookups_can_use_the_indexes(wh: CrmWarehouse) -> None:
    """By phone (any of the person's numbers), by email and by fuzzy name."""
    sample = wh.rows(
        "select primary_phone, primary_email, full_name from crm.contacts"
        " where primary_phone is not null and primary_email is not null limit 1"
    )[0]
    queries = [
        ("select * from crm.contacts where primary_phone = %s", sample["primary_phone"]),
        ("select * from crm.contacts where phones @> array[%s]", sample["primary_phone"]),
        ("select * from crm.contacts where primary_email = %s", sample["primary_email"]),
        ("select * from crm.contacts where full_name %% %s", sample["full_name"].upper()),
    ]
    with psycopg.connect(wh.url) as conn:
        conn.execute("set enable_seqscan = off")
        for query, value in queries:
            plan = "\n".join(r[0] for r in conn.execute("explain " + query, (value,)))
            assert "Index" in plan or "Bitmap" in plan, plan
            assert conn.execute(query, (value,)).fetchall(), query


@pytest.mark.parametrize("relation", ["crm.contacts", "crm.contact_links"])
def test_no_column_without_description(wh: CrmWarehouse, relation: str) -> None:
    """Column comments come from the model YAML (persist_docs is not on), so check the
    manifest instead: every column of the table is documented."""
    manifest = json.loads((wh.dbt_target / "target" / "manifest.json").read_text())
    name = relation.split(".")[1]
    node = next(
        n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == name
    )
    columns = {
        r["column_name"]
        for r in wh.rows(
            "select column_name from information_schema.columns"
            " where table_schema = %s and table_name = %s",
            tuple(relation.split(".")),
        )
    }
    documented = {c for c, spec in node["columns"].items() if spec.get("description")}
    assert node["description"]
    assert columns <= documented, columns - documented
