"""Schedule settings and failure classes, without a server."""

from __future__ import annotations

import pytest

from lazi.errors import LaziError
from lazi.ingest import sync_failure_is_transient
from lazi.schedules import DEFAULTS, schedule_for


def test_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DEFAULTS:
        monkeypatch.delenv(f"LAZI_SCHEDULE_{name.upper().replace('-', '_')}", raising=False)
    assert schedule_for("load-callrail").interval_s == 900
    assert schedule_for("push").interval_s == 60
    assert schedule_for("nightly").cron == "0 2 * * *"
    monkeypatch.setenv("LAZI_SCHEDULE_NIGHTLY", "off")
    assert schedule_for("nightly").describe() == "off"
    monkeypatch.setenv("LAZI_SCHEDULE_PUSH", "every minute")
    with pytest.raises(LaziError, match="LAZI_SCHEDULE_PUSH"):
        schedule_for("push")


@pytest.mark.parametrize(
    ("line", "transient"),
    [
        ("error: callrail calls: HTTP 503: unavailable", True),
        ("error: callrail calls: HTTP 429: slow down", True),
        ("error: gohighlevel sync: another sync of this vendor is running; try later", True),
        ("error: callrail calls: HTTP 401: invalid api key", False),
        ("error: SOURCES__CALLRAIL__ACCOUNTS must be a JSON list", False),
        ("error: unknown vendor 'nope'; choose servicetitan, gohighlevel, callrail or all", False),
    ],
)
def test_which_sync_failures_are_retried(line: str, transient: bool) -> None:
    assert sync_failure_is_transient(line) is transient
