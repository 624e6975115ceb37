"""Run one vendor's dlt source into raw and keep the books: sync.inbound_log, raw.sync_state.

Crash safety rests on three things:
- dlt commits each resource's cursor (resource state) in the same load package as its rows, and
  restores state only from completed packages, so a cursor is never ahead of the data;
- a package left half-loaded by a kill is finished before anything new is extracted;
- raw tables load with `insert-only` on (scope, id, load id, content hash), and raw's own key and
  trigger (raw_guarantees.py) keep a replayed job or a page fetched twice from adding a version.
  A table's first load (before it has that key) appends instead, and its guarantees are made
  right after it: see `_append_until_keyed`.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import orjson
import psycopg
from dlt.common.configuration.exceptions import ConfigValueCannotBeCoercedException
from dlt.common.pipeline import LoadInfo
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.extract.source import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.helpers import retry_schema_update
from psycopg import sql

from dlt_pipelines.common import raw_guarantees
from dlt_pipelines.common.config import variable
from dlt_pipelines.common.destination import raw_postgres
from dlt_pipelines.common.errors import SourceError
from dlt_pipelines.common.feed import PACKAGE_BYTES, Feeds
from dlt_pipelines.common.resource import SPOOL
from dlt_pipelines.common.stats import EndpointStats, RunStats
from lazi.config import mask_secrets, package_bytes, state_dir
from lazi.db.fetch import fetch_value
from lazi.db.warehouse import as_role, check_role, login_url

log = logging.getLogger("lazi.sources")

DLT_DEFAULTS = {
    "RUNTIME__LOG_LEVEL": "WARNING",
    "LOAD__WORKERS": "4",
    # A loaded package's CSV files and staging rows are never read again: without these a
    # backfill would leave a copy of everything it loaded on disk, twice.
    "LOAD__DELETE_COMPLETED_JOBS": "true",
    "LOAD__TRUNCATE_STAGING_DATASET": "true",
}

SCHEMA_RACE_RETRIES = 5
LOCK_WAIT_S = 30  # how long a sync waits for another sync of its vendor to end
schema_update_failed = retry_schema_update()


@dataclass
class SyncOptions:
    full: bool = False
    since: datetime | None = None
    warehouse_url: str = ""  # for full reconciles, which compare with what raw already holds

    @property
    def sync_type(self) -> str:
        return "full" if self.full else "backfill" if self.since else "incremental"


@dataclass
class SyncResult:
    vendor: str
    run_id: uuid.UUID
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    steps: str = ""  # where the time went: dlt's extract, normalize, load, then our bookkeeping

    @property
    def fetched(self) -> int:
        return sum(e["fetched"] for e in self.endpoints)

    @property
    def new_versions(self) -> int:
        return sum(e["new_versions"] for e in self.endpoints)


SourceFactory = Callable[[RunStats, SyncOptions], DltSource]


def run_sync(
    vendor: str,
    build_source: SourceFactory,
    warehouse_url: str,
    options: SyncOptions,
    *,
    loader_role: str | None = "lazi_loader",
) -> SyncResult:
    for key, value in DLT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    package_size = package_bytes(PACKAGE_BYTES)  # a bad setting fails before anything starts
    began = time.time()
    run_id = uuid.uuid4()
    # Everything the sync does, its books included, acts as the loader: raw and its own rows of
    # sync.inbound_log, nothing else (migrations 0008, 0016).
    warehouse_url = _loader_url(warehouse_url, loader_role)
    with psycopg.connect(warehouse_url, autocommit=True) as books:
        if loader_role:
            check_role(books, loader_role)
        _lock(books, vendor)
        _close_interrupted(books, vendor)
        _log_run(books, run_id, vendor, options, "running")
        stats = RunStats(package_size, vendor)
        options.warehouse_url = warehouse_url
        try:
            pipeline = _open_pipeline(vendor, books, warehouse_url)
            load_ids = _finish_pending(pipeline)
            # CSV files a killed run wrote but never handed to dlt
            shutil.rmtree(Path(pipeline.working_dir) / SPOOL, ignore_errors=True)
            source = build_source(stats, options)
            first_loads = raw_guarantees.unguaranteed(books, _tables(source))
            _append_until_keyed(books, source)
            steps = dict.fromkeys(("extract", "normalize", "load"), 0.0)
            with _collect_rarely():
                try:
                    # One package after another until every feed is drained: each holds
                    # about PACKAGE_BYTES of rows and its own cursors (feed.py).
                    while True:
                        load_ids += _load_package(pipeline, source, stats.feeds, steps)
                        if stats.feeds.all_finished():
                            break
                finally:
                    stats.feeds.close()
        except Exception as exc:
            message = _describe(vendor, exc)
            _record(books, run_id, vendor, options, stats.all(), {}, "failed", message)
            _log_run(books, run_id, vendor, options, "failed", message)
            cause = _source_error(exc)
            if cause is not None:
                raise cause from exc
            raise SourceError(vendor, "sync", message) from exc
        loaded = time.time()
        raw_guarantees.guarantee(books, first_loads)
        new_versions = _count_new_versions(books, stats.all(), load_ids)
        endpoints = _record(books, run_id, vendor, options, stats.all(), new_versions, "succeeded")
        _log_run(books, run_id, vendor, options, "succeeded", endpoints=endpoints)
    steps["bookkeeping"] = time.time() - loaded
    described = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items())
    return SyncResult(vendor, run_id, endpoints, time.time() - began, described)


def _open_pipeline(vendor: str, books: psycopg.Connection, loader_url: str) -> dlt.Pipeline:
    """The vendor's dlt pipeline; `loader_url` already acts as the loader (_loader_url)."""
    return dlt.pipeline(
        pipeline_name=f"lazi_{vendor}",
        destination=raw_postgres(credentials=loader_url),
        dataset_name="raw",
        pipelines_dir=str(_pipelines_dir(books)),
        progress=dlt.progress.log(log_period=30),
    )


