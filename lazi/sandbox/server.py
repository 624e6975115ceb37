"""Runs the three vendor stand-ins over ONE shared World, in-process or as a foreground server.

`start_sandbox` is what tests, benchmarks and `make run` use; `serve_forever` backs the CLI
`lazi sandbox serve`. Every app listens on its own loopback port, like the real vendors
live on their own hosts, so clients are configured exactly as for production: a base URL
plus credentials.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson

from lazi.sandbox.common import FaultConfig, RunningServer, WriteLog, serve_in_thread

VENDORS = ("servicetitan", "gohighlevel", "callrail")
_GHL_VERSION = "2021-07-28"


@dataclass
class Sandbox:
    """A running sandbox. Use as a context manager or call stop()."""

    world: Any
    scale: int
    seed: int
    servers: dict[str, RunningServer]
    apps: dict[str, Any]
    write_log: WriteLog = field(default_factory=WriteLog)

    def base_url(self, vendor: str) -> str:
        return self.servers[vendor].base_url

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _app_factory(vendor: str) -> Any:
    return importlib.import_module(f"lazi.sandbox.{vendor}").create_app


def start_sandbox(
    scale: int,
    seed: int,
    *,
    limits: bool = True,
    faults: FaultConfig | None = None,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    world: Any = None,
    st_export_page_size: int | None = None,
) -> Sandbox:
    """Build one World (unless given) and serve all three vendors over it.

    ports maps vendor -> port (0 or missing = any free port). Each app gets its own fault
    injector built from `faults`, so faults are independent per vendor.
    """
    if world is None:
        from lazi.sandbox.world import World

        world = World(scale=scale, seed=seed)
    write_log = WriteLog()
    apps: dict[str, Any] = {}
    servers: dict[str, RunningServer] = {}
    try:
        for vendor in VENDORS:
            extra: dict[str, Any] = {}
            if vendor == "servicetitan" and st_export_page_size:
                extra["export_page_size"] = st_export_page_size
            apps[vendor] = _app_factory(vendor)(
                world,
                limits_enabled=limits,
                faults=FaultConfig(**faults.as_dict()) if faults else None,
                write_log=write_log,
                **extra,
            )
            servers[vendor] = serve_in_thread(apps[vendor], host, (ports or {}).get(vendor, 0))
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return Sandbox(world, scale, seed, servers, apps, write_log)


def describe(sandbox: Sandbox) -> dict[str, Any]:
    """Per vendor: base URL(s) and credentials, JSON-ready (tenant ids become strings)."""
    creds = sandbox.world.credentials
    st = creds["servicetitan"]
    st_url = sandbox.base_url("servicetitan")
    return {
        "scale": sandbox.scale,
        "seed": sandbox.seed,
        "servicetitan": {
            "base_url": st_url,
            "auth_url": f"{st_url}/connect/token",
            "app_key": st["app_key"],
            "tenants": {
                str(tenant): {"client_id": c["client_id"], "client_secret": c["client_secret"]}
                for tenant, c in st["tenants"].items()
            },
        },
        "gohighlevel": {
            "base_url": sandbox.base_url("gohighlevel"),
            "version_header": _GHL_VERSION,
            "tokens": dict(creds["gohighlevel"]["tokens"]),
        },
        "callrail": {
            "base_url": sandbox.base_url("callrail"),
            "api_key": creds["callrail"]["api_key"],
            "accounts": list(sandbox.world.callrail_accounts),
        },
    }


def render_listing(info: Mapping[str, Any]) -> str:
    """Human-readable credentials with copy-paste curl examples."""
    st, ghl, cr = info["servicetitan"], info["gohighlevel"], info["callrail"]
    tenant, client = next(iter(st["tenants"].items()))
    location, token = next(iter(ghl["tokens"].items()))
    account = cr["accounts"][0]
    lines = [
        f"LAZI sandbox (scale={info['scale']}, seed={info['seed']}); Ctrl+C to stop.",
        "",
        f"ServiceTitan  {st['base_url']}   (token URL {st['auth_url']})",
        f"  ST-App-Key: {st['app_key']}",
        *(
            f"  tenant {t}: client_id={c['client_id']} client_secret={c['client_secret']}"
            for t, c in st["tenants"].items()
        ),
        f"  TOKEN=$(curl -s {st['auth_url']} -d grant_type=client_credentials"
        f" -d client_id={client['client_id']} -d client_secret={client['client_secret']}"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f'  curl -s "{st["base_url"]}/crm/v2/tenant/{tenant}/export/customers"'
        f' -H "Authorization: Bearer $TOKEN" -H "ST-App-Key: {st["app_key"]}"',
        "",
        f"GoHighLevel   {ghl['base_url']}",
        *(f"  location {loc}: token={tok}" for loc, tok in ghl["tokens"].items()),
        f'  curl -s "{ghl["base_url"]}/contacts/?locationId={location}"'
        f' -H "Authorization: Bearer {token}" -H "Version: {ghl["version_header"]}"',
        "",
        f"CallRail      {cr['base_url']}",
        f"  api key: {cr['api_key']}   accounts: {', '.join(cr['accounts'])}",
        f'  curl -s "{cr["base_url"]}/v3/a/{account}/calls.json"'
        f" -H 'Authorization: Token token=\"{cr['api_key']}\"'",
    ]
    return "\n".join(lines)


def serve_forever(
    scale: int,
    seed: int,
    as_json: bool = False,
    *,
    limits: bool = True,
    faults: FaultConfig | None = None,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    out: TextIO | None = None,
    stop_event: threading.Event | None = None,
) -> None:
    """Serve until Ctrl+C / SIGTERM (or stop_event). With as_json the FIRST stdout line is
    one JSON object with base URLs and credentials, so scripts can read it and go."""
    out = out or sys.stdout
    stop = stop_event or threading.Event()
    sandbox = start_sandbox(scale, seed, limits=limits, faults=faults, host=host, ports=ports)
    try:
        info = describe(sandbox)
        if as_json:
            out.write(orjson.dumps(info).decode() + "\n")
        else:
            out.write(render_listing(info) + "\n")
        out.flush()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        sandbox.stop()
