"""SIGKILL the loading process at random moments in extract, normalize and load; the next run
must repair: nothing lost, no duplicated version, no cursor ahead of the data."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dlt
import httpx
import psycopg
import pytest

from dlt_pipelines import servicetitan
from dlt_pipelines.common.feed import PACKAGE_BYTES
from dlt_pipelines.common.pipeline import (
    DLT_DEFAULTS,
    SyncOptions,
    _append_until_keyed,
    _finish_pending,
    _loader_url,
    _open_pipeline,
)
from dlt_pipelines.common.stats import RunStats
from lazi.config import PROJECT_ROOT
from lazi.sandbox.server import Sandbox
from tests.ingest.conftest import sync_process
from tests.ingest.test_servicetitan_source import assert_raw_matches_world

PHASES = ("Extract", "Normalize", "Load")
TRIALS = 21


def start_sync(
    env: dict[str, str],
) -> tuple[subprocess.Popen[str], list[str], threading.Thread]:
    proc = sync_process("servicetitan", env, merge_output=True)
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return proc, lines, reader


def kill_during(env: dict[str, str], phase: str, rng: random.Random) -> str:
    """Start a sync, wait until dlt announces `phase`, wait a random moment, SIGKILL.
    Returns the phase the process was last seen in when it died, or "finished" for a run that
    ended first, which must then have succeeded: every run after a kill repairs what it left."""
    proc, lines, reader = start_sync(env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(f" {phase} servicetitan" in line for line in lines):
            break
        time.sleep(0.01)
    # Extraction is long (many small pages); normalize and load take a fraction of a second.
    time.sleep(rng.uniform(0, 1.0) if phase == "Extract" else rng.uniform(0, 0.03))
    seen = "finished"
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        seen = next((p for line in reversed(lines) for p in PHASES if f" {p} " in line), "start")
    proc.wait(30)
    reader.join(5)
    assert seen != "finished" or proc.returncode == 0, "".join(lines[-40:])
    return seen


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    sandbox: Sandbox, configured: dict[str, str], warehouse: str, tmp_path: Path
) -> None:
    base = sandbox.base_url("servicetitan")
    # Small export pages stretch extraction over many requests, so kills land mid-stream.
    httpx.post(f"{base}/_sandbox/config", json={"export_page_size": 40}).raise_for_status()
    # Small packages: a run commits several, so kills also land between them.
    env = {**os.environ, "DATABASE_URL": warehouse, "LAZI_PACKAGE_MB": "0.25"}
    rng = random.Random(20261124)
    killed_in: list[str] = []
    attempts = 0
    # A run with little new work may end before its kill lands: try up to three times as often.
    while sum(p != "finished" for p in killed_in) < TRIALS and attempts < 3 * TRIALS:
        sandbox.world.advance(6)  # every run has new work to extract and load
        killed_in.append(kill_during(env, PHASES[attempts % 3], rng))
        attempts += 1
    kills = [p for p in killed_in if p != "finished"]
    assert len(kills) >= 20, killed_in
    assert set(PHASES) <= set(kills), killed_in

    final = subprocess.run(
        [sys.executable, "-m", "lazi.cli", "sync", "servicetitan"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert final.returncode == 0, final.stdout[-2000:] + final.stderr[-2000:]
    assert_raw_matches_world(warehouse, sandbox)  # includes the duplicate-version check
    with psycopg.connect(warehouse) as conn:
        orphans = conn.execute(
            "select count(*) from raw.st_customers "
            "where _dlt_load_id not in (select load_id from raw._dlt_loads where status = 0)"
        ).fetchone()[0]
        still_running = conn.execute(
            "select count(*) from sync.inbound_log where vendor = 'servicetitan' "
            "and status = 'running'"
        ).fetchone()[0]
    assert orphans == 0, "rows of a package that never completed"
    assert still_running == 0, "interrupted runs are closed as failed by the next run"


def live_syncs() -> list[str]:
    """Command lines of this test process's children that are `lazi sync` runs still alive
    (a zombie, dead and not yet reaped, is not alive)."""
    found = []
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except (FileNotFoundError, ProcessLookupError):
                continue  # ended while we looked
            if state != "Z" and b"lazi.cli sync" in command:
                found.append(command.decode(errors="replace"))
    return found


@pytest.fixture(autouse=True)
def _no_stray_processes():
    yield
    # Every sync a test starts is waited for or killed; one still running would hold the
    # vendor's lock and its dlt folder under the next test.
    assert not live_syncs()


def test_the_stray_process_check_sees_a_running_sync() -> None:
    """The check above can fail: a child whose command is a sync, still running, is found."""
    stand_in = [sys.executable, "-c", "import time; time.sleep(60)", "lazi.cli sync"]
    proc = subprocess.Popen(stand_in)
    try:
        assert [c for c in live_syncs() if "time.sleep(60)" in c]
    finally:
        proc.kill()
        proc.wait(30)
    assert not live_syncs()


def test_an_extracted_copy_left_by_a_kill_after_normalizing_is_dropped(
    sandbox: Sandbox, configured: dict[str, str], warehouse: str
) -> None:
    """dlt renames a normalized package into its load folder, then deletes the extracted copy:
    a kill in between (seen in CI) left a copy without `new_jobs`, and every later run failed."""
    env = {**os.environ, "DATABASE_URL": warehouse}
    sync = [sys.executable, "-m", "lazi.cli", "sync", "servicetitan"]
    first = subprocess.run(sync, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-2000:]
    (working,) = Path(os.environ["LAZI_STATE_DIR"]).glob("dlt/*/lazi_servicetitan")
    (loaded,) = (working / "load" / "loaded").iterdir()
    leftover = working / "normalize" / "extracted" / loaded.name
    shutil.copytree(loaded, leftover)
    shutil.rmtree(leftover / "new_jobs")  # the delete had got that far

    sandbox.world.advance(6)
    second = subprocess.run(sync, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-2000:]
    assert not leftover.exists()
    assert_raw_matches_world(warehouse, sandbox)


def test_a_package_extracted_under_a_schema_the_kill_never_saved_is_loaded(
    warehouse: str, tmp_path: Path
) -> None:
    """dlt commits an extracted package before it saves the schema it was extracted under: a kill
    in between (seen in CI) left a package with a table the pipeline's schema lacked, and every
    later run failed to normalize it ("Table not found")."""

    def attach() -> dlt.Pipeline:  # a new process's view of the working folder
        return dlt.pipeline(
            pipeline_name="kill_between_commit_and_save",
            destination=dlt.destinations.postgres(credentials=warehouse),
            dataset_name="kill_test",
            pipelines_dir=str(tmp_path),
        )

    first = attach()
    first.run([{"id": 1}], table_name="known")
    (schema_file,) = (Path(first.working_dir) / "schemas").glob("*.schema.json")
    saved = schema_file.read_bytes()
    # As the sources hand dlt their rows: a CSV file, imported whole into the package.
    rows = tmp_path / "added.csv"
    rows.write_text("id\n2\n3\n")
    added = dlt.resource(
        [dlt.mark.with_file_import(str(rows), "csv", 2)],
        name="added",
        columns={"id": {"data_type": "bigint"}},
    )
    first.extract(added, loader_file_format="csv")
    schema_file.write_bytes(saved)  # the kill: the package is committed, the schema is not

    _finish_pending(attach())
    with psycopg.connect(warehouse) as conn:
        added = conn.execute("select id from kill_test.added order by id").fetchall()
        known = conn.execute("select id from kill_test.known").fetchall()
    assert added == [(2,), (3,)]
    assert known == [(1,)]
    assert not attach().has_pending_data


@pytest.mark.parametrize("schemas_saved", [False, True], ids=["before-schemas", "before-state"])
def test_a_first_extract_killed_before_its_state_was_saved_is_extracted_again(
    sandbox: Sandbox,
    configured: dict[str, str],
    warehouse: str,
    monkeypatch: pytest.MonkeyPatch,
    schemas_saved: bool,
) -> None:
    """dlt commits the first extract's package, then saves the pipeline's schemas, then its state
    (default schema, cursors). A kill before the state was saved (seen in CI) left a package that
    dlt's normalize and load skipped, returning None, and every later run failed."""
    for key, value in DLT_DEFAULTS.items():
        monkeypatch.setenv(key, value)
    # The first package of `lazi sync servicetitan`, extracted as run_sync extracts it.
    with psycopg.connect(warehouse, autocommit=True) as books:
        pipeline = _open_pipeline("servicetitan", books, _loader_url(warehouse, "lazi_loader"))
        stats = RunStats(PACKAGE_BYTES, "servicetitan")
        source = servicetitan.build(stats, SyncOptions(warehouse_url=warehouse))
        _append_until_keyed(books, source)
    working = Path(pipeline.working_dir)
    state_before = (working / "state.json").read_bytes()
    stats.feeds.new_package()
    try:
        with stats.feeds.paused():
            pipeline.extract(source, loader_file_format="csv")
    finally:
        stats.feeds.close()
    (package,) = pipeline.list_extracted_load_packages()
    # The kill: the package is committed, the state (and maybe the schemas) are not saved.
    (working / "state.json").write_bytes(state_before)
    if not schemas_saved:
        for saved in (working / "schemas").iterdir():
            saved.unlink()

    sandbox.world.advance(6)
    env = {**os.environ, "DATABASE_URL": warehouse}
    sync = [sys.executable, "-m", "lazi.cli", "sync", "servicetitan"]
    for _ in range(2):  # the second run checks the first left everything in order
        run = subprocess.run(sync, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert not (working / "normalize" / "extracted" / package).exists()
    assert_raw_matches_world(warehouse, sandbox)  # includes the duplicate-version check
    with psycopg.connect(warehouse) as conn:
        aborted = conn.execute(
            "select count(*) from raw._dlt_loads where load_id = %s", (package,)
        ).fetchone()[0]
    assert aborted == 0, "the discarded package reached the warehouse"
