"""Push 3 (CallRail calls <- revenue) end to end: a warehouse built from the stand-ins, the
queue, the worker as lazi_reverse_etl, real HTTP to the CallRail stand-in, read back through
the CallRail API. Faults, kills and concurrency are checked by invariants, never by timing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from decimal import Decimal

import httpx
import pytest
from psycopg.types.json import Jsonb

from lazi.config import PROJECT_ROOT
from lazi.ingest import run_vendor
from lazi.reverse_etl import callrail, enqueue, queue, worker
from lazi.reverse_etl.push import push
from lazi.reverse_etl.worker import RetryPolicy, WorkerOptions
from tests.reverse_etl.conftest import (
    MERGE_RULE,
    SYNC_SELECTOR,
    callrail_base,
    clear_calls,
    connect,
    desired,
    read_calls,
    set_faults,
    statuses,
    writes,
)
from tests.transform._crm_fixtures import CrmWarehouse

FAST = WorkerOptions(retry=RetryPolicy(base_s=0.05, max_s=0.5), seed=16)
CALLRAIL = ["callrail_calls"]  # the other pushes have their own modules
NOTE_MAPPING = (
    "insert into workflow.field_mappings (source_system, source_entity, source_field, "
    "dest_system, dest_entity, dest_field) values "
    "('warehouse', 'sync_callrail_calls', 'note', 'callrail', 'calls', 'note')"
)


def run_seed() -> int:
    """LAZI_TEST_SEED replays a failed run; otherwise a new seed, named in every message and
    printed (pytest shows it with a failure)."""
    seed = int(os.environ.get("LAZI_TEST_SEED") or random.randrange(2**31))
    print(f"seed {seed} (LAZI_TEST_SEED={seed} replays this run)")
    return seed


def assert_applied(wh: CrmWarehouse, context: str = "", among: int | None = None) -> None:
    """Every desired call (or the first `among`) reads back from CallRail with the desired
    fields."""
    calls = read_calls(wh)
    for row in desired(wh)[:among]:
        call = calls[row["entity_id"]]
        payload = row["payload"]
        where = f"{row['entity_id']} {context}"
        assert Decimal(call["value"]) == Decimal(str(payload["value"])), where
        assert call["lead_status"] == payload["lead_status"], where
        assert set(payload["tags"]) <= set(call["tags"]), where
        if "note" in payload:
            assert call["note"] == payload["note"], where


def test_push_is_read_back_and_a_second_push_sends_nothing(fresh: CrmWarehouse) -> None:
    clear_calls(fresh)
    wanted = desired(fresh)
    assert len(wanted) >= 10, "the world attributes too few calls to test anything"
    assert all(row["payload"]["lead_status"] == "good_lead" for row in wanted)
    assert all(set(row["payload"]) == {"value", "lead_status", "tags"} for row in wanted)

    first = push(fresh.url, CALLRAIL, options=FAST)
    assert first["enqueued"] == {"callrail_calls": len(wanted)}
    assert first["delivery"]["succeeded"] == len(wanted)
    assert statuses(fresh) == {"succeeded": len(wanted)}
    assert_applied(fresh)
    logged = fresh.rows(
        "select account_id || '/' || call_id as entity_id, value, lead_status, tags "
        "from sync.callrail_conversion_log order by 1"
    )
    assert [row["entity_id"] for row in logged] == [row["entity_id"] for row in wanted]
    assert [row["value"] for row in logged] == [row["revenue"] for row in wanted]
    requests = fresh.rows(
        "select method, status_code, queue_id from audit.api_log where queue_id is not null"
    )
    assert len(requests) == len(wanted)
    assert {(r["method"], r["status_code"]) for r in requests} == {("PUT", 200)}

    sent = len(writes(fresh))
    second = push(fresh.url, CALLRAIL, options=FAST)
    assert second["enqueued"] == {"callrail_calls": 0}
    assert second["delivery"]["succeeded"] == 0
    assert len(writes(fresh)) == sent


def test_dry_run_counts_without_sending(fresh: CrmWarehouse) -> None:
    sent = len(writes(fresh))
    planned = push(fresh.url, CALLRAIL, dry_run=True)["plans"][0]
    assert planned["create"] == len(desired(fresh))
    assert planned["update"] == planned["skip"] == 0
    assert planned["samples"] and "value" in planned["samples"][0]["changes"]
    assert statuses(fresh) == {}
    assert len(writes(fresh)) == sent


def test_a_new_mapping_changes_the_next_push_two_workers_keep_order(
    fresh: CrmWarehouse,
) -> None:
    """Two versions of every call queued; two workers at once deliver each row once, and the
    versions of a call in queue order."""
    clear_calls(fresh)
    with connect(fresh) as conn:
        first = enqueue.enqueue(conn, callrail.CALLS)
        conn.execute(NOTE_MAPPING)
    try:
        fresh.dbt("build", "--select", *SYNC_SELECTOR)
        with connect(fresh) as conn:
            second = enqueue.enqueue(conn, callrail.CALLS)
    finally:
        with connect(fresh) as conn:
            conn.execute("delete from workflow.field_mappings where source_field = 'note'")
    wanted = desired(fresh)
    assert first == second == len(wanted)
    assert all("note" in row["payload"] for row in wanted)
    mark = len(writes(fresh))

    results: list[worker.WorkerResult] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(worker.run(fresh.url, FAST, entity_types=["callrail_call"]))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(r.counts["succeeded"] for r in results) == 2 * len(wanted)
    assert statuses(fresh) == {"succeeded": 2 * len(wanted)}

    per_call: dict[str, list[dict]] = defaultdict(list)
    for entry in writes(fresh)[mark:]:
        per_call[entry["path"]].append(entry["body"])
    assert len(per_call) == len(wanted)
    for path, bodies in per_call.items():
        assert len(bodies) == 2, path  # never delivered twice
        assert "note" not in bodies[0] and "note" in bodies[1], path  # queue order kept
    assert_applied(fresh)


def test_vendor_validation_errors_and_garbage_fail_only_their_rows(fresh: CrmWarehouse) -> None:
    wanted = desired(fresh)
    target = wanted[0]
    by_hand = [
        # (entity id, payload, expected error)
        (target["entity_id"], {"lead_status": "sold_it"}, "HTTP 422: lead_status must be one of"),
        (f"{target['account_id']}/CALnothere", {"note": "x"}, "HTTP 404: Not Found"),
        (target["entity_id"], "garbage", "invalid payload: expected a JSON object"),
        (target["entity_id"], {"colour": "blue"}, "not writable CallRail call fields: colour"),
    ]
    with connect(fresh) as conn:
        for number, (entity_id, payload, _) in enumerate(by_hand):
            conn.execute(
                "insert into sync.outbound_queue (target_system, entity_type, entity_id, scope, "
                "operation, payload, idempotency_key) values "
                "('callrail', 'callrail_call', %s, %s, 'update', %s, %s)",
                (entity_id, target["account_id"], Jsonb(payload), f"by-hand-{number}"),
            )
    result = push(fresh.url, CALLRAIL, options=FAST)
    assert result["delivery"]["succeeded"] == len(wanted)
    assert result["delivery"]["failed"] == len(by_hand)
    failed = fresh.rows(
        "select idempotency_key, status, attempts, last_error from sync.outbound_queue "
        "where idempotency_key like 'by-hand-%%' order by idempotency_key"
    )
    for row, (_, _, expected) in zip(failed, by_hand, strict=True):
        assert row["status"] == "failed" and row["attempts"] == 1, row
        assert expected in row["last_error"], row
    logged = fresh.rows(
        "select queue.idempotency_key, log.status_code from audit.api_log as log "
        "join sync.outbound_queue as queue on queue.id = log.queue_id "
        "where queue.idempotency_key like 'by-hand-%%' order by 1"
    )
    # the garbage rows were never sent
    assert [(r["idempotency_key"], r["status_code"]) for r in logged] == [
        ("by-hand-0", 422),
        ("by-hand-1", 404),
    ]
    api_key = fresh.world.credentials["callrail"]["api_key"]
    leaked = fresh.rows(
        "select count(*) as n from audit.api_log where path like %s or error like %s",
        (f"%{api_key}%", f"%{api_key}%"),
    )
    assert leaked[0]["n"] == 0


def test_faults_are_retried_until_all_delivered_within_the_limits(fresh: CrmWarehouse) -> None:
    seed = run_seed()
    clear_calls(fresh)
    set_faults(fresh, {"rate_429": 0.04, "rate_5xx": 0.04, "rate_drop": 0.02, "seed": seed})
    try:
        result = push(fresh.url, CALLRAIL, options=FAST)
    finally:
        set_faults(fresh, {})
    wanted = desired(fresh)
    assert statuses(fresh) == {"succeeded": len(wanted)}, f"seed {seed}"
    assert result["delivery"]["succeeded"] == len(wanted), f"seed {seed}"
    assert_applied(fresh, f"seed {seed}")
    codes = fresh.rows(
        "select status_code, count(*) as n from audit.api_log where queue_id is not null group by 1"
    )
    retried = sum(r["n"] for r in codes if r["status_code"] != 200)
    # over a hundred requests at 10 %: none faulted would mean the faults were never on
    assert retried > 0, f"seed {seed}"
    assert retried == result["delivery"]["retried"], f"seed {seed}"
    limits = httpx.get(f"{callrail_base(fresh)}/_sandbox/limits").json()
    for name, limit in limits.items():
        for account, seen in limit["max_seen"].items():
            assert seen <= limit["limit"], (name, account, seen)


def test_a_row_that_keeps_failing_ends_dead(fresh: CrmWarehouse) -> None:
    target = desired(fresh)[0]
    with connect(fresh) as conn:
        conn.execute(
            "insert into sync.outbound_queue (target_system, entity_type, entity_id, scope, "
            "operation, payload, idempotency_key, max_attempts) values "
            "('callrail', 'callrail_call', %s, %s, 'update', %s, 'always-503', 3)",
            (target["entity_id"], target["account_id"], Jsonb({"note": "x"})),
        )
    set_faults(fresh, {"rate_5xx": 1.0, "seed": 1})
    try:
        result = worker.run(fresh.url, FAST)
    finally:
        set_faults(fresh, {})
    row = fresh.rows("select status, attempts, last_error from sync.outbound_queue")[0]
    assert result.counts["dead"] == 1 and result.counts["retried"] == 2
    assert row["status"] == "dead" and row["attempts"] == 3
    assert row["last_error"].startswith("HTTP 5"), row


def test_rate_limit_buckets_are_shared_and_throttle_before_the_limit(
    fresh: CrmWarehouse,
) -> None:
    """Three tokens in the bucket and a negligible refill: two connections (two workers)
    together get exactly three; the fourth is told how long to wait."""
    with connect(fresh) as conn:
        conn.execute(
            "insert into sync.rate_limits (vendor, window_name, capacity, refill_per_s) "
            "values ('test_vendor', 'hour', 3, 0.001)"
        )
    try:
        with connect(fresh) as one, connect(fresh) as two:
            waits = [
                conn.execute("select sync.take_rate_token('test_vendor', 'x')").fetchone()[0]
                for conn in (one, two, one, two)
            ]
            other_scope = one.execute("select sync.take_rate_token('test_vendor', 'y')").fetchone()[
                0
            ]
    finally:
        with connect(fresh) as conn:
            conn.execute("delete from sync.rate_limits where vendor = 'test_vendor'")
    assert waits[:3] == [0, 0, 0]
    assert waits[3] > 100  # about (1 - tokens) / 0.001 s
    assert other_scope == 0


def test_killed_workers_lose_no_write_and_leave_no_row_stuck(
    fresh: CrmWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lazi push` SIGKILLed at 20 seeded random moments, then one run to the end: every
    write applied, every row delivered once in the books, nothing left in progress. Every
    other kill waits for the process's first claim, so at least ten land while rows are in
    flight (counted: the killed process's rows still in progress)."""
    seed = run_seed()
    rng = random.Random(seed)
    clear_calls(fresh)
    # A slow bucket beside the others (4 requests a second): the 20 processes cannot deliver
    # all the calls between them, so every kill finds work left.
    fresh.execute(
        "insert into sync.rate_limits (vendor, window_name, capacity, refill_per_s) "
        "values ('callrail', 'kill_test', 1, 4)"
    )
    monkeypatch.setenv("DATABASE_URL", fresh.url)
    in_flight = []
    try:
        for number in range(20):
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lazi.cli",
                    "push",
                    "--target",
                    *CALLRAIL,
                    "--lease-seconds",
                    "2",
                ],
                cwd=PROJECT_ROOT,
                env=dict(os.environ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if number % 2:
                # anywhere after its first claim: a request, a finish, a rate-limit wait
                claimed_by(fresh, process)
                time.sleep(rng.uniform(0, 1.0))
            else:
                # anywhere at all: start-up, enqueue, a claim, a request
                time.sleep(rng.uniform(0.3, 2.5))
            process.send_signal(signal.SIGKILL)
            process.wait()
            in_flight.append(len(claimed_by(fresh, process, wait=False)))
        print(f"rows in flight at each kill: {in_flight}")
        assert sum(1 for held in in_flight if held) >= 10, f"seed {seed}: {in_flight}"
        fresh.execute("delete from sync.rate_limits where window_name = 'kill_test'")
        result = push(fresh.url, CALLRAIL, options=WorkerOptions(lease_s=2, retry=FAST.retry))
    finally:
        fresh.execute("delete from sync.rate_limits where window_name = 'kill_test'")
    assert result["delivery"]["succeeded"] > 0, f"seed {seed}: the kills left nothing to do"
    wanted = desired(fresh)
    assert statuses(fresh) == {"succeeded": len(wanted)}, f"seed {seed}: {result}"
    assert_applied(fresh, f"seed {seed}")
    books = fresh.rows(
        "select count(*) as n, count(distinct queue_id) as rows from sync.callrail_conversion_log"
    )[0]
    assert books["n"] == books["rows"] == len(wanted), f"seed {seed}"
    pushed = fresh.rows(
        "select count(*) as n from sync.entity_hashes where last_pushed_hash = master_hash"
    )[0]["n"]
    assert pushed == len(wanted), f"seed {seed}"


def claimed_by(wh: CrmWarehouse, process: subprocess.Popen, *, wait: bool = True) -> list[dict]:
    """The rows `process` holds in progress (its worker id names its pid); with `wait`, the
    first moment it holds any (at most a minute: its start-up on a busy machine)."""
    deadline = time.monotonic() + 60
    while True:
        held = wh.rows(
            "select id from sync.outbound_queue where status = 'in_progress' "
            "and claimed_by like %s",
            (f"%:{process.pid}:%",),
        )
        if held or not wait:
            return held
        assert process.poll() is None, "the worker ended before claiming a row"
        assert time.monotonic() < deadline, "the worker claimed nothing within a minute"
        time.sleep(0.02)


def lazi(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lazi.cli", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_queue_commands(fresh: CrmWarehouse) -> None:
    dry = lazi("push", "--target", "callrail_calls", "--dry-run", url=fresh.url)
    assert dry.returncode == 0, dry.stderr
    assert f"callrail_calls: {len(desired(fresh))} to create, 0 to update" in dry.stdout
    with connect(fresh) as conn:
        row_id = conn.execute(
            "insert into sync.outbound_queue (target_system, entity_type, entity_id, "
            "operation, payload, idempotency_key) values "
            "('callrail', 'callrail_call', 'ACC1/CAL1', 'update', '[1, 2]', 'cli') returning id"
        ).fetchone()[0]
    worker.run(fresh.url, FAST)
    shown = lazi("queue", "status", url=fresh.url)
    assert "failed" in shown.stdout and "expected a JSON object" in shown.stdout, shown.stdout
    retried = lazi("queue", "retry", "--id", str(row_id), url=fresh.url)
    assert "1 rows back to pending" in retried.stdout, retried.stderr
    assert statuses(fresh) == {"pending": 1}
    discarded = lazi("queue", "discard", "--status", "pending", url=fresh.url)
    assert "1 rows discarded" in discarded.stdout, discarded.stderr
    assert statuses(fresh) == {"discarded": 1}
    nothing = lazi("queue", "retry", url=fresh.url)
    assert nothing.returncode == 1 and "name the rows" in nothing.stderr


def test_a_worker_that_lost_its_lease_cannot_finish_the_row(fresh: CrmWarehouse) -> None:
    """A claims with a short lease and stalls; B reclaims the row once the lease expired.
    A's finish (delivered, its hash, its conversion log row) is refused; B's is kept."""
    with connect(fresh) as conn:
        assert enqueue.enqueue(conn, callrail.CALLS) == len(desired(fresh))
        [stalled] = queue.claim(conn, "worker-a", batch_size=1, lease_s=0.05)
        reclaimed: list[queue.Claim] = []
        deadline = time.monotonic() + 30
        while not reclaimed and time.monotonic() < deadline:
            # B takes the oldest due rows first: A's row once its lease has expired
            batch = queue.claim(conn, "worker-b", batch_size=len(desired(fresh)), lease_s=60)
            reclaimed = [c for c in batch if c.id == stalled.id]
            for other in batch:
                if other.id != stalled.id:
                    queue.release(conn, other)
            if not reclaimed:
                time.sleep(0.05)
        [taken] = reclaimed
        assert taken.lease_token > stalled.lease_token
        assert taken.attempts == stalled.attempts + 1

        logged = []
        assert not queue.succeed(conn, stalled, {"by": "a"}, also=lambda c: logged.append(1))
        assert not queue.fail(conn, stalled, "a's error")
        assert queue.retry_later(conn, stalled, "a's error", 0) == "lost"
        assert not queue.renew(conn, stalled, 60)
        assert logged == []
        row = fresh.rows(
            "select status, claimed_by, last_error from sync.outbound_queue where id = %s",
            (stalled.id,),
        )[0]
        assert row == {"status": "in_progress", "claimed_by": "worker-b", "last_error": None}
        hashes = fresh.rows(
            "select count(*) as n from sync.entity_hashes where last_pushed_hash is not null"
        )
        assert hashes[0]["n"] == 0

        assert queue.succeed(conn, taken, {"by": "b"})
    pushed = fresh.rows(
        "select last_pushed_hash from sync.entity_hashes where entity_id = %s",
        (taken.entity_id,),
    )
    assert pushed == [{"last_pushed_hash": taken.content_hash}]


def test_a_persons_edit_after_the_last_read_is_kept_as_a_conflict(fresh: CrmWarehouse) -> None:
    """lead_status is keep_remote (seeded merge rule), value keep_warehouse: a person's new
    lead status survives the next push, which still writes the value, and the conflict
    holds both sides."""
    fresh.execute(MERGE_RULE.format(enabled="true"))
    try:
        run_vendor("callrail", fresh.url, full=True)  # the warehouse reads CallRail as it is
        fresh.dbt("build", "--select", "sync_callrail_calls")
        wanted = desired(fresh)
        # all but three calls delivered already (fewer requests: each is a GET and a PUT now)
        fresh.execute(
            "insert into sync.entity_hashes (entity_type, entity_id, master_hash, "
            "last_pushed_hash) select 'callrail_call', entity_id, content_hash, content_hash "
            "from marts.sync_callrail_calls where entity_id <> all(%s)",
            ([row["entity_id"] for row in wanted[:3]],),
        )
        first = push(fresh.url, CALLRAIL, options=FAST)
        assert first["delivery"]["succeeded"] == 3  # nobody edited them: no conflict
        assert first["delivery"]["conflict"] == 0
        assert_applied(fresh, among=3)
        gets = fresh.rows("select count(*) as n from audit.api_log where method = 'GET'")
        assert gets[0]["n"] == 3

        target = wanted[0]
        read = target["read_state"]["lead_status"]
        theirs = next(s for s in ("not_a_lead", "previously_marked_good_lead") if s != read)
        httpx.put(
            f"{callrail_base(fresh)}/v3/a/{target['account_id']}/calls/{target['call_id']}.json",
            json={"lead_status": theirs, "value": "1.00"},
            headers={
                "Authorization": f'Token token="{fresh.world.credentials["callrail"]["api_key"]}"'
            },
        ).raise_for_status()
        # the warehouse's desired state of that call changes (new revenue; set by hand here
        # rather than by another load and build)
        fresh.execute(
            "update marts.sync_callrail_calls set "
            "payload = jsonb_set(payload, '{value}', to_jsonb(revenue + 100)), "
            "content_hash = md5(jsonb_set(payload, '{value}', to_jsonb(revenue + 100))::text) "
            "where entity_id = %s",
            (target["entity_id"],),
        )
        [target] = [row for row in desired(fresh) if row["entity_id"] == target["entity_id"]]
        second = push(fresh.url, CALLRAIL, options=FAST)
        # a row that would write only the field the person changed: nothing is sent
        with connect(fresh) as conn:
            conn.execute(
                "insert into sync.outbound_queue (target_system, entity_type, entity_id, scope, "
                "operation, payload, read_state, idempotency_key) values ('callrail', "
                "'callrail_call', %s, %s, 'update', %s, %s, 'only-lead-status')",
                (
                    target["entity_id"],
                    target["account_id"],
                    Jsonb({"lead_status": "good_lead"}),
                    Jsonb({"lead_status": read}),
                ),
            )
        third = worker.run(fresh.url, FAST)
    finally:
        fresh.execute(MERGE_RULE.format(enabled="false"))
    assert third.counts["conflict"] == 1 and statuses(fresh)["conflict"] == 1
    assert second["enqueued"] == {"callrail_calls": 1}
    assert second["delivery"]["succeeded"] == 1
    call = read_calls(fresh)[target["entity_id"]]
    assert call["lead_status"] == theirs  # the person's judgement stands
    assert Decimal(call["value"]) == Decimal(str(target["payload"]["value"]))  # a fact wins
    conflict, only_lead_status = fresh.rows("select * from sync.conflicts order by id")
    assert conflict["entity_id"] == target["entity_id"]
    assert conflict["conflict_type"] == "remote_modified" and conflict["resolved_at"] is None
    assert conflict["st_data"] == {"lead_status": theirs}
    assert conflict["crm_data"] == {"lead_status": {"warehouse": "good_lead", "last_read": read}}
    sent = fresh.rows(
        "select lead_status, sent_fields from sync.callrail_conversion_log where queue_id = %s",
        (conflict["queue_id"],),
    )
    assert sent[0]["lead_status"] is None and "lead_status" not in sent[0]["sent_fields"]

    # resolved from the CLI: the warehouse's value for one, the person's for the other
    listed = lazi("conflicts", "list", url=fresh.url)
    assert f"#{conflict['id']} callrail callrail_call {target['entity_id']}" in listed.stdout
    chosen = lazi("conflicts", "resolve", str(conflict["id"]), "--keep", "warehouse", url=fresh.url)
    assert "will write the warehouse's value" in chosen.stdout, chosen.stderr
    other = str(only_lead_status["id"])
    kept = lazi("conflicts", "resolve", other, "--keep", "remote", url=fresh.url)
    assert kept.returncode == 0 and "will write" not in kept.stdout, kept.stderr
    assert "no open conflicts" in lazi("conflicts", "list", url=fresh.url).stdout
    fresh.execute(MERGE_RULE.format(enabled="true"))
    try:
        resolved = worker.run(fresh.url, FAST)
    finally:
        fresh.execute(MERGE_RULE.format(enabled="false"))
    assert resolved.counts["succeeded"] == 1
    assert read_calls(fresh)[target["entity_id"]]["lead_status"] == "good_lead"
    closed = fresh.rows("select resolution from sync.conflicts order by id")
    assert [row["resolution"] for row in closed] == ["keep_crm", "keep_remote"]
