"""A malformed vendor setting stops the sync with one line that names the variable and the shape
it must have, and never quotes the value (it holds credentials)."""

from __future__ import annotations

from pathlib import Path

import orjson
import psycopg
import pytest

from lazi.ingest import source_env
from lazi.sandbox.server import Sandbox, describe
from tests.foundation.test_cli import run_lazi
from tests.foundation.test_secrets import files_holding

TENANTS = "SOURCES__SERVICETITAN__TENANTS"
TENANTS_SHAPE = 'a list like [{"tenant_id": 123, "client_id": "…", "client_secret": "…"}]'

# vendor, settings, the variable named, what the message says, the secret in the settings
CASES = {
    "tenants not JSON": (
        "servicetitan",
        {
            "SOURCES__SERVICETITAN__APP_KEY": "ak1.Wc7vNd2Kx",
            TENANTS: '[{"tenant_id": 1, "client_id": "c1", "client_secret": "Fz8pLq3Rt"',
        },
        TENANTS,
        f"{TENANTS} is not JSON; expected {TENANTS_SHAPE}",
        ["Fz8pLq3Rt", "Wc7vNd2Kx"],
    ),
    "tenants not a list of objects": (
        "servicetitan",
        {"SOURCES__SERVICETITAN__APP_KEY": "ak1.Wc7vNd2Kx", TENANTS: '["Fz8pLq3Rt"]'},
        TENANTS,
        f"{TENANTS} must be {TENANTS_SHAPE}",
        ["Fz8pLq3Rt", "Wc7vNd2Kx"],
    ),
    "tenant without its secret": (
        "servicetitan",
        {
            "SOURCES__SERVICETITAN__APP_KEY": "ak1.Wc7vNd2Kx",
            TENANTS: '[{"tenant_id": 1, "client_id": "Pm4sYh8Jb"}]',
        },
        TENANTS,
        f"a tenant in {TENANTS} lacks client_secret; expected {TENANTS_SHAPE}",
        ["Wc7vNd2Kx"],
    ),
    "locations not JSON": (
        "gohighlevel",
        {"SOURCES__GOHIGHLEVEL__LOCATIONS": "location_id=L1 token=pit-Qe5rGm9Vz"},
        "SOURCES__GOHIGHLEVEL__LOCATIONS",
        "SOURCES__GOHIGHLEVEL__LOCATIONS is not JSON; expected a list like "
        '[{"location_id": "…", "token": "…"}]',
        ["pit-Qe5rGm9Vz"],
    ),
    "accounts not JSON": (
        "callrail",
        {"SOURCES__CALLRAIL__API_KEY": "Tk3wBn7Mq", "SOURCES__CALLRAIL__ACCOUNTS": '["ACC1",'},
        "SOURCES__CALLRAIL__ACCOUNTS",
        'SOURCES__CALLRAIL__ACCOUNTS is not JSON; expected a list of account ids like ["ACC…"]',
        ["Tk3wBn7Mq"],
    ),
    "number not a number": (
        "servicetitan",
        {
            "SOURCES__SERVICETITAN__APP_KEY": "ak1.Wc7vNd2Kx",
            TENANTS: '[{"tenant_id": 1, "client_id": "c1", "client_secret": "Fz8pLq3Rt"}]',
            "SOURCES__SERVICETITAN__RATE_LIMIT_PER_SECOND": "fast",
        },
        "SOURCES__SERVICETITAN__RATE_LIMIT_PER_SECOND",
        "SOURCES__SERVICETITAN__RATE_LIMIT_PER_SECOND is not a valid int",
        ["Fz8pLq3Rt", "Wc7vNd2Kx"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_setting_names_its_variable_once(
    case: str, warehouse: str, tmp_path: Path
) -> None:
    vendor, settings, variable, message, secrets = CASES[case]
    env = {**settings, "DATABASE_URL": warehouse, "LAZI_STATE_DIR": str(tmp_path / "state")}
    result = run_lazi("sync", vendor, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert message in result.stderr, output
    assert output.count(variable) == 1, output
    assert "coerced" not in output and "Traceback" not in output, output
    assert not [secret for secret in secrets if secret in output], output


@pytest.mark.parametrize("case", sorted(case for case in CASES if case != "number not a number"))
def test_lazi_run_names_a_malformed_list_setting_once_before_it_starts(
    case: str, warehouse: str, tmp_path: Path
) -> None:
    """`lazi run` parses the tenants, locations and accounts settings before Prefect starts:
    one line, not the failed sync's error repeated by every log of the flow."""
    _, settings, variable, message, secrets = CASES[case]
    env = {**settings, "DATABASE_URL": warehouse, "LAZI_STATE_DIR": str(tmp_path / "state")}
    result = run_lazi("run", env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], output
    assert message in result.stderr and output.count(variable) == 1, output
    assert "warehouse ready" not in output and "Traceback" not in output, output
    assert not [secret for secret in secrets if secret in output], output


def test_rejected_credentials_are_never_quoted(
    sandbox: Sandbox, warehouse: str, tmp_path: Path
) -> None:
    """Each vendor refuses a planted credential: the failure is reported, the credential is in
    no output, no file under the state folder and no row of the run log."""
    planted = {
        "servicetitan": "Cs9.PlantedQw4Zr",
        "gohighlevel": "pit-plantedvx72nb",
        "callrail": "plantedKk83Ty5Ld",
    }
    env = source_env(describe(sandbox))
    tenants = orjson.loads(env[TENANTS])
    for tenant in tenants:
        tenant["client_secret"] = planted["servicetitan"]
    env[TENANTS] = orjson.dumps(tenants).decode()
    locations = orjson.loads(env["SOURCES__GOHIGHLEVEL__LOCATIONS"])
    for location in locations:
        location["token"] = planted["gohighlevel"]
    env["SOURCES__GOHIGHLEVEL__LOCATIONS"] = orjson.dumps(locations).decode()
    env["SOURCES__CALLRAIL__API_KEY"] = planted["callrail"]
    state = tmp_path / "state"
    env.update({"DATABASE_URL": warehouse, "LAZI_STATE_DIR": str(state)})
    for vendor, secret in planted.items():
        result = run_lazi("sync", vendor, env=env)
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert "HTTP 40" in output and f"sync failed for {vendor}" in output, output
        assert secret not in output, output
    assert not files_holding([state], planted.values())
    with psycopg.connect(warehouse) as conn:
        books = conn.execute(
            "select string_agg(to_jsonb(l)::text, ' ') from sync.inbound_log as l"
        ).fetchone()[0]
    assert "failed" in books
    assert not [secret for secret in planted.values() if secret in books]
