"""Shared sandbox machinery: limiter, faults, write log and the in-process server runner."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from lazi.sandbox.common import (
    FaultConfig,
    FaultInjector,
    SlidingWindowLimiter,
    WriteLog,
    drop_connection,
    send_truncated,
    serve_in_thread,
)


def test_limiter_admits_limit_then_reports_wait() -> None:
    limiter = SlidingWindowLimiter(5, 0.5)
    assert all(limiter.try_acquire("k") is None for _ in range(5))
    wait = limiter.try_acquire("k")
    assert wait is not None and 0 < wait <= 0.5
    assert limiter.try_acquire("other") is None  # keys are independent
    time.sleep(wait + 0.01)
    assert limiter.try_acquire("k") is None
    assert limiter.max_in_any_window("k") == 5


def test_limiter_never_exceeds_limit_in_any_window_under_threads() -> None:
    limiter = SlidingWindowLimiter(20, 0.2)
    admitted: list[float] = []
    lock = threading.Lock()

    def hammer() -> None:
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:
            if limiter.try_acquire("k") is None:
                with lock:
                    admitted.append(time.monotonic())

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    admitted.sort()
    # Independent check over the observed admission times; they are taken just after the
    # limiter's own clock reading, so allow a few ms of skew at the window edges.
    worst = max(sum(1 for b in admitted[i:] if b - a < 0.19) for i, a in enumerate(admitted))
    assert worst <= 20
    assert limiter.max_in_any_window("k") == 20


def test_disabled_limiter_admits_everything_but_still_counts() -> None:
    limiter = SlidingWindowLimiter(2, 1.0)
    limiter.enabled = False
    assert all(limiter.try_acquire("k") is None for _ in range(10))
    assert limiter.max_in_any_window("k") == 10


def test_fault_config_from_dict_env_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    assert FaultConfig.from_dict({"rate_429": "0.5", "seed": "3"}) == FaultConfig(
        rate_429=0.5, seed=3
    )
    with pytest.raises(ValueError, match="unknown"):
        FaultConfig.from_dict({"rate_42": 1})
    with pytest.raises(ValueError):
        FaultConfig.from_dict({"rate_429": 0.7, "rate_5xx": 0.7})
    monkeypatch.setenv("X_RATE_DROP", "0.25")
    monkeypatch.setenv("X_SLOW_S", "0.1")
    assert FaultConfig.from_env("X_") == FaultConfig(rate_drop=0.25, slow_s=0.1)


def test_fault_injector_is_deterministic_and_roughly_proportional() -> None:
    config = FaultConfig(rate_429=0.2, rate_5xx=0.3, seed=11)
    first = FaultInjector(config).pick()
    a, b = FaultInjector(config), FaultInjector(config)
    picks = [a.pick() for _ in range(2000)]
    assert picks == [b.pick() for _ in range(2000)]
    assert first == picks[0]
    assert 300 < picks.count("429") < 500
    assert 500 < sum(picks.count(k) for k in ("500", "502", "503")) < 700
    assert FaultInjector(FaultConfig()).pick() is None
    every = FaultInjector(FaultConfig(rate_truncate=1.0))
    assert {every.pick() for _ in range(20)} == {"truncate"}


def test_write_log_records_and_filters() -> None:
    log = WriteLog()
    log.record("servicetitan", "patch", "/a", {"x": 1}, 200)
    log.record("callrail", "PUT", "/b", None, 200)
    entries = log.entries("servicetitan")
    assert [e["method"] for e in entries] == ["PATCH"]
    assert entries[0]["body"] == {"x": 1} and entries[0]["seq"] == 1
    assert len(log.entries()) == 2


async def _raw_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["path"] == "/drop":
        await drop_connection(scope)
        return
    if scope["path"] == "/truncate":
        await send_truncated(
            scope, send, 200, [(b"content-type", b"application/json")], b'{"a": 12345}'
        )
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_serve_in_thread_drop_and_truncate_over_real_sockets() -> None:
    server = serve_in_thread(_raw_app)
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=server.base_url) as http:
            assert http.get("/").text == "ok"
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                http.get("/drop")
            with pytest.raises(httpx.RemoteProtocolError, match=r"complete message body"):
                http.get("/truncate")
            assert http.get("/").text == "ok"  # the server survives both
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url, timeout=2)
