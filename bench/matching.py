"""Contact-matching benchmark: precision and recall of the ServiceTitan <-> GoHighLevel links
on generated people with realistic corruption, and the cost of the matching in the build
after about 1 % of the records changed.

The people are made here, independently of the matcher (its own name lists, nicknames and
corruption rules, none shared with dbt_project/): each is a ServiceTitan customer and, most
of them, a GoHighLevel contact, typed in again with typos, nicknames, initials, first and
last names swapped, missing or wrong house numbers and ZIPs, other street spellings, other
or no phones and emails; some are leads with no customer, and some share an address and a
last name with another person (households). They are put into the stand-ins' world, synced
into raw by the real sources and built by the real dbt project.

Reported: precision and recall over the pairs (customer, contact) of one person, overall
and for the pairs that share no phone or email; then the stand-ins change 1 % of the
people (new records, edited names and addresses), everything is synced, and the per-load
build of the CRM models runs: the time of its matching models (features, pairs, matched
records) as a share of the whole per-load build.

    python -m bench.matching --people 10000     # at most 20000 on a shared machine
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.ingest import RESULTS
from lazi.config import PROJECT_ROOT
from lazi.db.migrate import migrate
from lazi.db.scratch import create_database, start_cluster
from lazi.dbt_env import dbt_environment
from lazi.ingest import VENDORS, run_vendor, source_env
from lazi.sandbox.server import describe, start_sandbox

CRM_SELECTOR = [
    "path:dbt_project/models/staging/gohighlevel",
    "path:dbt_project/models/staging/callrail",
    "+path:dbt_project/models/crm",
]
# the data tests check the stand-ins' own records, which these people do not complete (jobs,
# locations): the figures are about the models
NO_TESTS = ["--exclude", "resource_type:test", "resource_type:unit_test"]
MATCHING_MODELS = ("int_contact_match_features", "int_contact_match_pairs")
MATCHED_MODEL = "int_contact_records_matched"

FIRST = (
    "Adrian Agnes Alberto Alexandra Alfred Alicia Ambrose Anastasia Andrew Antonio Beatrice "
    "Benjamin Bernadette Calvin Cassandra Catherine Cecilia Charles Christopher Clarence "
    "Claudia Cornelius Daniel Deborah Delbert Dolores Dominic Edith Edward Eleanor Elizabeth "
    "Emmett Esther Eugene Evelyn Fernando Florence Francis Frederick Genevieve Gerald "
    "Gertrude Gregory Harriet Harold Ignacio Imogene Irving Isadora Jacqueline James "
    "Jennifer Jessica Jonathan Joseph Josephine Kenneth Lawrence Leonora Lucille Margaret "
    "Marisol Matthew Maurice Michael Mildred Nathaniel Nicholas Octavia Patricia Patrick "
    "Penelope Philip Priscilla Raymond Rebecca Reginald Richard Robert Rosalind Samuel "
    "Seymour Stephen Susan Theodore Thomas Timothy Ursula Valentina Victoria Vivian Walter "
    "Wilhelmina William Xavier Yolanda Zachary Zelda"
).split()
LAST = (
    "Abernathy Acevedo Albright Alvarado Ashworth Baptiste Barrientos Beauchamp Bergstrom "
    "Blackwood Bustamante Calloway Carrington Castellanos Chamberlain Christensen Cordero "
    "Dalrymple Delgado Donnelly Dubois Eastwood Espinoza Fairbanks Fitzgerald Galloway "
    "Gallegos Goldberg Greenfield Gustafson Halvorsen Hargrove Hawthorne Hendricks Holloway "
    "Ibarra Jablonski Jorgensen Kaminski Kingsley Kowalczyk Lancaster Lindqvist Lockhart "
    "Mackenzie Maldonado Montgomery Nakamura Navarro Oconnor Okafor Ortega Pemberton "
    "Pendleton Quintero Radcliffe Ramanathan Rasmussen Rosenberg Salazar Sandoval "
    "Schneider Sinclair Stanton Sutherland Takahashi Thornton Trujillo Vanderbilt Velasquez "
    "Wainwright Whitaker Whitfield Yamamoto Zamora Zimmerman Smith Johnson Garcia Brown "
    "Miller Davis Martinez Lopez Wilson Anderson Nguyen Lee Patel Kim"
).split()
# common names are many: the real mix has many Smiths and Garcias
COMMON_LAST = ("Smith", "Johnson", "Garcia", "Brown", "Miller", "Davis", "Martinez", "Nguyen")
STREETS = (
    "Amberwood Bluestem Briarcliff Buckthorn Canterbury Cherrywood Clearwater Copperfield "
    "Dove Creek Eagle Ridge Falcon Ferncliff Foxglove Glenhaven Goldenrod Hackberry Heritage "
    "Indian Paintbrush Ironwood Kestrel Lantana Larkspur Laurel Valley Lost Pines Manchaca "
    "Mockingbird Oak Knoll Palomino Quail Hollow Ravenscroft Red Oak Rocky Ridge Saddlebrook "
    "Shadywood Silverleaf Stonebridge Sugarberry Tamarack Thistle Timberline Walnut Creek "
    "Whispering Wind Wildflower Windmill Yaupon"
).split()
STREET_TYPES = {
    "St": "Street",
    "Ave": "Avenue",
    "Dr": "Drive",
    "Ln": "Lane",
    "Rd": "Road",
    "Ct": "Court",
    "Cv": "Cove",
    "Trl": "Trail",
    "Blvd": "Boulevard",
}
CITIES = {
    "Austin": [f"787{n:02d}" for n in range(1, 60)],
    "Round Rock": ["78664", "78665", "78681"],
    "Pflugerville": ["78660", "78691"],
    "Cedar Park": ["78613", "78630"],
    "Georgetown": ["78626", "78628", "78633"],
    "San Marcos": ["78666", "78667"],
}
NICKNAMES = {
    "Alexandra": ["Alex", "Sandra"],
    "Alfred": ["Al", "Fred"],
    "Andrew": ["Andy", "Drew"],
    "Antonio": ["Tony"],
    "Benjamin": ["Ben", "Benny"],
    "Catherine": ["Cathy", "Kate"],
    "Charles": ["Charlie", "Chuck"],
    "Christopher": ["Chris"],
    "Daniel": ["Dan", "Danny"],
    "Deborah": ["Debbie", "Deb"],
    "Edward": ["Ed", "Eddie", "Ted"],
    "Elizabeth": ["Liz", "Beth", "Betty"],
    "Eugene": ["Gene"],
    "Francis": ["Frank"],
    "Frederick": ["Fred"],
    "Gregory": ["Greg"],
    "Harold": ["Harry", "Hal"],
    "James": ["Jim", "Jimmy"],
    "Jennifer": ["Jen", "Jenny"],
    "Jessica": ["Jess"],
    "Jonathan": ["Jon"],
    "Joseph": ["Joe"],
    "Kenneth": ["Ken"],
    "Lawrence": ["Larry"],
    "Margaret": ["Maggie", "Peggy"],
    "Matthew": ["Matt"],
    "Michael": ["Mike"],
    "Nicholas": ["Nick"],
    "Patricia": ["Pat", "Patty"],
    "Patrick": ["Pat"],
    "Philip": ["Phil"],
    "Raymond": ["Ray"],
    "Rebecca": ["Becky"],
    "Richard": ["Rick", "Dick"],
    "Robert": ["Bob", "Rob", "Bobby"],
    "Samuel": ["Sam"],
    "Stephen": ["Steve"],
    "Susan": ["Sue"],
    "Theodore": ["Ted", "Teddy"],
    "Thomas": ["Tom"],
    "Timothy": ["Tim"],
    "Victoria": ["Vicky"],
    "Walter": ["Walt"],
    "William": ["Bill", "Will"],
    "Zachary": ["Zach"],
}


@dataclass
class Person:
    first: str
    last: str
    house: str
    street: str
    street_type: str
    city: str
    zip: str
    phone: str
    email: str
    unit: str | None = None
    st_key: str | None = None
    ghl_key: str | None = None
    shares_identifier: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def typo(rng: random.Random, text: str) -> str:
    """One keyboard slip: a letter dropped, doubled, replaced, or two swapped."""
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.25:
        return text[:i] + text[i + 1 :]
    if kind < 0.5:
        return text[:i] + text[i] + text[i:]
    if kind < 0.75:
        return text[:i] + rng.choice("aeiourstnl") + text[i + 1 :]
    return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]


def digit_slip(rng: random.Random, digits: str) -> str:
    i = rng.randrange(len(digits))
    if rng.random() < 0.3 and len(digits) > 1:  # two neighbours swapped
        j = min(i + 1, len(digits) - 1)
        i = j - 1
        swapped = digits[:i] + digits[j] + digits[i] + digits[j + 1 :]
        if swapped != digits:
            return swapped
    other = rng.choice([d for d in "0123456789" if d != digits[i]])
    return digits[:i] + other + digits[i + 1 :]


def phone_number(rng: random.Random) -> str:
    return f"({rng.choice([512, 737])}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"


def make_people(rng: random.Random, count: int) -> list[Person]:
    people: list[Person] = []
    while len(people) < count:
        city = rng.choice(list(CITIES))
        last = rng.choice(COMMON_LAST) if rng.random() < 0.25 else rng.choice(LAST)
        first = rng.choice(FIRST)
        person = Person(
            first=first,
            last=last,
            house=str(rng.randint(100, 19999)),
            street=rng.choice(STREETS),
            street_type=rng.choice(list(STREET_TYPES)),
            city=city,
            zip=rng.choice(CITIES[city]),
            phone=phone_number(rng),
            email=f"{first.lower()}.{last.lower()}{rng.randint(1, 9999)}@example.net",
            unit=f"Apt {rng.randint(1, 40)}" if rng.random() < 0.1 else None,
        )
        people.append(person)
        if rng.random() < 0.12 and len(people) < count:
            # a household: another person at the same address, same last name
            partner = Person(
                **{
                    **person.__dict__,
                    "first": rng.choice([f for f in FIRST if f != first]),
                    "phone": phone_number(rng),
                    "email": f"{rng.choice(FIRST).lower()}{rng.randint(1, 99999)}@example.org",
                    "extra": {},
                }
            )
            people.append(partner)
    return people


def ghl_view(rng: random.Random, p: Person) -> dict[str, Any]:
    """The person as typed into GoHighLevel: corrupted independently field by field."""
    first, last = p.first, p.last
    roll = rng.random()
    if roll < 0.10 and first in NICKNAMES:
        first = rng.choice(NICKNAMES[first])
    elif roll < 0.20:
        first = typo(rng, first)
    elif roll < 0.23:
        first = first[0]
    if rng.random() < 0.10:
        last = typo(rng, last)
    if rng.random() < 0.04:
        first, last = last, first
    house: str | None = p.house
    roll = rng.random()
    if roll < 0.10:
        house = digit_slip(rng, p.house)
    elif roll < 0.15:
        house = None
    street_type = p.street_type
    if rng.random() < 0.4:
        street_type = STREET_TYPES[street_type]
    street = p.street if rng.random() > 0.06 else typo(rng, p.street)
    address = " ".join(x for x in (house, street, street_type) if x)
    zip_code: str | None = p.zip
    roll = rng.random()
    if roll < 0.10:
        zip_code = digit_slip(rng, p.zip)
    elif roll < 0.14:
        zip_code = None
    city = p.city if rng.random() > 0.03 else typo(rng, p.city)
    # identifiers: a share of pairs hold the customer's phone or email, the rest another
    # phone or none
    roll = rng.random()
    phone: str | None
    email: str | None
    if roll < 0.35:
        phone, email = p.phone, None
    elif roll < 0.50:
        phone, email = None, p.email
    elif roll < 0.80:
        phone, email = phone_number(rng), None
    else:
        phone, email = None, None
    p.shares_identifier = phone == p.phone or email == p.email
    return {
        "first": first,
        "last": last,
        "address1": address,
        "city": city,
        "zip": zip_code,
        "phone": phone,
        "email": email,
    }


def st_view(rng: random.Random, p: Person) -> dict[str, Any]:
    """The person as the office typed them into ServiceTitan (fewer slips)."""
    first = typo(rng, p.first) if rng.random() < 0.03 else p.first
    last = typo(rng, p.last) if rng.random() < 0.03 else p.last
    return {
        "name": f"{first} {last}",
        "street": f"{p.house} {p.street} {p.street_type}",
        "unit": p.unit,
        "city": p.city,
        "zip": p.zip,
    }


class Stand:
    """The stand-ins' world, with the generated people put into it."""

    def __init__(self, world: Any) -> None:
        self.world = world
        self.tenant = world.tenants[0]
        self.location = world.ghl_locations[0]
        self.customers = world.collection("servicetitan", "customers", self.tenant)
        self.customer_contacts = world.collection("servicetitan", "customer_contacts", self.tenant)
        self.contacts = world.collection("gohighlevel", "contacts", self.location)
        self.st_template = next(iter(self.customers.records(live=True)))
        self.ghl_template = next(iter(self.contacts.records(live=True)))

    def add_customer(self, view: dict[str, Any], p: Person) -> str:
        address = dict(
            self.st_template["address"],
            street=view["street"],
            unit=view["unit"],
            city=view["city"],
            zip=view["zip"],
        )
        record = {
            **self.st_template,
            "name": view["name"],
            "type": "Residential",
            "active": True,
            "address": address,
            "tagTypeIds": [],
            "mergedToId": None,
        }
        for stamp in ("id", "createdOn", "modifiedOn", "dateAdded", "dateUpdated"):
            record.pop(stamp, None)
        customer = self.customers.insert(record)
        for kind, value in (("MobilePhone", p.phone), ("Email", p.email)):
            contact = {"customerId": customer["id"], "type": kind, "value": value, "active": True}
            if kind == "MobilePhone":
                contact["phoneSettings"] = {"phoneNumber": value, "doNotText": False}
            self.customer_contacts.insert(contact)
        return f"servicetitan:{self.tenant}:{customer['id']}"

    def ghl_record(self, view: dict[str, Any]) -> dict[str, Any]:
        name = f"{view['first']} {view['last']}"
        return {
            "name": name,
            "firstName": view["first"],
            "lastName": view["last"],
            "firstNameLowerCase": view["first"].lower(),
            "lastNameLowerCase": view["last"].lower(),
            "fullNameLowerCase": name.lower(),
            "address1": view["address1"],
            "city": view["city"],
            "postalCode": view["zip"],
            "phone": view["phone"],
            "email": view["email"],
        }

    def add_contact(self, view: dict[str, Any]) -> str:
        record = {
            **self.ghl_template,
            **self.ghl_record(view),
            "companyName": None,
            "type": "lead",
            "source": "Website",
            "tags": [],
        }
        for stamp in ("id", "createdOn", "modifiedOn", "dateAdded", "dateUpdated"):
            record.pop(stamp, None)
        contact = self.contacts.insert(record)
        return f"gohighlevel:{self.location}:{contact['id']}"

    def edit_contact(self, key: str, view: dict[str, Any]) -> None:
        self.contacts.patch(key.rsplit(":", 1)[1], self.ghl_record(view))


