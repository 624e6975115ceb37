"""The deployments' schedules: defaults, and how configuration changes them.

`LAZI_SCHEDULE_<DEPLOYMENT>` (the deployment's name upper-cased, `-` as `_`, e.g.
`LAZI_SCHEDULE_LOAD_CALLRAIL`) takes a number of seconds (an interval), a cron expression
(`0 2 * * *`) or `off` (no schedule: the deployment runs only when triggered).
`LAZI_SCHEDULE_TIMEZONE` (default UTC) is the time zone of the cron expressions."""

from __future__ import annotations

import os
from dataclasses import dataclass

from lazi.errors import LaziError

# Defaults: a load of each vendor every 15 minutes (each followed by its per-load build), the
# reverse-ETL push every minute, the nightly checks at 02:00, the weekly full refresh on
# Sunday 03:00 and maintenance at 01:30 (before the nightly build reads the vacuumed tables).
DEFAULTS = {
    "load-servicetitan": "900",
    "load-gohighlevel": "900",
    "load-callrail": "900",
    "push": "60",
    "nightly": "0 2 * * *",
    "weekly-full-refresh": "0 3 * * 0",
    "maintenance": "30 1 * * *",
}


@dataclass(frozen=True)
class Schedule:
    interval_s: int | None = None
    cron: str | None = None
    timezone: str = "UTC"

    def describe(self) -> str:
        if self.interval_s is not None:
            return f"every {self.interval_s} s"
        if self.cron is not None:
            return f"cron '{self.cron}' ({self.timezone})"
        return "off"


def env_name(deployment: str) -> str:
    return "LAZI_SCHEDULE_" + deployment.upper().replace("-", "_")


def schedule_for(deployment: str) -> Schedule:
    """The configured schedule of `deployment` (its default when the variable is unset)."""
    name = env_name(deployment)
    text = os.environ.get(name, DEFAULTS[deployment]).strip()
    timezone = os.environ.get("LAZI_SCHEDULE_TIMEZONE", "UTC")
    if text.lower() == "off":
        return Schedule(timezone=timezone)
    if text.isdigit():
        if int(text) < 1:
            raise LaziError(f"{name}={text!r}: an interval is at least 1 second")
        return Schedule(interval_s=int(text), timezone=timezone)
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=text, timezone=timezone)
    except ValueError:
        raise LaziError(
            f"{name}={text!r} is neither seconds (e.g. 900), a cron expression "
            "(e.g. '0 2 * * *') nor off"
        ) from None
    return Schedule(cron=text, timezone=timezone)
