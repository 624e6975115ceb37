"""The GoHighLevel webhook receiver over real HTTP on loopback, storing into a real PostgreSQL."""

from __future__ import annotations

import base64
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

from dlt_pipelines.gohighlevel.webhooks import PATH, create_webhook_app
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