def dbt(url: str, target: Path, args: list[str]) -> tuple[float, dict[str, float]]:
    """Run dbt; its wall time and each node's execution time."""
    env = {
        **os.environ,
        **dbt_environment(url),
        "DBT_TARGET_PATH": str(target / "target"),
        "DBT_LOG_PATH": str(target / "logs"),
    }
    began = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args[:3])} failed:\n{done.stdout[-4000:]}")
    results = json.loads((target / "target" / "run_results.json").read_text())
    nodes = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results["results"]}
    return elapsed, nodes


def score(url: str, people: list[Person]) -> dict[str, float]:
    """Precision and recall of the (customer, contact) pairs of the generated people."""
    with psycopg.connect(url) as conn:
        links = dict(conn.execute("select link_id, contact_id from crm.contact_links").fetchall())
    by_contact: dict[Any, list[str]] = defaultdict(list)
    for key, contact in links.items():
        if key.startswith("servicetitan:"):
            by_contact[contact].append(key)
    truth = {(p.st_key, p.ghl_key) for p in people if p.st_key and p.ghl_key}
    plain = {
        (p.st_key, p.ghl_key) for p in people if p.st_key and p.ghl_key and not p.shares_identifier
    }
    mine = {p.ghl_key for p in people if p.ghl_key}
    missing = mine - links.keys()
    if missing:
        print(f"{len(missing)} contacts never reached crm.contact_links: {sorted(missing)[:5]}")
    predicted = {(st, ghl) for ghl in mine - missing for st in by_contact.get(links[ghl], ())}
    hits = truth & predicted
    return {
        "precision": len(hits) / max(len(predicted), 1),
        "recall": len(hits) / len(truth),
        "recall_no_identifiers": len(plain & predicted) / max(len(plain), 1),
        "recall_with_identifiers": len((truth - plain) & predicted) / max(len(truth - plain), 1),
        "true_pairs": len(truth),
        "pairs_without_identifiers": len(plain),
        "predicted_pairs": len(predicted),
        "contacts_not_loaded": len(missing),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - test data, not security
    work = Path(tempfile.mkdtemp(prefix="lazi-bench-matching-"))
    cluster = start_cluster(work / "pg", bin_dir=None)
    sandbox = start_sandbox(20, args.seed, limits=False)
    try:
        url = create_database(cluster, "benchmatch")
        migrate(url)
        os.environ.update(source_env(describe(sandbox)))
        os.environ["LAZI_STATE_DIR"] = str(work / "state")
        stand = Stand(sandbox.world)
        people = make_people(rng, args.people)
        for p in people:
            p.st_key = stand.add_customer(st_view(rng, p), p) if rng.random() < 0.9 else None
            if rng.random() < 0.85 or p.st_key is None:
                p.ghl_key = stand.add_contact(ghl_view(rng, p))
        print(f"{len(people)} people generated; syncing …", flush=True)
        sandbox.world.advance(1)
        for vendor in VENDORS:
            run_vendor(vendor, url)
        full_s, _ = dbt(url, work / "dbt", ["build", "--select", *CRM_SELECTOR, *NO_TESTS])
        first = score(url, people)
        print(f"full build {full_s:.1f} s: {first}", flush=True)

        # 1 % of the people change: new ones arrive, contacts are edited
        changed = max(len(people) // 100, 1)
        newcomers = make_people(rng, changed // 2)
        for p in newcomers:
            p.st_key = stand.add_customer(st_view(rng, p), p)
            p.ghl_key = stand.add_contact(ghl_view(rng, p))
        edited = [p for p in people if p.ghl_key][: changed - len(newcomers)]
        for p in edited:
            stand.edit_contact(p.ghl_key, ghl_view(rng, p))
        people += newcomers
        sandbox.world.advance(1)
        for vendor in VENDORS:
            run_vendor(vendor, url)
        per_load_s, nodes = dbt(url, work / "dbt", ["build", "--select", *CRM_SELECTOR, *NO_TESTS])
        matching_s = sum(nodes.get(m, 0.0) for m in (*MATCHING_MODELS, MATCHED_MODEL))
        after = score(url, people)
        print(
            f"per-load build after {changed} changed people: {per_load_s:.1f} s, matching "
            f"{matching_s:.1f} s; {after}",
            flush=True,
        )
    finally:
        sandbox.stop()
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)

    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(
        {
            "crm_match_people": args.people,
            "crm_match_true_pairs": after["true_pairs"],
            "crm_match_pairs_without_identifiers": after["pairs_without_identifiers"],
            "crm_match_precision": round(after["precision"], 4),
            "crm_match_recall": round(after["recall"], 4),
            "crm_match_recall_no_identifiers": round(after["recall_no_identifiers"], 4),
            "crm_match_recall_with_identifiers": round(after["recall_with_identifiers"], 4),
            "crm_match_full_build_s": round(full_s, 1),
            "crm_match_per_load_build_s": round(per_load_s, 1),
            "crm_match_incremental_matching_s": round(matching_s, 2),
            "crm_match_incremental_share_of_build": round(matching_s / per_load_s, 3),
        }
    )
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