def _load_package(
    pipeline: dlt.Pipeline, source: DltSource, feeds: Feeds, steps: dict[str, float]
) -> list[str]:
    """One package: dlt takes what the feeds have ready, normalizes and loads it. The feeds
    pause while dlt's own Python runs and make the next package's rows while PostgreSQL copies
    this one's (feed.py)."""
    feeds.new_package()
    began = time.perf_counter()
    with feeds.paused():
        pipeline.extract(source, loader_file_format="csv")
        extracted = time.perf_counter()
        pipeline.normalize()
    normalized = time.perf_counter()
    try:
        info = pipeline.load()
    except PipelineStepFailed as exc:
        if not schema_update_failed(exc):
            raise
        info = _load_after_schema_race(pipeline, exc)
    steps["extract"] += extracted - began
    steps["normalize"] += normalized - extracted
    steps["load"] += time.perf_counter() - normalized
    return list(info.loads_ids)


def _append_until_keyed(books: psycopg.Connection, source: DltSource) -> None:
    """A table without its version key yet (its first load, usually a backfill of millions of
    rows) is loaded by COPY straight into raw: dlt's merge would copy every row into a staging
    table and then insert it again (a third of a backfill's load time, measured), and maintain
    no index that a bulk load could not build faster afterwards. What a merge would have
    prevented cannot survive either: a job dlt replays after a kill copies its rows twice, and
    raw_guarantees removes such copies before it builds the key at the end of the run."""
    keyed = raw_guarantees.keyed_tables(books)
    for resource in source.resources.selected.values():
        if resource.table_name not in keyed:
            resource.apply_hints(write_disposition="append")


def _tables(source: DltSource) -> set[str]:
    """The raw tables the source loads (each resource names its table; none computes it)."""
    names = (resource.table_name for resource in source.resources.selected.values())
    return {name for name in names if isinstance(name, str)}


@contextmanager
def _collect_rarely() -> Iterator[None]:
    """API pages parse into millions of short-lived dicts, which reference counting frees. At
    Python's default threshold the cycle collector runs every 700 allocations and keeps walking
    the pages still alive, and everything importing dlt, pyarrow and httpx made: a quarter of a
    backfill's Python time (measured). Those imports are frozen out of its walks, and it runs
    rarely. (Nothing big may wait for it: see ApiClient.request.)"""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _pipelines_dir(books: psycopg.Connection) -> Path:
    """dlt's working folder, one per warehouse database (sync.warehouse_identity): local state
    left by a run against another database, even one since dropped and made again under the same
    name, must never stand in for this one's cursors."""
    identity = fetch_value(books, "select id from sync.warehouse_identity")
    return state_dir() / "dlt" / str(identity)


