"""Sandbox fixtures: a small World and a ServiceTitan app served over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from lazi.sandbox.common import RunningServer, serve_in_thread
from lazi.sandbox.servicetitan import create_app
from lazi.sandbox.world import World

SCALE = 300
SEED = 7


@dataclass
class STClient:
    """A ServiceTitan client the way a real integration holds it: base URL + credentials."""

    base_url: str
    world: Any
    app: Any
    http: httpx.Client
    tenant: int
    _tokens: dict[int, str] = field(default_factory=dict)

    @property
    def app_key(self) -> str:
        return self.world.credentials["servicetitan"]["app_key"]

    def client_creds(self, tenant: int | None = None) -> dict[str, str]:
        return self.world.credentials["servicetitan"]["tenants"][tenant or self.tenant]

    def fetch_token(self, tenant: int | None = None) -> httpx.Response:
        creds = self.client_creds(tenant)
        return self.http.post(
            "/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            },
        )

    def token(self, tenant: int | None = None) -> str:
        tenant = tenant or self.tenant
        if tenant not in self._tokens:
            response = self.fetch_token(tenant)
            assert response.status_code == 200, response.text
            self._tokens[tenant] = response.json()["access_token"]
        return self._tokens[tenant]

    def headers(self, tenant: int | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant)}", "ST-App-Key": self.app_key}

    def path(self, module_path: str, tenant: int | None = None) -> str:
        """'crm/customers' -> '/crm/v2/tenant/{t}/customers' ; 'telecom/v3/calls' keeps v3."""
        module, _, rest = module_path.partition("/")
        version = "v2"
        if rest.startswith(("v2/", "v3/")):
            version, _, rest = rest.partition("/")
        return f"/{module}/{version}/tenant/{tenant or self.tenant}/{rest}"

    def get(self, module_path: str, params: Any = None, **kw: Any) -> httpx.Response:
        return self.http.get(self.path(module_path), params=params, headers=self.headers(), **kw)

    def send(self, method: str, module_path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, self.path(module_path), json=body, headers=self.headers())

    def coll(self, name: str, tenant: int | None = None) -> Any:
        return self.world.collection("servicetitan", name, tenant or self.tenant)

    def export_all(self, resource: str, start: str | None = None) -> tuple[list[dict], str]:
        """Follow continueFrom until hasMore is false; returns (records, final token)."""
        params = {"from": start} if start else {}
        rows: list[dict] = []
        while True:
            body = self.get(resource, params).json()
            rows.extend(body["data"])
            params = {"from": body["continueFrom"]}
            if not body["hasMore"]:
                return rows, body["continueFrom"]


@pytest.fixture
def fresh_world() -> World:
    return World(scale=SCALE, seed=SEED)


@pytest.fixture
def make_st() -> Iterator[Callable[..., STClient]]:
    """Factory: make_st(world, **create_app options) -> STClient on its own port."""
    running: list[tuple[RunningServer, httpx.Client]] = []

    def make(world: Any, **options: Any) -> STClient:
        options.setdefault("limits_enabled", False)
        app = create_app(world, **options)
        server = serve_in_thread(app)
        http = httpx.Client(base_url=server.base_url, timeout=30)
        running.append((server, http))
        return STClient(server.base_url, world, app, http, world.tenants[0])

    yield make
    for server, http in running:
        http.close()
        server.stop()


@pytest.fixture(scope="module")
def st_shared() -> Iterator[STClient]:
    """A read-only ServiceTitan app over its own module-wide World (limits lifted)."""
    world = World(scale=SCALE, seed=SEED)
    server = serve_in_thread(create_app(world, limits_enabled=False, export_page_size=50))
    http = httpx.Client(base_url=server.base_url, timeout=30)
    yield STClient(server.base_url, world, None, http, world.tenants[0])
    http.close()
    server.stop()


@pytest.fixture
def st(make_st: Callable[..., STClient], fresh_world: World) -> STClient:
    """A ServiceTitan app over a fresh World, for tests that write or advance time."""
    return make_st(fresh_world, export_page_size=50)
