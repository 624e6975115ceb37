"""The GoHighLevel webhook receiver over real HTTP on loopback, storing into a real PostgreSQL."""

from __future__ import annotations

import base64
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson
import psycopg
import pytest
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from dlt_pipelines.gohighlevel.webhooks import MAX_BODY_BYTES, PATH, create_webhook_app
from tests.conftest import free_port


@pytest.fixture(scope="module")
def key_pair() -> tuple[rsa.RSAPrivateKey, str]:
    """Our own key pair stands in for GHL's (whose private half only GHL holds)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public_pem


def sign(private: rsa.RSAPrivateKey, body: bytes) -> str:
    return base64.b64encode(private.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def serve(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the receiver did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def receiver(warehouse: str, key_pair: tuple[rsa.RSAPrivateKey, str]) -> Iterator[str]:
    yield from serve(create_webhook_app(warehouse, key_pair[1]))


def event(webhook_id: str = "wh-1", **extra: Any) -> dict[str, Any]:
    return {
        "type": "ContactCreate",
        "locationId": "loc-1",
        "id": "contact-1",
        "firstName": "Ada",
        "tags": ["lead"],
        "timestamp": "2025-01-28T14:35:00Z",
        "webhookId": webhook_id,
        **extra,
    }


def post(url: str, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["x-wh-signature"] = signature
    return httpx.post(f"{url}{PATH}", content=body, headers=headers)


def stored(warehouse: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(warehouse) as conn:
        return conn.execute(
            "select webhook_id, location_id, event_type, full_data, received_at "
            "from raw.ghl_webhook_events order by webhook_id"
        ).fetchall()


def test_signed_event_is_stored_once(
    receiver: str, warehouse: str, key_pair: tuple[rsa.RSAPrivateKey, str]
) -> None:
    body = orjson.dumps(event())
    first = post(receiver, body, sign(key_pair[0], body))
    assert first.status_code == 200 and first.json()["status"] == "stored"
    again = post(receiver, body, sign(key_pair[0], body))  # GHL redelivers
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    [(webhook_id, location, kind, data, received_at)] = stored(warehouse)
    assert (webhook_id, location, kind) == ("wh-1", "loc-1", "ContactCreate")
    assert data == event() and received_at is not None


def test_concurrent_redeliveries_store_one_row(
    receiver: str, warehouse: str, key_pair: tuple[rsa.RSAPrivateKey, str]
) -> None:
    body = orjson.dumps(event("wh-race", type="OpportunityStageUpdate"))
    signature = sign(key_pair[0], body)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(receiver, body, signature), range(16)))
    assert all(a.status_code == 200 for a in answers)
    assert sorted(a.json()["status"] for a in answers).count("stored") == 1
    assert [row[0] for row in stored(warehouse)] == ["wh-race"]


@pytest.mark.parametrize(
    "problem", ["missing", "not base64", "other key", "tampered body", "signed other body"]
)
def test_bad_signatures_are_rejected_with_401_and_not_stored(
    receiver: str, warehouse: str, key_pair: tuple[rsa.RSAPrivateKey, str], problem: str
) -> None:
    body = orjson.dumps(event())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signature, sent = {
        "missing": (None, body),
        "not base64": ("%%% not base64 %%%", body),
        "other key": (sign(stranger, body), body),
        "tampered body": (sign(key_pair[0], body), body.replace(b"Ada", b"Eve")),
        "signed other body": (sign(key_pair[0], orjson.dumps(event("wh-2"))), body),
    }[problem]
    answer = post(receiver, sent, signature)
    assert answer.status_code == 401
    assert stored(warehouse) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        orjson.dumps({"type": "ContactCreate", "locationId": "loc-1"}),  # no webhookId
        orjson.dumps({"webhookId": "wh-3", "locationId": "loc-1"}),  # no type
        orjson.dumps({**event(), "webhookId": 42}),
        orjson.dumps({**event(), "locationId": ["loc-1"]}),
    ],
)
def test_malformed_bodies_are_rejected_with_400_and_not_stored(
    receiver: str, warehouse: str, key_pair: tuple[rsa.RSAPrivateKey, str], body: bytes
) -> None:
    answer = post(receiver, body, sign(key_pair[0], body))
    assert answer.status_code == 400
    assert stored(warehouse) == []


def test_default_key_is_ghls_published_key(
    warehouse: str, key_pair: tuple[rsa.RSAPrivateKey, str]
) -> None:
    body = orjson.dumps(event())
    for url in serve(create_webhook_app(warehouse)):
        assert post(url, body, sign(key_pair[0], body)).status_code == 401
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}


def test_receiver_creates_its_table_as_the_loader_when_missing(
    warehouse: str, key_pair: tuple[rsa.RSAPrivateKey, str]
) -> None:
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute("drop table raw.ghl_webhook_events")
    body = orjson.dumps(event("wh-new"))
    for url in serve(create_webhook_app(warehouse, key_pair[1])):
        assert post(url, body, sign(key_pair[0], body)).json()["status"] == "stored"
    with psycopg.connect(warehouse) as conn:
        owner = conn.execute(
            "select tableowner from pg_tables "
            "where schemaname = 'raw' and tablename = 'ghl_webhook_events'"
        ).fetchone()[0]
    assert owner == "lazi_loader"
    assert [row[0] for row in stored(warehouse)] == ["wh-new"]


def test_migration_creates_the_table_with_loader_grants(warehouse: str) -> None:
    with psycopg.connect(warehouse) as conn:
        columns = conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'ghl_webhook_events' "
            "order by ordinal_position"
        ).fetchall()
        can_insert = conn.execute(
            "select has_table_privilege('lazi_loader', 'raw.ghl_webhook_events', 'insert'), "
            "has_table_privilege('lazi_transformer', 'raw.ghl_webhook_events', 'select')"
        ).fetchone()
    assert columns == [
        ("webhook_id", "text"),
        ("location_id", "text"),
        ("event_type", "text"),
        ("received_at", "timestamp with time zone"),
        ("full_data", "jsonb"),
    ]
    assert can_insert == (True, True)


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in kB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        fields = dict(line.split(":", 1) for line in status)
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


def send_chunked(port: int, total: int, chunk_size: int = 1 << 20) -> tuple[bytes, int]:
    """POST up to `total` bytes as a chunked body, stopping as soon as the server answers or
    shuts the connection; returns (status line, bytes of body sent)."""
    chunk = b"%x\r\n" % chunk_size + b"x" * chunk_size + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        try:
            while sent < total and not select.select([conn], [], [], 0)[0]:
                conn.sendall(chunk)
                sent += chunk_size
            if sent >= total:
                conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: its answer is in our receive buffer
        answer = b""
        while b"\r\n" not in answer:
            try:
                data = conn.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
    return answer.split(b"\r\n", 1)[0], sent


def test_chunked_oversize_body_is_refused_without_reading_it(
    warehouse: str, key_pair: tuple[rsa.RSAPrivateKey, str], tmp_path: Any
) -> None:
    """A chunked body declares no length: the receiver must stop reading at the limit, not
    hold the body in memory first (`lazi webhooks serve` as its own process, memory from
    /proc)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": warehouse,
        "SOURCES__GOHIGHLEVEL__WEBHOOK_PUBLIC_KEY": key_pair[1],
        "LAZI_STATE_DIR": str(tmp_path),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "lazi.cli", "webhooks", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the receiver exited"
            assert time.monotonic() < deadline, "the receiver did not start"
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        body = orjson.dumps(event("wh-warm"))  # every lazy import and connection made
        assert post(url, body, sign(key_pair[0], body)).status_code == 200
        before = memory_kb(server.pid)
        total = 256 * MAX_BODY_BYTES
        status, sent = send_chunked(port, total)
        after = memory_kb(server.pid)
        assert status.startswith(b"HTTP/1.1 413"), status
        growth_mb = (after["VmHWM"] - before["VmRSS"]) / 1024
        assert growth_mb < 32, f"the receiver grew {growth_mb:.0f} MB for a {total >> 20} MB body"
        assert sent < total  # the receiver stopped reading long before the end
        assert post(url, body, sign(key_pair[0], body)).json()["status"] == "duplicate"
    finally:
        server.terminate()
        server.wait(30)
    assert [row[0] for row in stored(warehouse)] == ["wh-warm"]