def _loader_url(url: str, role: str | None) -> str:
    """The sync connects as the warehouse user, or as the loader's own login (LAZI_LOADER_URL),
    and acts as the loader role (writes raw only) either way: the raw tables dlt creates must
    belong to lazi_loader, whose default privileges let dbt read them."""
    return as_role(login_url(url, role), role) if role else url


def _finish_pending(pipeline: dlt.Pipeline) -> list[str]:
    """A previous run killed after extracting leaves packages behind: load them first."""
    _drop_committed_extracts(pipeline)
    _abort_unsaved_first_extract(pipeline)
    if not pipeline.has_pending_data:
        return []
    log.warning("%s: finishing a load interrupted by the previous run", pipeline.pipeline_name)
    _adopt_newer_package_schemas(pipeline)
    pipeline.normalize()
    _drop_replayed_state_rows(pipeline)
    info = pipeline.load()
    if info is None:
        # dlt skips normalize and load, returning None, when the pipeline has no default schema.
        # Only an extracted package can be pending without one (a package is normalized only
        # after its extract saved the state), and those were aborted above.
        pending = [
            *pipeline.list_extracted_load_packages(),
            *pipeline.list_normalized_load_packages(),
        ]
        raise RuntimeError(
            f"{pipeline.pipeline_name}: packages {pending} are pending but the pipeline has no "
            "schema to load them with"
        )
    return list(info.loads_ids)


def _abort_unsaved_first_extract(pipeline: dlt.Pipeline) -> None:
    """dlt commits an extracted package before it saves the pipeline's schemas and then its state
    (state.json: the default schema's name and every resource's cursor). A kill in between, on
    the pipeline's very first extract, leaves a package and a pipeline without a default schema,
    with which dlt's normalize and load silently do nothing: every later run failed (seen in the
    crash test). Nothing of that package reached raw, and the cursors it advanced were never
    saved, so the next extract fetches its rows again: it is aborted, which also rewinds state
    and schemas to the snapshot dlt took when the package started (`abort_packages`, public
    since dlt 1.30.0; checked against 1.31.0)."""
    if pipeline.default_schema_name or not pipeline.list_extracted_load_packages():
        return
    if pipeline.list_normalized_load_packages():
        return  # cannot come from a kill (see _finish_pending): left for the error there
    log.warning(
        "%s: discarding packages %s, extracted by a run killed before it saved its state; "
        "their rows are extracted again",
        pipeline.pipeline_name,
        pipeline.list_extracted_load_packages(),
    )
    pipeline.abort_packages()


def _drop_replayed_state_rows(pipeline: dlt.Pipeline) -> None:
    """A kill after the package's pipeline-state insert committed, but before dlt recorded the
    job as done, makes dlt insert that row again, and `_dlt_pipeline_state` has a unique
    `_dlt_id`: every later run failed on it (seen in the crash test). The row is the package's
    own (same load id) and the replayed job writes it again, so it is removed first."""
    load_ids = pipeline.list_normalized_load_packages()
    if not load_ids:
        return
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name("_dlt_pipeline_state")
        try:
            for load_id in load_ids:
                client.execute_sql(f"delete from {table} where _dlt_load_id = %s", load_id)
        except DatabaseUndefinedRelation:
            pass  # the package's state was the first: nothing loaded yet


def _drop_committed_extracts(pipeline: dlt.Pipeline) -> None:
    """dlt commits a normalized package by renaming it into the load folder and only then deletes
    its extracted copy, file by file: a kill between the two, or during the delete, leaves an
    extracted package (often missing its `new_jobs` folder) whose data is already committed.
    Normalizing it again fails on the missing folder, on every later run. Its normalized package
    holds all of its data, so the leftover is deleted."""
    committed = set(pipeline.list_normalized_load_packages()) | set(
        pipeline.list_completed_load_packages()
    )
    # Private: dlt 1.31.0 has no public call that deletes one extracted package (abort_packages
    # deletes every pending one and rewinds the state).
    extracted = pipeline._get_normalize_storage().extracted_packages
    for load_id in set(pipeline.list_extracted_load_packages()) & committed:
        log.warning(
            "%s: removing the extracted copy of package %s, already normalized by the previous run",
            pipeline.pipeline_name,
            load_id,
        )
        extracted.delete_package(load_id)


