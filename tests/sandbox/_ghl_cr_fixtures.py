"""Fixtures and helpers for the GoHighLevel and CallRail stand-in tests (real loopback HTTP).

Test modules bind the fixtures they use explicitly (`ghl = fx.ghl`; tests/sandbox/conftest.py
belongs to another suite, and `from ... import ghl` would trip ruff's F811 wherever a test
takes the fixture as a parameter).
`ghl` / `cr` give a fresh World and server per test (for tests that write or advance time);
`ghl_ro` / `cr_ro` are shared per module for read-only tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from lazi.config import API_SPECS_DIR
from lazi.sandbox.callrail import create_app as create_cr_app
from lazi.sandbox.common import FaultConfig, serve_in_thread
from lazi.sandbox.gohighlevel import create_app as create_ghl_app
from lazi.sandbox.world import World

SCALE = 300
SEED = 7
SPEC_ROOT = API_SPECS_DIR
GHL_VERSION = "2021-07-28"


@dataclass
class GhlClient:
    world: Any
    app: Any
    base_url: str
    http: httpx.Client
    location: str
    token: str

    def contacts(self, location: str | None = None) -> Any:
        return self.world.collection("gohighlevel", "contacts", location or self.location)

    def coll(self, name: str, location: str | None = None) -> Any:
        return self.world.collection("gohighlevel", name, location or self.location)

    def live_ids(self, name: str, location: str | None = None) -> set[str]:
        coll = self.coll(name, location)
        return {r["id"] for _, r in coll.iter_from(0) if not coll.is_deleted(r)}

    def search(self, **body: Any) -> httpx.Response:
        return self.http.post("/contacts/search", json={"locationId": self.location, **body})


@dataclass
class CrClient:
    world: Any
    app: Any
    base_url: str
    http: httpx.Client
    account: str
    api_key: str

    def coll(self, name: str, account: str | None = None) -> Any:
        return self.world.collection("callrail", name, account or self.account)

    def live(self, name: str, account: str | None = None) -> list[dict]:
        coll = self.coll(name, account)
        return [r for _, r in coll.iter_from(0) if not coll.is_deleted(r)]

    def path(self, resource: str) -> str:
        return f"/v3/a/{self.account}/{resource}"


@contextmanager
def ghl_server(
    scale: int = SCALE, *, limits_enabled: bool = True, faults: FaultConfig | None = None
) -> Iterator[GhlClient]:
    world = World(scale=scale, seed=SEED)
    app = create_ghl_app(world, limits_enabled=limits_enabled, faults=faults)
    server = serve_in_thread(app)
    location = world.ghl_locations[0]
    token = world.credentials["gohighlevel"]["tokens"][location]
    headers = {"Authorization": f"Bearer {token}", "Version": GHL_VERSION}
    try:
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
            yield GhlClient(world, app, server.base_url, http, location, token)
    finally:
        server.stop()


@contextmanager
def cr_server(
    scale: int = SCALE, *, limits_enabled: bool = True, faults: FaultConfig | None = None
) -> Iterator[CrClient]:
    world = World(scale=scale, seed=SEED)
    app = create_cr_app(world, limits_enabled=limits_enabled, faults=faults)
    server = serve_in_thread(app)
    key = world.credentials["callrail"]["api_key"]
    headers = {"Authorization": f'Token token="{key}"'}
    try:
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
            yield CrClient(world, app, server.base_url, http, world.callrail_accounts[0], key)
    finally:
        server.stop()


@pytest.fixture
def ghl() -> Iterator[GhlClient]:
    with ghl_server() as client:
        yield client


@pytest.fixture(scope="module")
def ghl_ro() -> Iterator[GhlClient]:
    with ghl_server() as client:
        yield client


@pytest.fixture
def cr() -> Iterator[CrClient]:
    with cr_server() as client:
        yield client


@pytest.fixture(scope="module")
def cr_ro() -> Iterator[CrClient]:
    with cr_server() as client:
        yield client


# --- contract checking ------------------------------------------------------------------------
#
# Deliberate relaxations, each a place where the published spec and the real service differ:
# GHL: pipeline stages are objects (the spec types them array<array>, api-facts 2.7);
#      lostReasonId is null on opportunities that were never lost; paging meta fields are
#      null where there is no previous/next page (the spec marks only ContactsMeta.prevPage).
# CallRail (unofficial spec): fields that real calls carry as null (unanswered calls have
#      no recording, most calls have no note/lead status/keywords...) are nullable; the
#      spec has no companies/trackers paths, so those are checked against its Pagination
#      envelope only.


def _inline_common_refs(node: Any) -> Any:
    """Point ../common/common-schemas.json refs at local copies (merged in by the caller)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("../common/common-schemas.json#"):
            return {"$ref": "#/components/schemas/" + ref.rsplit("/", 1)[-1]}
        return {k: _inline_common_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_common_refs(v) for v in node]
    return node


