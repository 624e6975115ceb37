"""Ingestion benchmark: backfill ServiceTitan customers, locations and jobs from the stand-in
(rate limits lifted, its own process), then the COPY ceiling on the same records, then an
incremental run after about 1 % of the records changed.

    python -m bench.ingest --scale 1000000       (make bench runs this and bench.transform)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from lazi.config import PROJECT_ROOT
from lazi.db.migrate import migrate
from lazi.db.scratch import create_database, start_cluster
from lazi.ingest import source_env

TABLES = ("st_customers", "st_locations", "st_jobs")
RESULTS = PROJECT_ROOT / "bench" / "results.json"


def start_stand_ins(
    scale: int, *, export_cache: bool = True
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """The stand-ins in their own process, limits lifted, ServiceTitan's export pages 5,000
    long. The export cache keeps every page the stand-in rendered (for a timed second read);
    at 1M customers it holds gigabytes."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lazi.cli",
            "sandbox",
            "serve",
            "--scale",
            str(scale),
            "--json",
            "--no-limits",
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    base = info["servicetitan"]["base_url"]
    httpx.post(
        f"{base}/_sandbox/config", json={"export_page_size": 5000, "export_cache": export_cache}
    ).raise_for_status()
    return proc, info


EXPORTS = {
    "st_customers": "crm/v2/tenant/{}/export/customers",
    "st_locations": "crm/v2/tenant/{}/export/locations",
    "st_jobs": "jpm/v2/tenant/{}/export/jobs",
}


def warm(info: dict[str, Any]) -> tuple[int, float]:
    """Walk every export page once, untimed for the pipeline: the stand-in renders and caches
    them, so the timed backfill measures our client, not the stand-in's record generator.
    Returns (records, seconds): the stand-in's own serving rate, cold."""
    st = info["servicetitan"]
    total, began = 0, time.perf_counter()
    with httpx.Client(timeout=600) as client:
        for tenant, cred in st["tenants"].items():
            token = client.post(
                st["auth_url"], data={"grant_type": "client_credentials", **cred}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "ST-App-Key": st["app_key"]}
            for path in EXPORTS.values():
                start = None
                while True:
                    body = client.get(
                        f"{st['base_url']}/{path.format(tenant)}",
                        params={"from": start} if start else {},
                        headers=headers,
                    ).json()
                    total += len(body["data"])
                    start = body["continueFrom"]
                    if not body["hasMore"]:
                        break
    return total, time.perf_counter() - began


def timed_sync(env: dict[str, str], *extra: str) -> tuple[float, float, str]:
    """Run `lazi sync servicetitan` as its own process: wall time, its peak RSS, output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "lazi.cli", "sync", "servicetitan", *extra],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"sync failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far; the sync is the largest we run.
    return seconds, max(peak, before) / 1024, result.stdout


def copy_ceiling(url: str) -> tuple[int, float]:
    """PostgreSQL alone: COPY the same rows (already serialized) into an equivalent table, one
    stream, on a quiet server: raw is vacuumed first, so that no autovacuum of the tables just
    loaded runs beside the measurement."""
    total, seconds = 0, 0.0
    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f"vacuum (analyze) raw.{table}")
        for table in TABLES:
            buffer = io.BytesIO()
            with conn.cursor().copy(f"copy (select * from raw.{table}) to stdout") as out:
                for chunk in out:
                    buffer.write(chunk)
            conn.execute(f"create table raw.{table}_ceiling (like raw.{table})")
            data = buffer.getvalue()
            began = time.perf_counter()
            with conn.cursor().copy(f"copy raw.{table}_ceiling from stdin") as into:
                for start in range(0, len(data), 1 << 20):
                    into.write(data[start : start + (1 << 20)])
            seconds += time.perf_counter() - began
            total += conn.execute(f"select count(*) from raw.{table}_ceiling").fetchone()[0]
            conn.execute(f"drop table raw.{table}_ceiling")
    return total, seconds


def _steps(output: str) -> str:
    """The sync's own account of where its time went (its summary line)."""
    return next((line for line in output.splitlines() if line.startswith("servicetitan:")), "")


def count_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        return sum(conn.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in TABLES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lazi-bench-"))
    cluster = start_cluster(work / "pg", bin_dir=None)
    stand_ins, info = start_stand_ins(args.scale)
    try:
        url = create_database(cluster, "bench")
        migrate(url)
        env = {
            **os.environ,
            **source_env(info),
            "DATABASE_URL": url,
            "LAZI_STATE_DIR": str(work / "state"),
            "SOURCES__SERVICETITAN__ENDPOINTS": json.dumps(list(TABLES)),
        }
        print(f"warming the stand-in's export pages at scale {args.scale} …", flush=True)
        served, serve_s = warm(info)
        print(f"  stand-in served {served} records cold at {served / serve_s:.0f}/s", flush=True)
        print(f"backfill of {', '.join(TABLES)} …", flush=True)
        backfill_s, peak_mb, output = timed_sync(env)
        records = count_rows(url)
        print(f"  {records} records in {backfill_s:.1f} s, peak RSS {peak_mb:.0f} MB", flush=True)
        print(f"  {_steps(output)}", flush=True)
        ceiling_records, ceiling_s = copy_ceiling(url)
        print(f"  COPY ceiling: {ceiling_records} rows in {ceiling_s:.1f} s", flush=True)

        base = info["servicetitan"]["base_url"]
        target = records // 100
        changed = 0
        while changed < target:
            changes = httpx.post(f"{base}/_sandbox/advance", params={"hours": 6}, timeout=600)
            changes.raise_for_status()
            changed += sum(
                n
                for key, n in changes.json()["changes"].items()
                if key.split("/")[1] in {t.removeprefix("st_") for t in TABLES}
            )
        print(f"incremental after {changed} changes ({changed / records:.2%}) …", flush=True)
        incremental_s, _, output = timed_sync(env)
        print(f"  {incremental_s:.1f} s; {_steps(output)}", flush=True)
    finally:
        stand_ins.terminate()
        stand_ins.wait(30)
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(
        {
            "ingest_scale_customers": args.scale,
            "ingest_records": records,
            "ingest_backfill_s": round(backfill_s, 2),
            "ingest_records_per_s": round(records / backfill_s),
            "copy_ceiling_records_per_s": round(ceiling_records / ceiling_s),
            "ingest_to_ceiling_ratio": round(
                (records / backfill_s) / (ceiling_records / ceiling_s), 3
            ),
            "ingest_peak_rss_mb": round(peak_mb),
            "stand_in_cold_records_per_s": round(served / serve_s),
            "incremental_changed_records": changed,
            "incremental_s": round(incremental_s, 2),
            "incremental_to_backfill_time_ratio": round(incremental_s / backfill_s, 4),
        }
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