def lock_waiters(conn: psycopg.Connection[Any]) -> int:
    return conn.execute(
        "select count(*) from pg_stat_activity "
        "where datname = current_database() and wait_event_type = 'Lock'"
    ).fetchone()[0]


def test_requests_beyond_the_concurrency_bound_wait_unread(
    warehouse: str, key_pair: tuple[rsa.RSAPrivateKey, str]
) -> None:
    """While max_concurrent requests are being handled (here: their inserts wait on a lock the
    test holds), another is not read at all, so memory holds at most that many bodies however
    many senders there are; it is handled once a slot frees."""
    bodies = [orjson.dumps(event(f"wh-{n}")) for n in range(3)]
    with (
        psycopg.connect(warehouse) as locker,
        psycopg.connect(warehouse, autocommit=True) as watcher,
        ThreadPoolExecutor(3) as pool,
    ):
        locker.execute("lock table raw.ghl_webhook_events in exclusive mode")
        for url in serve(create_webhook_app(warehouse, key_pair[1], max_concurrent=2)):
            signed = [(url, body, sign(key_pair[0], body)) for body in bodies]
            first_two = [pool.submit(post, *request) for request in signed[:2]]
            deadline = time.monotonic() + 30
            while lock_waiters(watcher) < 2:
                assert time.monotonic() < deadline, "the first two inserts never started"
                time.sleep(0.05)
            third = pool.submit(post, *signed[2])
            time.sleep(1)  # room for a third insert to start, which it must not
            assert lock_waiters(watcher) == 2 and not third.done()
            locker.commit()
            answers = [future.result(timeout=60) for future in (*first_two, third)]
    assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "stored")] * 3
    assert [row[0] for row in stored(warehouse)] == ["wh-0", "wh-1", "wh-2"]