def _adopt_newer_package_schemas(pipeline: dlt.Pipeline) -> None:
    """dlt commits an extracted package, with the schema it was extracted under, before it saves
    that schema as the pipeline's: a kill in between (seen in CI) leaves a package with a table
    the pipeline's schema lacks, and normalize, which prefers the pipeline's schema, then fails
    with `Table not found` on every later run. A package schema that descends from the stored one
    is the newer of the two and replaces it."""
    for load_id in sorted(pipeline.list_extracted_load_packages()):
        package_schema = pipeline.get_load_package_info(load_id).schema
        try:
            stored = pipeline.schemas[package_schema.name]
        except FileNotFoundError:
            continue  # no stored schema yet: normalize uses the package's own
        if stored.stored_version_hash in package_schema.previous_hashes:
            log.warning(
                "%s: package %s was extracted under a schema the killed run never saved; "
                "saving it now",
                pipeline.pipeline_name,
                load_id,
            )
            pipeline.schemas.save_schema(package_schema)


def _load_after_schema_race(pipeline: dlt.Pipeline, failure: PipelineStepFailed) -> LoadInfo:
    """Vendors load into one dataset concurrently, and their first loads race to create dlt's
    shared tables (`_dlt_loads`, ...): PostgreSQL lets only one `create table if not exists` win.
    The extracted package is still pending, and dlt re-reads the destination before it updates
    the schema, so loading it again is safe and applies only what is missing."""
    for attempt in range(1, SCHEMA_RACE_RETRIES + 1):
        log.warning(
            "%s: schema update raced another pipeline; loading again (%d/%d)",
            pipeline.pipeline_name,
            attempt,
            SCHEMA_RACE_RETRIES,
        )
        time.sleep(0.2 * attempt)
        try:
            return pipeline.load()
        except PipelineStepFailed as exc:
            if not schema_update_failed(exc):
                raise
            failure = exc
    raise failure


def _lock(books: psycopg.Connection, vendor: str) -> None:
    # Session advisory lock: released by PostgreSQL when this process dies, so a crash never
    # leaves a stale lock, while two syncs of one vendor never share dlt's working folder.
    # It waits a little: a sync killed a moment ago holds it until PostgreSQL notices.
    books.execute(sql.SQL("set lock_timeout = {}").format(sql.Literal(f"{LOCK_WAIT_S}s")))
    try:
        books.execute("select pg_advisory_lock(hashtext(%s))", (f"lazi:ingest:{vendor}",))
    except psycopg.errors.LockNotAvailable:
        raise SourceError(
            vendor, "sync", "another sync of this vendor is running; try later"
        ) from None
    finally:
        books.execute("reset lock_timeout")


def _close_interrupted(books: psycopg.Connection, vendor: str) -> None:
    """Rows still 'running' while we hold the vendor's lock belong to a run that was killed."""
    books.execute(
        """
        update sync.inbound_log
        set status = 'failed', finished_at = now(),
            error = 'interrupted: the process ended before the run finished'
        where vendor = %s and status = 'running'
        """,
        (vendor,),
    )


def _log_run(
    books: psycopg.Connection,
    run_id: uuid.UUID,
    vendor: str,
    options: SyncOptions,
    status: str,
    error: str | None = None,
    endpoints: list[dict[str, Any]] | None = None,
) -> None:
    """One row per run (endpoint '(run)') beside the per-endpoint rows."""
    endpoints = endpoints or []
    if status == "running":
        books.execute(
            "insert into sync.inbound_log (run_id, vendor, endpoint, sync_type, status) "
            "values (%s, %s, '(run)', %s, 'running')",
            (run_id, vendor, options.sync_type),
        )
        return
    books.execute(
        """
        update sync.inbound_log
        set status = %s, finished_at = now(), error = %s,
            records_fetched = %s, records_created = %s, records_unchanged = %s,
            records_deleted = %s, requests_made = %s
        where run_id = %s and endpoint = '(run)'
        """,
        (
            status,
            error,
            sum(e["fetched"] for e in endpoints),
            sum(e["new_versions"] for e in endpoints),
            sum(e["unchanged"] for e in endpoints),
            sum(e["deleted_marked"] for e in endpoints),
            sum(e["requests"] for e in endpoints),
            run_id,
        ),
    )


