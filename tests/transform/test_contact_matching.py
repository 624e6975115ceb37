"""Probabilistic contact matching (Fellegi-Sunter, int_contact_match_pairs) on people placed
in the stand-ins' world: a typo in the ZIP or the house number alone no longer loses a pair,
two people of one household with similar names are not merged, a person's review decision
wins and survives the next load, contact ids stay put when records arrive, and every
probabilistic link explains itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from psycopg import sql

from lazi.db.cluster import LocalCluster
from tests.transform._crm_fixtures import CrmWarehouse, build_warehouse, load_all

# the matching and what the assertions read (the rest of the CRM and marts are not needed
# between the tests' loads, and a run of everything costs a minute on a busy machine)
MATCHING = [
    "int_contact_records_unioned",
    "int_contact_identifiers",
    "int_contact_match_features",
    "int_contact_match_pairs",
    "int_contact_records_matched",
    "contact_links",
    "contacts",
    "contact_match_review_queue",
]


def add_customer(
    wh: CrmWarehouse, first: str, last: str, street: str, zip_code: str, phone: str
) -> str:
    """A residential ServiceTitan customer with a mobile phone; its record key."""
    world = wh.world
    tenant = world.tenants[0]
    customers = world.collection("servicetitan", "customers", tenant)
    template = next(iter(customers.records(live=True)))
    address = dict(template["address"], street=street, unit=None, city="Austin", zip=zip_code)
    record = {
        **template,
        "name": f"{first} {last}",
        "type": "Residential",
        "active": True,
        "address": address,
        "tagTypeIds": [],
        "mergedToId": None,
    }
    for stamp in ("id", "createdOn", "modifiedOn", "dateAdded", "dateUpdated"):
        record.pop(stamp, None)
    customer = customers.insert(record)
    world.collection("servicetitan", "customer_contacts", tenant).insert(
        {
            "customerId": customer["id"],
            "type": "MobilePhone",
            "value": phone,
            "phoneSettings": {"phoneNumber": phone, "doNotText": False},
            "active": True,
        }
    )
    return f"servicetitan:{tenant}:{customer['id']}"


def add_contact(
    wh: CrmWarehouse, first: str, last: str, street: str, zip_code: str, phone: str
) -> str:
    """A GoHighLevel lead with its own phone and no email; its record key."""
    world = wh.world
    location = world.ghl_locations[0]
    contacts = world.collection("gohighlevel", "contacts", location)
    template = next(iter(contacts.records(live=True)))
    record = {
        **template,
        "name": f"{first} {last}",
        "firstName": first,
        "lastName": last,
        "firstNameLowerCase": first.lower(),
        "lastNameLowerCase": last.lower(),
        "fullNameLowerCase": f"{first} {last}".lower(),
        "companyName": None,
        "type": "lead",
        "source": "Website",
        "address1": street,
        "city": "Austin",
        "postalCode": zip_code,
        "phone": phone,
        "email": None,
        "tags": [],
    }
    for stamp in ("id", "createdOn", "modifiedOn", "dateAdded", "dateUpdated"):
        record.pop(stamp, None)
    contact = contacts.insert(record)
    return f"gohighlevel:{location}:{contact['id']}"


# (customer, contact): names, street, ZIP, and each side's own phone (never shared)
PEOPLE: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {
    "zip_typo": (
        ("Bartholomew", "Quimby", "4821 Juniper Hollow Ln", "78745", "(512) 555-0141"),
        ("Bartholomew", "Quimby", "4821 Juniper Hollow Lane", "78754", "(737) 555-0142"),
    ),
    "house_typo": (
        ("Evangeline", "Ostrowski", "3307 Larkspur Dr", "78731", "(512) 555-0143"),
        ("Evangeline", "Ostrowski", "3370 Larkspur Drive", "78731", "(737) 555-0144"),
    ),
    "nickname_and_swap": (
        ("Margaret", "Thistlewood", "610 Brambleton Way", "78703", "(512) 555-0145"),
        ("Thistlewood", "Peggy", "610 Brambleton Way", "78703", "(737) 555-0146"),
    ),
    # two people of one household: same last name and address, similar first names
    "household": (
        ("Daniel", "Kowalczyk", "918 Tamarack Ct", "78704", "(512) 555-0147"),
        ("Diana", "Kowalczyk", "918 Tamarack Ct", "78704", "(737) 555-0148"),
    ),
    # the model links these; a person will say they are two people
    "overruled": (
        ("Cornelius", "Abernathy", "77 Wrenfield Rd", "78702", "(512) 555-0149"),
        ("Cornelius", "Abernathy", "77 Wrenfield Rd", "78702", "(737) 555-0150"),
    ),
}


def contact_of(wh: CrmWarehouse, record_key: str) -> Any:
    return wh.rows("select contact_id from crm.contact_links where link_id = %s", (record_key,))[0][
        "contact_id"
    ]


def linked(wh: CrmWarehouse, pair: tuple[str, str]) -> bool:
    return contact_of(wh, pair[0]) == contact_of(wh, pair[1])


def load_and_run(wh: CrmWarehouse) -> None:
    wh.world.advance(1)
    load_all(wh.url)
    wh.dbt("run", "--select", *MATCHING)


@pytest.fixture(scope="module")
def wh(pg15_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    for warehouse in build_warehouse(
        pg15_cluster, tmp_path_factory.mktemp("contact_matching"), scale=40, seed=41
    ):
        pairs = {
            case: (add_customer(warehouse, *st), add_contact(warehouse, *ghl))
            for case, (st, ghl) in PEOPLE.items()
        }
        load_and_run(warehouse)
        yield warehouse, pairs


def test_a_typo_in_the_zip_or_house_number_alone_keeps_the_pair(wh: Any) -> None:
    warehouse, pairs = wh
    for case in ("zip_typo", "house_typo", "nickname_and_swap"):
        assert linked(warehouse, pairs[case]), case
        link = warehouse.rows(
            "select match_rule, match_weight, match_contributions from crm.contact_links"
            " where link_id = %s",
            (pairs[case][1],),
        )[0]
        # explainable: the weight is the sum of the fields' contributions
        assert link["match_rule"] == "name_and_address", (case, link)
        parts = link["match_contributions"]
        assert abs(sum(p["weight"] for p in parts.values()) - float(link["match_weight"])) < 0.1
        typo = {"zip_typo": "zip", "house_typo": "house_number"}.get(case)
        if typo:
            assert parts[typo]["level"] == "typo", parts
    nickname = warehouse.rows(
        "select match_contributions from crm.contact_links where link_id = %s",
        (pairs["nickname_and_swap"][1],),
    )[0]["match_contributions"]
    assert nickname["first_name"]["level"] == "nickname", nickname


def test_two_people_of_one_household_are_not_merged(wh: Any) -> None:
    warehouse, pairs = wh
    assert not linked(warehouse, pairs["household"])
    # the model is unsure of them: they wait for a person, side by side
    queued = warehouse.rows(
        "select st_name, ghl_name, first_names_differ from crm.contact_match_review_queue"
        " where st_record_key = %s and ghl_record_key = %s",
        pairs["household"],
    )
    assert queued == [
        {"st_name": "Daniel Kowalczyk", "ghl_name": "Diana Kowalczyk", "first_names_differ": True}
    ]


def test_a_review_decision_wins_and_survives_the_next_load(wh: Any) -> None:
    warehouse, pairs = wh
    assert linked(warehouse, pairs["overruled"])
    decide = (
        "insert into crm.contact_match_reviews (st_record_key, ghl_record_key, decision)"
        " values (%s, %s, %s)"
    )
    warehouse.execute(decide, (*pairs["overruled"], "different"))
    warehouse.execute(decide, (*pairs["household"], "same"))
    warehouse.dbt("run", "--select", *MATCHING)
    assert not linked(warehouse, pairs["overruled"])
    assert linked(warehouse, pairs["household"])
    rule = warehouse.rows(
        "select match_rule, confidence from crm.contact_links where link_id = %s",
        (pairs["household"][1],),
    )[0]
    assert rule == {"match_rule": "reviewed", "confidence": 1}
    # the next load changes both contacts (a new street spelling): the decisions still win
    world = warehouse.world
    contacts = world.collection("gohighlevel", "contacts", world.ghl_locations[0])
    for case, street in (("overruled", "77 Wrenfield Road"), ("household", "918 Tamarack Court")):
        contacts.patch(pairs[case][1].rsplit(":", 1)[1], {"address1": street})
    load_and_run(warehouse)
    assert not linked(warehouse, pairs["overruled"])
    assert linked(warehouse, pairs["household"])
    queued = warehouse.rows(
        "select count(*) as n from crm.contact_match_review_queue where ghl_record_key = any(%s)",
        ([pairs["overruled"][1], pairs["household"][1]],),
    )[0]["n"]
    assert queued == 0


def test_contact_ids_stay_when_records_arrive(wh: Any) -> None:
    warehouse, pairs = wh
    before = {
        r["link_id"]: r["contact_id"]
        for r in warehouse.rows("select link_id, contact_id from crm.contact_links")
    }
    # an unrelated person, and a late duplicate of an existing customer (ZIP typo)
    newcomer = add_contact(
        warehouse, "Ignatius", "Fairweather", "5 Osprey Bend", "78750", "(737) 555-0151"
    )
    duplicate = add_contact(
        warehouse, "Evangeline", "Ostrowski", "3307 Larkspur Dr", "78713", "(737) 555-0152"
    )
    load_and_run(warehouse)
    after = {
        r["link_id"]: r["contact_id"]
        for r in warehouse.rows("select link_id, contact_id from crm.contact_links")
    }
    moved = {key for key, contact in before.items() if after[key] != contact}
    assert moved == set()
    assert after[duplicate] == before[pairs["house_typo"][0]]
    assert after[newcomer] not in before.values()


# run bookkeeping: differs between an incremental and a full build by design
BOOKKEEPING = {
    "batch_at",
    "last_load_id",
    "ghl_last_load_id",
    "previous_contact_id",
    "released_phones",
    "added_phones",
}
COMPARED = {
    "int_contact_match_features": "intermediate.int_contact_match_features",
    "int_contact_match_pairs": "intermediate.int_contact_match_pairs",
    "int_contact_records_matched": "intermediate.int_contact_records_matched",
    "contact_links": "crm.contact_links",
}


def test_incremental_matching_equals_a_full_refresh(wh: Any) -> None:
    """After the loads above (new records, edits, decisions), a --full-refresh of the matching
    gives the same features, scored pairs, matches and links, row for row."""
    warehouse, _ = wh
    columns = {}
    warehouse.execute("drop schema if exists matching_copy cascade")
    warehouse.execute("create schema matching_copy")
    for model, relation in COMPARED.items():
        schema, table = relation.split(".")
        columns[model] = sql.SQL(", ").join(
            sql.Identifier(r["column_name"])
            for r in warehouse.rows(
                "select column_name from information_schema.columns where table_schema = %s"
                " and table_name = %s and column_name <> all(%s) order by ordinal_position",
                (schema, table, list(BOOKKEEPING)),
            )
        )
        warehouse.execute(
            sql.SQL("create table matching_copy.{} as select {} from {}.{}").format(
                sql.Identifier(model), columns[model], sql.Identifier(schema), sql.Identifier(table)
            )
        )
    warehouse.dbt("run", "--full-refresh", "--select", *MATCHING)
    for model, relation in COMPARED.items():
        schema, table = relation.split(".")
        live = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        copy = sql.SQL("matching_copy.{}").format(sql.Identifier(model))
        for a, b in ((copy, live), (live, copy)):
            extra = warehouse.rows(
                sql.SQL("select {c} from {a} except all select {c} from {b} limit 5").format(
                    c=columns[model], a=a, b=b
                )
            )
            assert extra == [], (model, extra)
        total = warehouse.rows(sql.SQL("select count(*) as n from {}").format(live))[0]["n"]
        assert total > 0, model
    warehouse.execute("drop schema matching_copy cascade")
