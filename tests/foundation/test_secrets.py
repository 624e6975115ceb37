"""No credential reaches output, logs or files, whatever shape DATABASE_URL has; run data is
readable by its owner only."""

from __future__ import annotations

import base64
import binascii
import contextlib
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from lazi.config import DBT_LOG_DIR, DBT_TARGET_DIR, display_url, url_problem
from lazi.db.cluster import LocalCluster
from lazi.ingest import source_env
from lazi.sandbox.server import Sandbox, describe, start_sandbox
from tests.conftest import create_database, free_port
from tests.foundation.test_cli import run_lazi

# Each malformed shape, with the pieces of its password that must never be printed.
MALFORMED = {
    "unencoded @": ("postgresql://postgres:Kq4vT@9zWm2x@127.0.0.1:{port}/db", ["Kq4vT", "9zWm2x"]),
    "missing scheme": ("postgres:Jd8rNq2Lp@127.0.0.1:{port}/db", ["Jd8rNq2Lp"]),
    "single slash": ("postgresql:/postgres:Hw3sXb7Mc@127.0.0.1:{port}/db", ["Hw3sXb7Mc"]),
    "spaces": ("postgresql://postgres:Vb5n Rt6y@127.0.0.1:{port}/db", ["Vb5n", "Rt6y"]),
    "unencoded /": ("postgresql://postgres:Gp2k/Zx9q@127.0.0.1:{port}/db", ["Gp2k", "Zx9q"]),
    "no host": ("postgresql://postgres:Yt6cWq1Bn", ["Yt6cWq1Bn"]),
}


def readable_forms(data: bytes) -> Iterable[bytes]:
    """The bytes as stored and, for a file that is one base64 text (how Prefect stores pickled
    results and exceptions), decoded."""
    yield data
    with contextlib.suppress(binascii.Error, ValueError):
        yield base64.b64decode(b"".join(data.split()), validate=True)


def files_holding(folders: Iterable[Path], secrets: Iterable[str]) -> list[str]:
    wanted = [secret.encode() for secret in secrets]
    found = []
    for folder in folders:
        for path in folder.rglob("*") if folder.exists() else []:
            if not path.is_file() or path.is_symlink():
                continue
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # a file another run deleted meanwhile
                continue
            for form in readable_forms(data):
                found += [f"{path}: {s.decode()}" for s in wanted if s in form]
    return found


def loose_modes(folder: Path) -> list[str]:
    """Folders not 0700 and files not 0600 under (and including) `folder`."""
    loose = []
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if not path.is_symlink() and mode != wanted:
            loose.append(f"{path}: {oct(mode)}")
    return loose


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    running = start_sandbox(120, 23)
    yield running
    running.stop()


@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_url_problem_names_the_fault_and_quotes_nothing(shape: str) -> None:
    template, pieces = MALFORMED[shape]
    url = template.format(port=5432)
    problem = url_problem(url)
    assert problem is not None
    shown = display_url(url)
    assert shown.startswith("(hidden: ")
    for piece in pieces:
        assert piece not in problem + shown


def test_display_url_masks_the_password_of_a_well_formed_url() -> None:
    url = "postgresql://app:Pw%40x%20y@db.example:6543/lazi?sslmode=require&password=Qz81"
    assert url_problem(url) is None
    assert display_url(url) == (
        "postgresql://app:****@db.example:6543/lazi?sslmode=require&password=****"
    )
    assert display_url("postgresql://app@db.example/lazi") == "postgresql://app@db.example/lazi"