def _count_new_versions(
    books: psycopg.Connection, endpoints: list[EndpointStats], load_ids: list[str]
) -> dict[tuple[str, str], int]:
    """Rows this run added, per (table, scope), found by the run's dlt load ids."""
    counts: dict[tuple[str, str], int] = {}
    if not load_ids:
        return counts
    for table in sorted({e.table for e in endpoints}):
        scope_column = raw_guarantees.scope_column(books, table)
        if scope_column is None:
            continue
        rows = books.execute(
            sql.SQL(
                "select {scope}::text, count(*) from raw.{table} "
                "where _dlt_load_id = any(%s) group by 1"
            ).format(scope=sql.Identifier(scope_column), table=sql.Identifier(table)),
            (load_ids,),
        ).fetchall()
        for scope, count in rows:
            counts[(table, scope)] = count
    return counts


def _record(
    books: psycopg.Connection,
    run_id: uuid.UUID,
    vendor: str,
    options: SyncOptions,
    endpoints: list[EndpointStats],
    new_versions: dict[tuple[str, str], int],
    status: str,
    error: str | None = None,
) -> list[dict[str, Any]]:
    written = []
    for e in endpoints:
        new = new_versions.get((e.table, e.scope), 0)
        entry = {
            "table": e.table,
            "endpoint": e.endpoint,
            "scope": e.scope,
            "fetched": e.fetched,
            "new_versions": new,
            "unchanged": max(0, e.fetched + e.deleted_marked - new),
            "deleted_marked": e.deleted_marked,
            "requests": e.requests,
            "type_errors": e.type_errors,
        }
        written.append(entry)
        books.execute(
            """
            insert into sync.inbound_log (
                run_id, vendor, endpoint, scope, sync_type, status, records_fetched,
                records_created, records_unchanged, records_deleted, requests_made,
                cursor_before, cursor_after, started_at, finished_at, error, details
            ) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                      to_timestamp(%s), to_timestamp(%s), %s, %s)
            """,
            (
                run_id,
                vendor,
                e.endpoint,
                e.scope,
                options.sync_type,
                status,
                e.fetched,
                new,
                entry["unchanged"],
                e.deleted_marked,
                e.requests,
                e.cursor_before,
                e.cursor_after,
                e.started,
                e.finished or time.time(),
                error,
                orjson.dumps(e.details()).decode(),
            ),
        )
        books.execute(
            """
            insert into raw.sync_state as s (
                vendor, table_name, endpoint, scope, cursor_value, last_full_sync,
                last_incremental_sync, sync_status, records_total, last_error
            ) values (%s, %s, %s, %s, %s,
                      case when %s and %s = 'succeeded' then now() end,
                      case when not %s and %s = 'succeeded' then now() end,
                      %s, %s, %s)
            on conflict (vendor, table_name, scope) do update set
                endpoint = excluded.endpoint,
                cursor_value = case when excluded.sync_status = 'succeeded'
                                    then excluded.cursor_value else s.cursor_value end,
                last_full_sync = coalesce(excluded.last_full_sync, s.last_full_sync),
                last_incremental_sync = coalesce(
                    excluded.last_incremental_sync, s.last_incremental_sync),
                sync_status = excluded.sync_status,
                records_total = s.records_total + excluded.records_total,
                last_error = excluded.last_error
            """,
            (
                vendor,
                e.table,
                e.endpoint,
                e.scope,
                e.cursor_after,
                e.full,
                status,
                e.full,
                status,
                status,
                new,
                error,
            ),
        )
    return written


def _source_error(exc: BaseException) -> SourceError | None:
    """dlt wraps errors raised in a resource twice; find ours, which names the endpoint and
    carries the vendor's own words."""
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, SourceError):
            return inner
        inner = inner.__cause__ or inner.__context__
    return None


def _describe(vendor: str, exc: BaseException) -> str:
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, ConfigValueCannotBeCoercedException):
            # dlt's words name the source's parameter, not the variable that sets it
            kind = getattr(inner.hint, "__name__", str(inner.hint))
            return f"{variable(vendor, inner.field_name)} is not a valid {kind}"
        inner = inner.__cause__ or inner.__context__
    return mask_secrets(str(_source_error(exc) or exc))[:2000]
