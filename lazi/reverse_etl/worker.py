"""The delivery loop: claim a batch, and for each row wait for the vendor's rate limit, send
it, log the request, then finish the row (delivered, retry later, failed, dead), each finish
conditional on the row's lease. Runs as the lazi_reverse_etl role.

Retries live in the queue, not in this process: a row to retry goes back to pending with
`next_attempt_at` after an exponential backoff with jitter (or the vendor's Retry-After, if
longer), so other rows go on meanwhile and a kill loses nothing."""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import psycopg

from lazi.config import mask_secrets
from lazi.db import warehouse
from lazi.reverse_etl import audit, conflicts, delivery, queue, rate_limit
from lazi.reverse_etl.targets import InvalidPayload, Target, by_entity

log = logging.getLogger("lazi.reverse_etl")
ROLE = "lazi_reverse_etl"


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 2.0
    max_s: float = 900.0

    def delay(self, attempts: int, retry_after_s: float | None, rng: random.Random) -> float:
        backoff = min(self.max_s, self.base_s * 2 ** max(attempts - 1, 0))
        return max(retry_after_s or 0.0, backoff * (0.5 + rng.random() / 2))


@dataclass(frozen=True)
class WorkerOptions:
    batch_size: int = 20
    lease_s: float = 120.0
    timeout_s: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_seconds: float | None = None  # stop (handing back unsent claims) after this long
    # With nothing due, wait for a retry or an expired lease at most this long; rows due
    # later are left to the next run.
    max_idle_wait_s: float = 60.0
    seed: int | None = None  # of the jitter


@dataclass
class WorkerResult:
    worker_id: str
    # succeeded/conflict/failed/dead/retried/lost
    counts: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, int]:
        keys = ("succeeded", "conflict", "failed", "dead", "retried", "lost")
        return {key: self.counts.get(key, 0) for key in keys}


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run(
    url: str,
    options: WorkerOptions | None = None,
    *,
    entity_types: Sequence[str] | None = None,
    worker_id: str | None = None,
) -> WorkerResult:
    """Deliver due rows until none is open or due soon (or `max_seconds` passed)."""
    options = options or WorkerOptions()
    result = WorkerResult(worker_id or new_worker_id())
    rng = random.Random(options.seed)  # noqa: S311 - jitter, not secrets
    cache: dict[str, Any] = {}  # per target: endpoint and merge rules, read once a run
    deadline = None if options.max_seconds is None else time.monotonic() + options.max_seconds
    with (
        warehouse.connect_as(url, ROLE, autocommit=True) as conn,
        httpx.Client(timeout=options.timeout_s, follow_redirects=False) as http,
    ):
        while deadline is None or time.monotonic() < deadline:
            claims = queue.claim(
                conn,
                result.worker_id,
                batch_size=options.batch_size,
                lease_s=options.lease_s,
                entity_types=entity_types,
            )
            if not claims:
                wait = queue.seconds_to_next(conn, entity_types)
                if wait is None or wait > options.max_idle_wait_s:
                    break
                left = None if deadline is None else deadline - time.monotonic()
                time.sleep(max(0.02, min(wait, 1.0, left if left is not None else 1.0)))
                continue
            for index, held in enumerate(claims):
                if deadline is not None and time.monotonic() >= deadline:
                    for unsent in claims[index:]:
                        queue.release(conn, unsent)
                    break
                try:
                    outcome = _deliver(conn, http, held, options, rng, cache)
                except BaseException:
                    for unsent in claims[index:]:
                        queue.release(conn, unsent)
                    raise
                result.counts[outcome] += 1
    log.info("worker %s: %s", result.worker_id, result.as_dict())
    return result


def _deliver(
    conn: psycopg.Connection,
    http: httpx.Client,
    held: queue.Claim,
    options: WorkerOptions,
    rng: random.Random,
    cache: dict[str, Any],
) -> str:
    target = by_entity(held.target_system, held.entity_type)
    if target is None:
        message = f"no push delivers {held.target_system} {held.entity_type!r} rows"
        return "failed" if queue.fail(conn, held, message) else "lost"
    if target.name not in cache:
        # a LaziError (no credentials) stops the run
        cache[target.name] = (target.endpoint(), conflicts.strategies(conn, target))
    endpoint, rules = cache[target.name]
    try:
        request = target.request(held, endpoint)
        read = target.current(held, endpoint) if target.current else None
    except InvalidPayload as exc:
        return _failed(conn, held, target, f"invalid payload: {exc}")
    if target.prepare is not None:
        try:
            stopped = target.prepare(
                held, endpoint, lambda req: _send(conn, http, held, target, req, options)
            )
        except queue.LeaseLost:
            return "lost"
        if stopped is not None:
            return _not_delivered(conn, held, target, stopped, options, rng)
    found = conflicts.Found()
    guarded = [name for name in request.body or {} if rules.get(name) in conflicts.GUARDED]
    if read is not None and guarded:
        answer = _send(conn, http, held, target, read, options)
        if answer is None:
            return "lost"
        if answer.kind != "done":
            return _not_delivered(conn, held, target, answer, options, rng)
        found = conflicts.detect(
            request.body,
            guarded,
            target.current_fields(answer.response),
            held.read_state,
            queue.last_delivered(conn, held),
            target.same,
        )
        if found.remote:
            body = {k: v for k, v in request.body.items() if k not in found.remote}
            if not set(body) - {"append_tags"}:
                kept = queue.keep_remote(conn, held, lambda c: conflicts.record(c, held, found))
                return "conflict" if kept else "lost"
            request = replace(request, body=body)
    outcome = _send(conn, http, held, target, request, options)
    if outcome is None:
        return "lost"
    if outcome.kind != "done":
        return _not_delivered(conn, held, target, outcome, options, rng)

    def books(c: psycopg.Connection) -> None:
        if found.remote:
            conflicts.record(c, held, found)
        if target.delivered is not None:
            target.delivered(c, held, request.body, outcome.response)

    return "succeeded" if queue.succeed(conn, held, outcome.response, books) else "lost"


def _send(
    conn: psycopg.Connection,
    http: httpx.Client,
    held: queue.Claim,
    target: Target,
    request: delivery.Request,
    options: WorkerOptions,
) -> delivery.Outcome | None:
    """Wait for the rate limit, send, log; None when the lease was lost meanwhile."""
    if not rate_limit.acquire(
        conn,
        target.vendor,
        held.scope,
        while_waiting=lambda: queue.renew(conn, held, options.lease_s),
    ) or not queue.renew(conn, held, options.lease_s):
        return None
    outcome = delivery.send(http, request)
    audit.log_request(conn, target.vendor, held.scope, held.id, outcome)
    return outcome


def _failed(conn: psycopg.Connection, held: queue.Claim, target: Target, message: str) -> str:
    hook = target.rejected
    also = None if hook is None else (lambda c: hook(c, held, message))
    return "failed" if queue.fail(conn, held, message, also) else "lost"


def _not_delivered(
    conn: psycopg.Connection,
    held: queue.Claim,
    target: Target,
    outcome: delivery.Outcome,
    options: WorkerOptions,
    rng: random.Random,
) -> str:
    message = mask_secrets(outcome.message)
    if outcome.kind == "failed":
        return _failed(conn, held, target, message)
    delay = options.retry.delay(held.attempts, outcome.retry_after_s, rng)
    status = queue.retry_later(conn, held, message, delay)
    return {"pending": "retried"}.get(status, status)
