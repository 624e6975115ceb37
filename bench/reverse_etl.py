"""Reverse-ETL benchmark: three figures into bench/results.json.

- `reverse_etl_queue_jobs_per_s`: claim-and-complete rate of sync.outbound_queue with the
  vendor cost removed. Two worker processes claim batches (FOR UPDATE SKIP LOCKED, the
  worker's own queue.claim) and mark every row delivered with the worker's own queue.succeed
  (one transaction per row, with its hash bookkeeping), as lazi_reverse_etl.
- `reverse_etl_enqueue_s`: the enqueue step after 1 % of a sync model's records changed. The
  model is synthetic, `--scale` records in the shape of marts.sync_callrail_calls (one per
  customer, as push 1 has), all delivered once before (one succeeded queue row and one hash
  each). `reverse_etl_enqueue_to_dbt_ratio` divides it by the per-load dbt build that
  bench.transform measured at the same scale (`make bench` runs that first).
- `reverse_etl_limit_utilisation`: two worker processes deliver to the CallRail stand-in with
  its documented limits (1,000 requests an hour and 10,000 a day per account) and the seeded
  sync.rate_limits, both on a clock running TIME_COMPRESSION times faster (so two vendor
  hours take two minutes). The figure is the requests CallRail answered in two compressed hours
  over what its limits admit in them; `reverse_etl_limit_breaches` counts the stand-in's 429s
  and any window over the limit it reports.

    python -m bench.reverse_etl --scale 1000000
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.ingest import RESULTS
from lazi.db import warehouse
from lazi.db.migrate import migrate
from lazi.db.scratch import create_database, start_cluster
from lazi.ingest import source_env
from lazi.reverse_etl import callrail, enqueue, queue, worker
from lazi.sandbox.server import describe, start_sandbox

QUEUE_JOBS_MAX = 50_000  # enough for a steady rate; keeps the run short at any scale
CLAIM_BATCH = 100
TIME_COMPRESSION = 60  # one CallRail hour lasts a minute
LIMIT_WINDOWS = 2  # compressed hours measured
SYNTHETIC = ("marts", "bench_sync_records")


# --- queue: claim and complete ----------------------------------------------------------------


def _drain(url: str, batch: int) -> tuple[int, float, float]:
    """One worker process: claim and complete until the queue is empty; (rows, first, last)."""
    done, first, last = 0, 0.0, 0.0
    with warehouse.connect_as(url, worker.ROLE, autocommit=True) as conn:
        name = worker.new_worker_id()
        while True:
            began = time.time()
            claims = queue.claim(conn, name, batch_size=batch, lease_s=60)
            if not claims:
                return done, first, last
            first = first or began
            for held in claims:
                if not queue.succeed(conn, held, {}):
                    raise RuntimeError(f"lost the lease of {held.id}")
                done += 1
            last = time.time()


def queue_rate(url: str, jobs: int, batch: int) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("truncate sync.outbound_queue, sync.entity_hashes cascade")
        conn.execute(
            "insert into sync.entity_hashes (entity_type, entity_id, master_hash) "
            "select 'bench_job', 'job-' || n, md5(n::text) from generate_series(1, %s) as n",
            (jobs,),
        )
        conn.execute(
            """
            insert into sync.outbound_queue (
                target_system, entity_type, entity_id, operation, payload, content_hash,
                idempotency_key
            )
            select 'callrail', 'bench_job', 'job-' || n, 'update', '{}', md5(n::text), 'job-' || n
            from generate_series(1, %(n)s) as n
            """,
            {"n": jobs},
        )
        conn.execute("vacuum analyze sync.outbound_queue, sync.entity_hashes")
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        parts = pool.starmap(_drain, [(url, batch)] * 2)
    done = sum(rows for rows, _, _ in parts)
    if done != jobs:
        raise SystemExit(f"the queue bench completed {done} of {jobs} rows")
    began = min(first for rows, first, _ in parts if rows)
    ended = max(last for rows, _, last in parts if rows)
    return jobs / (ended - began)


# --- enqueue after 1 % changed --------------------------------------------------------------


def enqueue_after_changes(url: str, records: int) -> dict[str, float]:
    schema, table = SYNTHETIC
    target = replace(callrail.CALLS, name="bench", entity_type="bench_record", model=SYNTHETIC)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("truncate sync.outbound_queue, sync.entity_hashes cascade")
        conn.execute(f"drop table if exists {schema}.{table}")
        conn.execute(
            f"""
            create table {schema}.{table} as
            select
                'ACC' || (n %% 10) || '/CAL' || n as entity_id,
                'ACC' || (n %% 10) as account_id,
                payload,
                md5(payload::text) as content_hash,
                null::jsonb as read_state
            from generate_series(1, %s) as n,
                lateral (
                    select jsonb_build_object(
                        'value', n %% 5000, 'lead_status', 'good_lead', 'tags', '["booked"]'
                    ) as payload
                ) as p
            """,
            (records,),
        )
        conn.execute(f"alter table {schema}.{table} add primary key (entity_id)")
        conn.execute(f"grant select on {schema}.{table} to lazi_reverse_etl")
    with warehouse.connect_as(url, worker.ROLE, autocommit=True) as conn:
        assert enqueue.enqueue(conn, target) == records
    with psycopg.connect(url, autocommit=True) as conn:
        # the state after every record was delivered once
        conn.execute("update sync.outbound_queue set status = 'succeeded', completed_at = now()")
        conn.execute("update sync.entity_hashes set last_pushed_hash = master_hash")
        changed = conn.execute(
            f"""
            update {schema}.{table}
            set payload = jsonb_set(payload, '{{value}}', '1'),
                content_hash = md5(jsonb_set(payload, '{{value}}', '1')::text)
            where right(entity_id, 2) = '00'
            """
        ).rowcount
        conn.execute("vacuum analyze")
    with warehouse.connect_as(url, worker.ROLE, autocommit=True) as conn:
        began = time.perf_counter()
        queued = enqueue.enqueue(conn, target)
        changed_s = time.perf_counter() - began
        began = time.perf_counter()
        again = enqueue.enqueue(conn, target)
        unchanged_s = time.perf_counter() - began
    if queued != changed or again != 0:
        raise SystemExit(f"enqueue queued {queued} of {changed} changed records, then {again}")
    return {"changed": changed, "s": changed_s, "unchanged_s": unchanged_s}


# --- delivery within CallRail's limits ------------------------------------------------------


def _deliver(url: str, seconds: float) -> dict[str, int]:
    # the credentials' import (dlt) takes seconds on a busy machine: before the clock starts
    callrail.endpoint()
    options = worker.WorkerOptions(max_seconds=seconds, max_idle_wait_s=5)
    return worker.run(url, options, entity_types=["callrail_call"]).as_dict()


def limit_utilisation(url: str) -> dict[str, Any]:
    sandbox = start_sandbox(scale=200, seed=16, limits=False)
    try:
        base = sandbox.base_url("callrail")
        api_key = sandbox.world.credentials["callrail"]["api_key"]
        headers = {"Authorization": f'Token token="{api_key}"'}
        accounts = {}
        for account in sandbox.world.callrail_accounts:
            listed = httpx.get(
                f"{base}/v3/a/{account}/calls.json", params={"per_page": 250}, headers=headers
            ).json()
            accounts[account] = [call["id"] for call in listed["calls"]]
        account, calls = max(accounts.items(), key=lambda item: len(item[1]))
        limiters = sandbox.apps["callrail"].state.limiters
        for limiter in limiters.values():
            limiter.window_s /= TIME_COMPRESSION
            limiter.reset()
            limiter.enabled = True
        hour_s = limiters["hourly"].window_s
        seconds = LIMIT_WINDOWS * hour_s
        rows = 3 * limiters["hourly"].limit * LIMIT_WINDOWS  # more than can be sent
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "truncate sync.outbound_queue, sync.entity_hashes, sync.rate_buckets cascade"
            )
            conn.execute(
                "update sync.rate_limits set refill_per_s = refill_per_s * %s "
                "where vendor = 'callrail'",
                (TIME_COMPRESSION,),
            )
            conn.execute(
                """
                insert into sync.outbound_queue (
                    target_system, entity_type, entity_id, scope, operation, payload,
                    idempotency_key
                )
                select
                    'callrail',
                    'callrail_call',
                    %(account)s || '/' || (%(calls)s::text[])[n %% %(k)s + 1],
                    %(account)s,
                    'update',
                    jsonb_build_object('value', n, 'lead_status', 'good_lead'),
                    'bench-' || n
                from generate_series(0, %(rows)s - 1) as n
                order by n
                """,
                {"account": account, "calls": calls, "k": len(calls), "rows": rows},
            )
        os.environ.update(source_env(describe(sandbox)))
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            # measured from the first request on; the margin covers the second worker's start
            counts = pool.starmap(_deliver, [(url, seconds + 15)] * 2)
        with psycopg.connect(url, autocommit=True) as conn:
            answered = conn.execute(
                """
                with timed as (
                    select status_code, occurred_at,
                        min(occurred_at) over () as began
                    from audit.api_log where vendor = 'callrail'
                )
                select
                    count(*) filter (where status_code between 200 and 499
                        and status_code <> 429
                        and occurred_at < began + make_interval(secs => %s)),
                    count(*) filter (where status_code = 429)
                from timed
                """,
                (seconds,),
            ).fetchone()
            # what the buckets (sync.rate_limits, compressed) admit in the period
            admitted = conn.execute(
                "select min(capacity + refill_per_s * %s) from sync.rate_limits "
                "where vendor = 'callrail'",
                (seconds,),
            ).fetchone()[0]
        reported = httpx.get(f"{base}/_sandbox/limits").json()
    finally:
        sandbox.stop()
    allowed = min(
        limit["limit"] * math.ceil(seconds / limit["window_s"]) for limit in reported.values()
    )
    over = sum(
        max(seen - limit["limit"], 0)
        for limit in reported.values()
        for seen in limit["max_seen"].values()
    )
    return {
        "utilisation": answered[0] / allowed,
        "answered": answered[0],
        "allowed": allowed,
        "of_buckets": answered[0] / float(admitted),
        "breaches": answered[1] + over,
        "max_seen": {name: limit["max_seen"] for name, limit in reported.items()},
        "workers": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lazi-bench-retl-"))
    cluster = start_cluster(work / "pg", bin_dir=None)
    try:
        url = create_database(cluster, "benchretl")
        migrate(url)
        jobs = min(args.scale, QUEUE_JOBS_MAX)
        print(f"queue: {jobs} rows claimed and completed by two processes …", flush=True)
        rate = queue_rate(url, jobs, CLAIM_BATCH)
        single = queue_rate(url, min(jobs, 5_000), 1)
        print(f"  {rate:.0f} jobs/s (single-row claims: {single:.0f} jobs/s)", flush=True)
        print(f"enqueue after 1 % of {args.scale} records changed …", flush=True)
        enq = enqueue_after_changes(url, args.scale)
        print(f"  {enq['s']:.2f} s ({enq['unchanged_s']:.2f} s with nothing changed)", flush=True)
        print("delivery to the CallRail stand-in at its limits (two workers) …", flush=True)
        util = limit_utilisation(url)
        print(f"  {util['utilisation']:.3f} of the limit, {util['breaches']} breaches", flush=True)
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)

    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    per_load = (
        results.get("dbt_incremental_build_s")
        if results.get("dbt_scale_customers") == args.scale
        else None
    )
    results.update(
        {
            "reverse_etl_scale_records": args.scale,
            "reverse_etl_queue_jobs_per_s": round(rate),
            "reverse_etl_queue_jobs_per_s_single_claims": round(single),
            "reverse_etl_queue_jobs": jobs,
            "reverse_etl_enqueue_s": round(enq["s"], 3),
            "reverse_etl_enqueue_changed_records": enq["changed"],
            "reverse_etl_enqueue_unchanged_s": round(enq["unchanged_s"], 3),
            "reverse_etl_enqueue_to_dbt_ratio": (
                round(enq["s"] / per_load, 3) if per_load else None
            ),
            "reverse_etl_limit_utilisation": round(util["utilisation"], 3),
            "reverse_etl_limit_breaches": util["breaches"],
            "reverse_etl_limit_bucket_utilisation": round(util["of_buckets"], 3),
            "reverse_etl_limit_detail": {
                "time_compression": TIME_COMPRESSION,
                "compressed_hours": LIMIT_WINDOWS,
                "answered": util["answered"],
                "allowed": util["allowed"],
                "max_in_any_window": util["max_seen"],
                "workers": util["workers"],
            },
        }
    )
    if per_load is None:
        print("no per-load dbt build at this scale in results.json: run bench.transform first")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
