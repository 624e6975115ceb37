"""Millisecond timestamps and the vendors' wire formats for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def to_ms(ts: datetime) -> int:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (ts - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


@lru_cache(maxsize=4096)
def _day_prefix(day: int) -> str:
    return f"{EPOCH + timedelta(days=day):%Y-%m-%d}T"


def iso_z(ms: int) -> str:
    """ServiceTitan / GoHighLevel style: UTC, millisecond precision, 'Z' suffix."""
    # hot path (several per record): integer arithmetic beats datetime formatting 3x
    day, rest = divmod(ms, DAY)
    h, rest = divmod(rest, HOUR)
    m, rest = divmod(rest, MINUTE)
    s, milli = divmod(rest, SECOND)
    return f"{_day_prefix(day)}{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def iso_date(ms: int) -> str:
    return f"{EPOCH + timedelta(milliseconds=ms):%Y-%m-%d}"


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def iso_local(ms: int, zone: str) -> str:
    """CallRail style: local wall time of the company with its UTC offset."""
    d = (EPOCH + timedelta(milliseconds=ms)).astimezone(_zone(zone))
    off = d.strftime("%z")
    return f"{d:%Y-%m-%dT%H:%M:%S}.{d.microsecond // 1000:03d}{off[:3]}:{off[3:]}"


def parse_iso(value: str) -> int:
    """Inverse of iso_z / iso_local, for records written back by the apps."""
    return to_ms(datetime.fromisoformat(value.replace("Z", "+00:00")))
