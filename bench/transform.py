"""Transform benchmark: load every vendor from the stand-ins at a given scale, then time a full
`dbt build`, an incremental build after about 1 % of records changed, and BI lookups on
master.customers by phone, by email and by fuzzy name (p95 over many random lookups).

The incremental build is the one a scheduled run after each load makes (PER_LOAD_EXCLUDE and
PER_LOAD_ENV in flows.transform): every model and data test except the tests that read a whole
staging view (those and the unit tests run with the nightly full build), and the tests of the
incremental models reading the rows the build wrote.

One round is: advance the stand-ins until the records they changed (every vendor's) number at
least 1 % of ServiceTitan's customers, jobs and invoices, sync every vendor, then the per-load
build. `--rounds N` repeats it on the same
warehouse; the figure reported is the median round (every round is listed beside it), since one
round's time moves with what the stand-ins happened to change.

    python -m bench.transform --scale 1000000 [--rounds 3]
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
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.ingest import RESULTS, start_stand_ins
from flows.transform import PER_LOAD_ENV, PER_LOAD_EXCLUDE
from lazi.config import PROJECT_ROOT, mask_secrets
from lazi.db.migrate import migrate
from lazi.db.scratch import create_database, start_cluster
from lazi.dbt_env import dbt_environment
from lazi.ingest import source_env

LOOKUPS = {
    "phone": "select customer_key from master.customers where primary_phone_normalized = %s",
    "email": "select customer_key from master.customers where lower(primary_email) = lower(%s)",
    # the README's fuzzy lookup: the most similar distinct names, then their customers
    "fuzzy_name": (
        "select customers.customer_key, names.score from ("
        "select customer_name, similarity(customer_name, %s) as score from marts.customer_names "
        "where customer_name %% %s order by score desc limit 10) as names "
        "join master.customers on customers.customer_name = names.customer_name "
        "order by names.score desc, customers.customer_key limit 10"
    ),
}


def run(args: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    result = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(args[:4])} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        )
    return time.perf_counter() - began


def lookups(url: str, samples: int = 300) -> dict[str, float]:
    """p95 latency (ms) of each BI lookup, as the bi_reader role would run it."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select primary_phone_normalized, primary_email, customer_name "
            "from master.customers where primary_phone_normalized is not null "
            "and primary_email is not null order by random() limit %s",
            (samples,),
        ).fetchall()
        conn.execute("set role bi_reader")
        # the similarity the CRM's name matching uses, as the README's fuzzy lookup sets it
        conn.execute("set pg_trgm.similarity_threshold = 0.5")
        p95 = {}
        for kind, query in LOOKUPS.items():
            timings = []
            for phone, email, name in rows:
                value = {"phone": phone, "email": email.upper(), "fuzzy_name": _typo(name)}[kind]
                params = (value, value) if kind == "fuzzy_name" else (value,)
                began = time.perf_counter()
                conn.execute(query, params).fetchall()
                timings.append((time.perf_counter() - began) * 1000)
            timings.sort()
            p95[kind] = round(timings[int(len(timings) * 0.95) - 1], 2)
    return p95


def slowest_nodes(count: int = 12) -> dict[str, float]:
    """Where the last dbt invocation spent its time: the slowest models and tests."""
    results = json.loads((PROJECT_ROOT / "dbt_project" / "target" / "run_results.json").read_text())
    timed = sorted(results["results"], key=lambda r: r["execution_time"], reverse=True)[:count]
    return {r["unique_id"].split(".", 1)[1]: round(r["execution_time"], 1) for r in timed}