@cache
def ghl_openapi(file: str) -> OpenAPI:
    # The vendor's file has defects unrelated to the operations checked here (undeclared
    # path parameters, http schemes with name/in), so the document itself is not validated.
    return OpenAPI.from_dict(ghl_spec(file), config=Config(spec_validator_cls=None))


@cache
def ghl_spec(file: str) -> dict[str, Any]:
    """The official spec with common refs inlined and the relaxations above applied."""
    spec = json.loads((SPEC_ROOT / "gohighlevel" / file).read_text())
    common = json.loads((SPEC_ROOT / "gohighlevel" / "common_common-schemas.json").read_text())
    spec = _inline_common_refs(spec)
    spec["components"]["schemas"].update(common["components"]["schemas"])
    schemas = spec["components"]["schemas"]
    if "PipelinesResponseSchema" in schemas:
        schemas["PipelinesResponseSchema"]["properties"]["stages"]["items"] = {"type": "object"}
        schemas["SearchOpportunitiesResponseSchema"]["properties"]["lostReasonId"]["nullable"] = (
            True
        )
        for prop in schemas["SearchMetaResponseSchema"]["properties"].values():
            prop["nullable"] = True
    if "ContactsMetaSchema" in schemas:
        for prop in schemas["ContactsMetaSchema"]["properties"].values():
            prop["nullable"] = True
    return spec


_CR_NON_NULL = {"id", "answered", "direction", "duration", "start_time", "voicemail", "tags"}


@cache
def cr_spec() -> dict[str, Any]:
    """The unofficial CallRail spec with the nullability relaxation above applied."""
    spec = yaml.safe_load((SPEC_ROOT / "callrail" / "callrail-v3-unofficial.yml").read_text())
    for name, prop in spec["components"]["schemas"]["Call"]["properties"].items():
        if name not in _CR_NON_NULL:
            prop["type"] = [prop["type"], "null"]
    return spec


@cache
def cr_openapi() -> OpenAPI:
    return OpenAPI.from_dict(cr_spec())


def _mock(response: httpx.Response, host: str, path: str) -> tuple[MockRequest, MockResponse]:
    request = response.request
    mock_request = MockRequest(
        host,
        request.method,
        path,
        args=list(httpx.QueryParams(request.url.query).multi_items()),
        headers=dict(request.headers),
        data=request.content or None,
        content_type=request.headers.get("content-type", "application/json").split(";")[0],
    )
    mock_response = MockResponse(
        response.content,
        status_code=response.status_code,
        headers=dict(response.headers),
        content_type=response.headers.get("content-type", "application/json").split(";")[0],
    )
    return mock_request, mock_response


def check_ghl(response: httpx.Response, spec_file: str, *, request: bool = False) -> None:
    """Validate a GHL response (and with request=True the request that got it too) against
    the official spec (operation found by method+path)."""
    path = response.request.url.path
    if path != "/" and path.endswith("/") and path not in ghl_spec(spec_file)["paths"]:
        path = path.rstrip("/")
    mock_request, mock_response = _mock(response, "https://services.leadconnectorhq.com", path)
    if request:
        ghl_openapi(spec_file).validate_request(mock_request)
    ghl_openapi(spec_file).validate_response(mock_request, mock_response)


def check_cr(response: httpx.Response) -> None:
    """Validate a CallRail response against the unofficial spec."""
    mock_request, mock_response = _mock(
        response, "https://api.callrail.com", response.request.url.path
    )
    cr_openapi().validate_response(mock_request, mock_response)
