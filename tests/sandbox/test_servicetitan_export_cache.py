"""The benchmark-only export page cache serves exactly what the uncached export serves, and a
change to the data is never hidden behind a cached page."""

from __future__ import annotations

import httpx

from lazi.sandbox.server import describe, start_sandbox


def export_all(client: httpx.Client, base: str, tenant: str, headers: dict[str, str]) -> list:
    records, start = [], None
    while True:
        body = client.get(
            f"{base}/crm/v2/tenant/{tenant}/export/customers",
            params={"from": start} if start else {},
            headers=headers,
        ).json()
        records += body["data"]
        start = body["continueFrom"]
        if not body["hasMore"]:
            return records


def test_cached_pages_equal_uncached_and_follow_changes() -> None:
    with start_sandbox(60, 3, limits=False) as sandbox, httpx.Client() as client:
        st = describe(sandbox)["servicetitan"]
        tenant, cred = next(iter(st["tenants"].items()))
        token = client.post(
            st["auth_url"],
            data={"grant_type": "client_credentials", **cred},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "ST-App-Key": st["app_key"]}
        base = st["base_url"]
        client.post(f"{base}/_sandbox/config", json={"export_page_size": 7})
        plain = export_all(client, base, tenant, headers)
        client.post(f"{base}/_sandbox/config", json={"export_cache": True})
        assert export_all(client, base, tenant, headers) == plain  # fills the cache
        assert export_all(client, base, tenant, headers) == plain  # served from it
        customers = sandbox.world.collection("servicetitan", "customers", int(tenant))
        victim = plain[0]["id"]
        customers.patch(victim, {"name": "Renamed After Caching"})
        after = export_all(client, base, tenant, headers)
        assert [r["name"] for r in after if r["id"] == victim] == ["Renamed After Caching"]