def _typo(name: str) -> str:
    """A realistic search: the name with one letter dropped."""
    if len(name) < 4:
        return name
    cut = random.randrange(1, len(name) - 1)  # noqa: S311 - not security relevant
    return name[:cut] + name[cut + 1 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the warehouse running afterwards (its URL is printed) to study the plans",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="incremental rounds (1 %% changed, sync, per-load build); the median is reported",
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    work = Path(tempfile.mkdtemp(prefix="lazi-bench-dbt-"))
    cluster = start_cluster(work / "pg", bin_dir=None)
    # every page is read once (and changes after): a cache of rendered pages would only fill memory
    stand_ins, info = start_stand_ins(args.scale, export_cache=False)
    try:
        url = create_database(cluster, "benchdbt")
        migrate(url)
        env = {
            **os.environ,
            **source_env(info),
            "DATABASE_URL": url,
            "LAZI_STATE_DIR": str(work / "state"),
            # the stand-ins run with their limits lifted; so does the clients' own throttling
            "SOURCES__SERVICETITAN__RATE_LIMIT_PER_SECOND": "1000000",
            "SOURCES__GOHIGHLEVEL__BURST_LIMIT": "1000000",
            "SOURCES__CALLRAIL__HOURLY_LIMIT": "1000000",
            "SOURCES__CALLRAIL__DAILY_LIMIT": "10000000",
        }
        sync = [sys.executable, "-m", "lazi.cli", "sync", "all"]
        print(f"loading every vendor at scale {args.scale} …", flush=True)
        load_s = run(sync, env)
        print(f"  {load_s:.0f} s", flush=True)
        dbt_env = {**env, **dbt_environment(url)}
        dbt = [str(Path(sys.executable).with_name("dbt")), "build"]
        full_s = run(dbt, dbt_env)
        print(f"full dbt build: {full_s:.1f} s", flush=True)
        p95 = lookups(url)
        print(f"BI lookup p95 (ms): {p95}", flush=True)

        with psycopg.connect(url) as conn:
            records = conn.execute(
                "select (select count(*) from raw.st_customers) + "
                "(select count(*) from raw.st_jobs) + (select count(*) from raw.st_invoices)"
            ).fetchone()[0]
        base = info["servicetitan"]["base_url"]
        rounds = []
        for number in range(1, args.rounds + 1):
            changed = 0
            while changed < records // 100:
                body = httpx.post(
                    f"{base}/_sandbox/advance", params={"hours": 6}, timeout=900
                ).json()
                changed += sum(body["changes"].values())
            run(sync, env)
            seconds = run([*dbt, "--exclude", *PER_LOAD_EXCLUDE], {**dbt_env, **PER_LOAD_ENV})
            rounds.append({"changed": changed, "s": round(seconds, 1), "slowest": slowest_nodes()})
            print(
                f"round {number}: per-load dbt build after {changed} changes: {seconds:.1f} s\n"
                f"  slowest nodes (s): {rounds[-1]['slowest']}",
                flush=True,
            )
    finally:
        stand_ins.terminate()
        stand_ins.wait(30)
        if args.keep:
            print(
                f"kept: the warehouse is {mask_secrets(url)} (password in "
                f"{cluster.password_file}); stop it with `{cluster.bin_dir()}/pg_ctl stop -D "
                f"{work / 'pg' / 'pgdata'}` and remove {work}",
                flush=True,
            )
        else:
            cluster.destroy()
            shutil.rmtree(work, ignore_errors=True)

    # the median round (the upper one of an even number: never the flattering pick)
    median = sorted(rounds, key=lambda r: r["s"])[len(rounds) // 2]
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(
        {
            "dbt_scale_customers": args.scale,
            "dbt_load_all_vendors_s": round(load_s, 1),
            "dbt_full_build_s": round(full_s, 1),
            "dbt_incremental_build_s": median["s"],
            "dbt_incremental_to_full_ratio": round(median["s"] / full_s, 3),
            "dbt_incremental_changed_records": median["changed"],
            "dbt_incremental_slowest_nodes_s": median["slowest"],
            "dbt_incremental_rounds": [{"changed": r["changed"], "s": r["s"]} for r in rounds],
            "bi_lookup_p95_ms": p95,
        }
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