def test_malformed_urls_leak_nothing_anywhere(pg_cluster: LocalCluster, tmp_path: Path) -> None:
    """Every command that shows or uses DATABASE_URL, with a password in each malformed shape:
    no piece of it in output or in any file under the state folder."""
    state = tmp_path / "state"
    env = {"LAZI_STATE_DIR": str(state), "LAZI_PG_PORT": str(free_port())}
    port = pg_cluster.settings.port
    for shape, (template, pieces) in sorted(MALFORMED.items()):
        url = template.format(port=port)
        for command in (["db", "url"], ["db", "status"], ["status"], ["run"]):
            result = run_lazi(*command, env={**env, "DATABASE_URL": url})
            output = result.stdout + result.stderr
            where = f"lazi {' '.join(command)} with a DATABASE_URL with {shape}"
            assert result.returncode != 0, f"{where} succeeded: {output}"
            assert "Traceback" not in output, f"{where}: {output}"
            assert "DATABASE_URL" in output, f"{where} did not say what is wrong: {output}"
            leaked = [piece for piece in pieces if piece in output]
            assert not leaked, f"{where} printed {leaked}: {output}"
        assert not files_holding([state], pieces), shape


def test_a_run_leaks_no_credential_and_keeps_its_records_private(
    pg_cluster: LocalCluster, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A whole `lazi run` with a database password that needs encoding and vendor credentials:
    none of them in output, the state folder, dbt's logs or the warehouse's run log; every
    folder it wrote is 0700 and every file 0600."""
    password = "Zr7@Lm q/Wd93"  # every character that needs encoding in a URL
    dbname = psycopg.conninfo.conninfo_to_dict(create_database(pg_cluster, "sweep"))["dbname"]
    role = f"owner_{dbname}"
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("create role {} login superuser password {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    url = f"postgresql://{role}:{quote(password, safe='')}@127.0.0.1:{pg_cluster.settings.port}"
    url += f"/{dbname}"
    info = describe(sandbox)
    secrets = [
        password,
        quote(password, safe=""),
        info["servicetitan"]["app_key"],
        *(c["client_secret"] for c in info["servicetitan"]["tenants"].values()),
        *info["gohighlevel"]["tokens"].values(),
        info["callrail"]["api_key"],
    ]
    state = tmp_path / "state"
    env = {
        **source_env(info),
        "DATABASE_URL": url,
        "LAZI_STATE_DIR": str(state),
        "LAZI_PG_PORT": str(free_port()),
    }
    outputs = []
    run = run_lazi("run", "--no-full-checks", env=env, timeout=900)
    outputs.append(run.stdout + run.stderr)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "stand-ins" not in run.stdout  # the credentials above were the ones used
    for command in (["status"], ["db", "url"], ["db", "status"]):
        result = run_lazi(*command, env=env)
        outputs.append(result.stdout + result.stderr)
    for text in outputs:
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, f"printed {leaked}"
    assert not files_holding([state, DBT_LOG_DIR, DBT_TARGET_DIR], secrets)
    # The sweep reads the run's records: the warehouse they name (not secret) is found.
    assert files_holding([state / "prefect"], [f"{role}:****@"])
    with psycopg.connect(url) as conn:
        books = conn.execute(
            "select coalesce(string_agg(to_jsonb(l)::text, ' '), '') from sync.inbound_log as l"
        ).fetchone()[0]
    assert books and not [secret for secret in secrets if secret in books]

    assert list((state / "prefect").glob("prefect.db*")), "Prefect kept no run records here"
    assert list((state / "dlt").iterdir()), "dlt kept no working folder here"
    assert not loose_modes(state)


def test_run_data_left_readable_is_made_private(tmp_path: Path) -> None:
    """Folders and files an earlier version wrote with the default umask are tightened by the
    next command."""
    state = tmp_path / "state"
    records = state / "prefect" / "prefect.db"
    package = state / "dlt" / "warehouse" / "lazi_callrail" / "state.json"
    for path in (records, package):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("run data")
        path.chmod(0o644)
    for folder in (state, *records.parents, *package.parents):
        if folder.is_relative_to(state):
            folder.chmod(0o755)
    result = run_lazi("db", "status", env={"LAZI_STATE_DIR": str(state)})
    assert result.returncode == 3, result.stderr  # no local cluster yet: exit 3
    assert not loose_modes(state)
    assert records.read_text() == "run data"


def test_a_shared_folder_is_refused_as_the_state_folder(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    result = run_lazi("db", "status", env={"LAZI_STATE_DIR": str(shared)})
    assert result.returncode == 1
    assert "is a shared folder" in result.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
