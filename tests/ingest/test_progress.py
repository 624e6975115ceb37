"""Live progress of `lazi sync` when its output is not a terminal: plain lines per endpoint that
come while the sync works, and whose last counts are the ones its summary reports."""

from __future__ import annotations

import os
import re
import threading
import time
from collections import defaultdict
from typing import IO

import psycopg

from tests.ingest.conftest import sync_process
from tests.ingest.test_concurrent_vendors import waiting_on_a_lock

PROGRESS = re.compile(
    r"^progress gohighlevel (?P<table>\w+): (?P<done>[\d,]+)(?:/(?P<total>[\d,]+))? records, "
    r"[\d,]+/s(?P<rest>.*)$"
)
ENDPOINT = re.compile(r"^  (?P<table>\w+)\s+\S+\s+fetched\s+(?P<fetched>\d+) ")


def number(text: str) -> int:
    return int(text.replace(",", ""))


def collect(stream: IO[str], kept: list[str]) -> None:
    for line in stream:
        kept.append(line)


def contact_counts(lines: list[str]) -> list[int]:
    matches = (PROGRESS.match(line) for line in list(lines))
    return [number(m["done"]) for m in matches if m and m["table"] == "ghl_contacts"]


def test_sync_prints_progress_per_endpoint_while_it_runs(
    warehouse: str, configured: dict[str, str]
) -> None:
    # Another load creating dlt's tables holds the sync at its first load, after it fetched
    # the first package: whatever progress comes out meanwhile came out while it ran.
    rival = psycopg.connect(warehouse)
    rival.execute("set role lazi_loader")
    rival.execute(
        "create table raw._dlt_loads (load_id varchar(64) not null, schema_name varchar, "
        "status bigint not null, inserted_at timestamptz not null, schema_version_hash varchar)"
    )
    env = {
        **os.environ,
        "DATABASE_URL": warehouse,
        "LAZI_PROGRESS_INTERVAL": "0.05",
        # Small pages and packages: while the first package's load is held, the feeds stop once
        # they hold a package's worth, far short of every contact.
        "SOURCES__GOHIGHLEVEL__CONTACTS_PAGE_LIMIT": "10",
        "LAZI_PACKAGE_MB": "0.02",
    }
    sync = sync_process("gohighlevel", env, merge_output=False)
    assert sync.stdout is not None and sync.stderr is not None
    lines: list[str] = []
    errors: list[str] = []
    # Each pipe has exactly one reader for the whole run: communicate() beside a thread reading
    # stdout would take lines from it at random (a lost "done" or summary line).
    readers = [
        threading.Thread(target=collect, args=(stream, kept), daemon=True)
        for stream, kept in ((sync.stdout, lines), (sync.stderr, errors))
    ]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + 120
        while not waiting_on_a_lock(warehouse):
            assert sync.poll() is None, (lines, errors)
            assert time.monotonic() < deadline, "the sync never reached its first load"
            time.sleep(0.05)
        while not (held := contact_counts(lines)):
            assert time.monotonic() < deadline, f"no progress while held: {lines}"
            time.sleep(0.05)
        assert waiting_on_a_lock(warehouse), "the sync went on before its progress was read"
        assert not any(ENDPOINT.match(line) for line in list(lines))
        rival.rollback()
        sync.wait(timeout=300)
    finally:
        rival.close()
        if sync.poll() is None:
            sync.kill()
    for reader in readers:
        reader.join(timeout=10)
        assert not reader.is_alive(), "the sync's output never ended"
    sync.stdout.close()
    sync.stderr.close()
    assert sync.returncode == 0, "".join(errors)[-3000:]
    # All of it was read: the vendor's total is the last line the sync prints.
    assert lines and lines[-1].startswith("gohighlevel: "), lines[-5:]

    progress: dict[str, list[re.Match[str]]] = defaultdict(list)
    fetched: dict[str, int] = defaultdict(int)
    last_progress = first_summary = None
    for index, line in enumerate(lines):
        if match := PROGRESS.match(line.rstrip("\n")):
            progress[match["table"]].append(match)
            last_progress = index
        elif match := ENDPOINT.match(line):
            fetched[match["table"]] += int(match["fetched"])
            first_summary = index if first_summary is None else first_summary
    assert last_progress is not None and first_summary is not None, lines
    assert last_progress < first_summary, "progress must end before the summary"

    assert held[-1] < fetched["ghl_contacts"], (held, fetched)
    with_records = {table for table, count in fetched.items() if count}
    assert with_records >= {"ghl_contacts", "ghl_opportunities"}, fetched
    assert set(progress) == with_records, (sorted(progress), fetched)
    for table, matches in progress.items():
        counts = [number(m["done"]) for m in matches]
        assert counts == sorted(counts), (table, counts)
        assert counts[-1] == fetched[table], (table, counts, fetched[table])
        assert matches[-1]["rest"] == ", done", matches[-1].group(0)
        assert all("done" not in m["rest"] for m in matches[:-1]), table
    # GoHighLevel's searches say how many records they hold: a bar and an ETA on the way
    contacts = progress["ghl_contacts"]
    assert all(m["total"] for m in contacts), [m.group(0) for m in contacts]
    assert number(contacts[-1]["total"]) == fetched["ghl_contacts"]
    for match in contacts[:-1]:
        assert re.fullmatch(r", \d+% eta (?:[\d:]+|-)", match["rest"]), match.group(0)
