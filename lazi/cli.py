"""`lazi`: the one entry point of the warehouse."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer

from lazi.config import display_url, mask_secrets
from lazi.errors import LaziError

# Rich tracebacks print local variables, which may hold credentials: plain tracebacks only.
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="LAZI warehouse command line.",
)
db_app = typer.Typer(no_args_is_help=True, help="The warehouse database.")
app.add_typer(db_app, name="db")

F = TypeVar("F", bound=Callable[..., Any])

CONNECT_WAIT_S = 5  # how long `lazi run` waits for a warehouse that refuses or times out
STAND_IN_SCALE = 300  # the stand-ins' size when `lazi run` has no credentials for a vendor


def clear_errors(func: F) -> F:
    """Turn a LaziError into one line on stderr and exit code 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LaziError as exc:
            typer.echo(f"error: {mask_secrets(str(exc))}", err=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
@clear_errors
def _private_run_data() -> None:
    # Before any command writes: run data (Prefect, dlt, dbt, logs) is the owner's alone.
    from lazi.private_files import make_private

    make_private()


@db_app.command("start")
@clear_errors
def db_start() -> None:
    """Start the project-local PostgreSQL (created on first use)."""
    from lazi.db.warehouse import local_cluster

    cluster = local_cluster()
    started = cluster.start()
    for notice in cluster.notices:
        typer.echo(f"notice: {notice}")
    status = cluster.status()
    verb = "started" if started else "already running"
    typer.echo(f"local PostgreSQL {status.version} {verb} on 127.0.0.1:{status.port}")
    typer.echo(f"url: {mask_secrets(cluster.url())}  (lazi db url --show-password to reveal)")


@db_app.command("stop")
@clear_errors
def db_stop() -> None:
    """Stop the project-local PostgreSQL."""
    from lazi.db.warehouse import local_cluster

    stopped = local_cluster().stop()
    typer.echo("local PostgreSQL stopped" if stopped else "local PostgreSQL was not running")


@db_app.command("status")
@clear_errors
def db_status() -> None:
    """Is the project-local PostgreSQL created and running?"""
    import os

    from lazi.db.warehouse import local_cluster

    if os.environ.get("DATABASE_URL"):
        typer.echo(f"DATABASE_URL is set: {display_url(os.environ['DATABASE_URL'].strip())}")
    status = local_cluster().status()
    if not status.initialized:
        typer.echo(f"local PostgreSQL: not created yet ({status.data_dir})")
        raise typer.Exit(3)
    state = f"running (pid {status.pid})" if status.running else "stopped"
    typer.echo(f"local PostgreSQL {status.version}: {state}, 127.0.0.1:{status.port}")
    typer.echo(f"data: {status.data_dir}")
    if not status.running:
        raise typer.Exit(3)


@db_app.command("url")
@clear_errors
def db_url(
    show_password: Annotated[
        bool, typer.Option("--show-password", help="Print the password instead of ****.")
    ] = False,
) -> None:
    """Print the connection URL of the warehouse in use (for psql, scripts and BI tools)."""
    from lazi.db.warehouse import resolve

    wh = resolve(start_local=False)
    typer.echo(wh.url if show_password else wh.masked_url)


@db_app.command("migrate")
@clear_errors
def db_migrate() -> None:
    """Apply pending migrations (a no-op when there are none)."""
    from lazi.db.migrate import migrate
    from lazi.db.warehouse import resolve

    wh = resolve()
    result = migrate(wh.url)
    for migration_id in result.applied:
        typer.echo(f"applied {migration_id}")
    typer.echo(f"{len(result.applied)} applied, {result.already_applied} already applied")


@app.command("upgrade")
@clear_errors
def upgrade() -> None:
    """After new code: apply pending migrations and rebuild (--full-refresh) exactly the
    incremental models whose definition changed since the last successful build."""
    from lazi.db.warehouse import resolve
    from lazi.upgrade import upgrade as run_upgrade

    result = run_upgrade(resolve().url)
    for migration_id in result.migrations_applied:
        typer.echo(f"applied {migration_id}")
    if not result.compared:
        typer.echo(
            "no manifest of a successful build to compare with yet: nothing rebuilt "
            "(each successful build saves one)"
        )
    for unique_id in result.rebuilt:
        typer.echo(f"rebuilt {unique_id} (--full-refresh)")
    typer.echo(
        f"{len(result.migrations_applied)} migrations applied, "
        f"{len(result.rebuilt)} changed incremental models rebuilt"
    )


@app.command("run")
@clear_errors
def run(
    full_checks: Annotated[
        bool,
        typer.Option(
            help="Run every dbt test. --no-full-checks is the build for a run after every "
            "load: without the tests that read whole staging views and the unit tests."
        ),
    ] = True,
) -> None:
    """Run the ELT flow once: prepare the warehouse, load, transform, push what changed to the
    vendors (reverse ETL); print a summary."""
    from lazi import prefect_env
    from lazi.db.warehouse import connect, resolve
    from lazi.ingest import check_settings

    began = time.monotonic()
    wh = resolve()
    # Before Prefect starts: a wrong password or database is one line now, not a minute of
    # task retries and tracebacks; a server that is restarting gets a short wait.
    connect(wh.url, wait_s=CONNECT_WAIT_S).close()
    check_settings()
    where = "local cluster" if wh.local else "DATABASE_URL"
    typer.echo(f"[1/2] warehouse ready ({where}): {wh.masked_url}")
    typer.echo(
        "[2/2] running the Prefect flow 'elt': migrate, load every vendor, dbt build, push, report "
        "(the first start of Prefect takes a while)"
    )
    prefect_env.configure()
    prefect_env.start_temporary_server()
    from flows.elt import elt
    from lazi.progress import reporting
    from lazi.stand_ins import stand_ins_where_needed

    try:
        with stand_ins_where_needed(STAND_IN_SCALE, wh.url) as stand_ins:
            if stand_ins.vendors:
                names = ", ".join(stand_ins.vendors)
                typer.echo(f"      no credentials for {names}: local stand-ins")
            with reporting():
                summary = elt(full_checks=full_checks)
        summary["simulated_vendors"] = stand_ins.vendors
        # the stand-ins' demo data needed the tables before the flow's own migration step
        summary["migrations_applied"] = [
            *stand_ins.migrations_applied,
            *summary["migrations_applied"],
        ]
        summary["migrations_already_applied"] -= len(stand_ins.migrations_applied)
    except LaziError:
        raise
    except Exception as exc:  # the flow already logged the details; keep the exit clean
        raise LaziError(f"the elt flow failed: {exc}") from None
    _print_summary(summary, time.monotonic() - began)


# Every argument, --help included, is dbt's.
@app.command(
    "dbt",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
@clear_errors
def dbt(ctx: typer.Context) -> None:
    """Run dbt against the warehouse in use: `lazi dbt debug`, `lazi dbt build -s master`."""
    from pathlib import Path

    from lazi.dbt_env import exec_with_warehouse

    exec_with_warehouse([str(Path(sys.executable).with_name("dbt")), *ctx.args])


sandbox_app = typer.Typer(no_args_is_help=True, help="Local stand-ins of the vendor APIs.")
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("serve")
@clear_errors
def sandbox_serve(
    scale: Annotated[int, typer.Option(help="ServiceTitan customers across tenants.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 7,
    as_json: Annotated[
        bool, typer.Option("--json", help="First line: one JSON object of URLs and credentials.")
    ] = False,
    no_limits: Annotated[
        bool, typer.Option("--no-limits", help="Lift the vendors' rate limits (benchmarks).")
    ] = False,
) -> None:
    """Serve ServiceTitan, GoHighLevel and CallRail stand-ins on loopback until Ctrl+C."""
    if scale < 1:
        raise LaziError("--scale must be at least 1")
    from lazi.sandbox.server import serve_forever

    serve_forever(scale, seed, as_json, limits=not no_limits)


webhooks_app = typer.Typer(no_args_is_help=True, help="The GoHighLevel webhook receiver.")
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("serve")
@clear_errors
def webhooks_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8090,
) -> None:
    """Receive GoHighLevel webhooks: verify the signature, store each event once in raw."""
    from dlt_pipelines.gohighlevel.webhooks import serve_webhooks

    serve_webhooks(host, port)


@app.command("sync")
@clear_errors
def sync(
    vendor: Annotated[str, typer.Argument(help="servicetitan, gohighlevel, callrail or all")],
    full: Annotated[
        bool, typer.Option("--full", help="Read everything again and reconcile deletions.")
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="Backfill from this date (YYYY-MM-DD) instead of the cursor.")
    ] = None,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Load from freshly started local stand-ins.")
    ] = False,
) -> None:
    """Load one vendor (or all) into raw: incremental by default."""
    import os
    from datetime import UTC, datetime

    from lazi import ingest
    from lazi.db.migrate import migrate
    from lazi.db.warehouse import resolve
    from lazi.progress import reporting

    vendors = list(ingest.VENDORS) if vendor == "all" else [vendor]
    if any(v not in ingest.VENDORS for v in vendors):
        raise LaziError(f"unknown vendor {vendor!r}; choose {', '.join(ingest.VENDORS)} or all")
    since_at = None
    if since:
        try:
            since_at = datetime.fromisoformat(since).replace(tzinfo=UTC)
        except ValueError:
            raise LaziError(f"--since {since!r} is not a date like 2025-01-31") from None
    wh = resolve()
    migrate(wh.url)
    running = None
    if sandbox:
        from lazi.sandbox.server import describe, start_sandbox

        running = start_sandbox(300, 7)
        os.environ.update(ingest.source_env(describe(running)))
    failed = []
    try:
        for name in vendors:
            if not sandbox and not ingest.vendor_configured(name) and not _has_secrets_file():
                raise LaziError(
                    f"no credentials for {name}: set SOURCES__{name.upper()}__… (see README) "
                    "or use --sandbox to load from the local stand-ins"
                )
            typer.echo(f"syncing {name} ({'full' if full else 'incremental'}) …")
            try:
                with reporting():
                    result = ingest.run_vendor(name, wh.url, full=full, since=since_at)
            except Exception as exc:  # one vendor failing must not hide the others' results
                typer.echo(f"error: {mask_secrets(str(exc))}", err=True)
                failed.append(name)
                continue
            for e in result.endpoints:
                typer.echo(
                    f"  {e['table']:<34} {e['scope']:<22} fetched {e['fetched']:>8}  "
                    f"new {e['new_versions']:>8}  deleted {e['deleted_marked']:>5}  "
                    f"requests {e['requests']:>5}"
                )
            typer.echo(
                f"{name}: {result.fetched} fetched, {result.new_versions} new versions "
                f"in {result.seconds:.1f} s ({result.steps})"
            )
    finally:
        if running is not None:
            running.stop()
    if failed:
        raise LaziError(f"sync failed for {', '.join(failed)}; see the messages above")


@app.command("push")
@clear_errors
def push(
    target: Annotated[
        list[str] | None,
        typer.Option(
            help="Push only this target (repeatable): callrail_calls, ghl_contacts, "
            "ghl_opportunities, servicetitan_customers, servicetitan_customer_tags, "
            "servicetitan_pricebook."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent; send and queue nothing.")
    ] = False,
    lease_seconds: Annotated[
        float, typer.Option(help="How long a claimed queue row is this worker's alone.")
    ] = 120.0,
) -> None:
    """Reverse ETL: queue what changed in the sync_* models, then deliver the queue."""
    from lazi.db.warehouse import resolve
    from lazi.reverse_etl.push import push as run_push
    from lazi.reverse_etl.worker import WorkerOptions

    wh = resolve()
    result = run_push(wh.url, target, dry_run=dry_run, options=WorkerOptions(lease_s=lease_seconds))
    for plan in result.get("plans", []):
        typer.echo(
            f"{plan['target']}: {plan['create']} to create, {plan['update']} to update, "
            f"{plan['skip']} unchanged (dry run: nothing sent)"
        )
        for sample in plan["samples"]:
            typer.echo(f"  {sample['entity_id']}: {sample['changes']}")
    for name, count in result.get("enqueued", {}).items():
        typer.echo(f"{name}: {count} enqueued")
    if "delivery" in result:
        typer.echo(", ".join(f"{k} {v}" for k, v in result["delivery"].items()))


queue_app = typer.Typer(no_args_is_help=True, help="The reverse-ETL queue (sync.outbound_queue).")
app.add_typer(queue_app, name="queue")


@queue_app.command("status")
@clear_errors
def queue_status() -> None:
    """Rows per target and status, and the latest errors."""
    from lazi.db import warehouse
    from lazi.reverse_etl import queue

    with warehouse.connect(warehouse.resolve(start_local=False).url) as conn:
        counts = queue.status_counts(conn)
        errors = queue.recent_errors(conn)
    if not counts:
        typer.echo("the queue is empty")
    for system, entity, state, rows, oldest in counts:
        typer.echo(f"  {system:<12} {entity:<16} {state:<11} {rows:>8}  oldest {_ts(oldest)}")
    for row_id, system, entity, entity_id, state, attempts, error in errors:
        typer.echo(f"  #{row_id} {system} {entity} {entity_id} {state} ({attempts}): {error}")


def _queue_rows(ids: list[int] | None, status: str | None, action: str) -> tuple:
    if not ids and not status:
        raise LaziError(f"name the rows to {action}: --id N (repeatable) or --status")
    return ids, status


@queue_app.command("retry")
@clear_errors
def queue_retry(
    row_id: Annotated[list[int] | None, typer.Option("--id", help="Queue row id.")] = None,
    status: Annotated[str | None, typer.Option(help="Every row in this status.")] = None,
) -> None:
    """Send failed or dead rows again (fresh attempts)."""
    from lazi.db import warehouse
    from lazi.reverse_etl import queue

    ids, state = _queue_rows(row_id, status, "retry")
    with warehouse.connect(warehouse.resolve(start_local=False).url, autocommit=True) as conn:
        typer.echo(f"{queue.retry(conn, ids, state)} rows back to pending")


@queue_app.command("discard")
@clear_errors
def queue_discard(
    row_id: Annotated[list[int] | None, typer.Option("--id", help="Queue row id.")] = None,
    status: Annotated[str | None, typer.Option(help="Every row in this status.")] = None,
) -> None:
    """Never send these rows (pending, failed or dead ones)."""
    from lazi.db import warehouse
    from lazi.reverse_etl import queue

    ids, state = _queue_rows(row_id, status, "discard")
    with warehouse.connect(warehouse.resolve(start_local=False).url, autocommit=True) as conn:
        typer.echo(f"{queue.discard(conn, ids, state)} rows discarded")


conflicts_app = typer.Typer(no_args_is_help=True, help="Reverse-ETL conflicts (sync.conflicts).")
app.add_typer(conflicts_app, name="conflicts")


@conflicts_app.command("list")
@clear_errors
def conflicts_list() -> None:
    """Open conflicts: a person changed a field at the vendor since the warehouse read it."""
    from lazi.db import warehouse
    from lazi.reverse_etl import conflicts

    with warehouse.connect(warehouse.resolve(start_local=False).url) as conn:
        rows = conflicts.open_conflicts(conn)
    if not rows:
        typer.echo("no open conflicts")
    for conflict_id, system, entity, entity_id, detected, remote, ours in rows:
        typer.echo(
            f"  #{conflict_id} {system} {entity} {entity_id} {_ts(detected)}: "
            f"vendor {remote}, warehouse {ours}"
        )


@conflicts_app.command("resolve")
@clear_errors
def conflicts_resolve(
    conflict_id: Annotated[int, typer.Argument(help="Conflict id (lazi conflicts list).")],
    keep: Annotated[str, typer.Option(help="remote (the vendor's value stays) or warehouse.")],
) -> None:
    """Close a conflict: keep the vendor's value, or queue the warehouse's value again."""
    import getpass

    from lazi.db import warehouse
    from lazi.reverse_etl import conflicts

    if keep not in ("remote", "warehouse"):
        raise LaziError("--keep takes remote or warehouse")
    with warehouse.connect(warehouse.resolve(start_local=False).url, autocommit=True) as conn:
        try:
            queued = conflicts.resolve(conn, conflict_id, keep, getpass.getuser())
        except LookupError as exc:
            raise LaziError(str(exc)) from None
    typer.echo(
        f"conflict #{conflict_id} resolved"
        + (f"; queue row #{queued} will write the warehouse's value" if queued else "")
    )


def _has_secrets_file() -> bool:
    from lazi.config import PROJECT_ROOT

    return (PROJECT_ROOT / ".dlt" / "secrets.toml").exists()


@app.command("status")
@clear_errors
def status() -> None:
    """Show the warehouse, each endpoint's sync state and the latest runs."""
    from lazi.db import report, warehouse

    wh = warehouse.resolve(start_local=False)
    with warehouse.connect(wh.url) as conn:
        summary = report.summarize(conn)
        states = report.sync_states(conn)
        runs = report.recent_syncs(conn)
        flagged = report.flagged_records(conn)
    typer.echo(f"warehouse: {wh.masked_url} (PostgreSQL {summary['server_version']})")
    tables = ", ".join(f"{k} {v}" for k, v in summary["tables_per_schema"].items())
    typer.echo(f"tables: {tables}")
    typer.echo(f"sync state ({len(states)} endpoints):")
    for vendor, table, scope, state, full, incr, total in states:
        typer.echo(
            f"  {vendor:<12} {table:<32} {scope:<10} {state:<9} full={_ts(full)} "
            f"incremental={_ts(incr)} records={total}"
        )
    typer.echo(f"flagged records, a value of an unexpected type ({len(flagged)} tables):")
    for table, count in flagged:
        typer.echo(f"  raw.{table:<32} {count} (see type_errors; unreadable values are null)")
    typer.echo(f"latest runs ({len(runs)}):")
    for started, vendor, endpoint, scope, kind, state, fetched, new, same, ms, err in runs:
        line = (
            f"  {_ts(started)} {vendor}/{endpoint} {scope} {kind} {state}: fetched {fetched}, "
            f"new {new}, unchanged {same}, {ms if ms is not None else '-'} ms"
        )
        typer.echo(line + (f" error: {err}" if err else ""))

    _print_deployments()


def _print_deployments() -> None:
    """Each deployment's next and last run, when a Prefect server answers."""
    import os

    from lazi import serve as served

    api_url = served.api_url_in_use()
    if api_url is None:
        typer.echo("deployments: no Prefect server answers (lazi serve starts one)")
        return
    os.environ["PREFECT_API_URL"] = api_url
    rows = served.deployment_runs()
    typer.echo(f"deployments ({len(rows)}, {api_url}):")
    for row in rows:
        typer.echo(
            f"  {row.name:<22} {row.schedule:<22} next {_ts(row.next_run)}  "
            f"last {_ts(row.last_run)} {row.last_state}"
        )


@app.command("serve")
@clear_errors
def serve(
    stop: Annotated[bool, typer.Option("--stop", help="Stop what `lazi serve` started.")] = False,
    port: Annotated[int, typer.Option(help="Port of the Prefect server on loopback.")] = 4200,
    scale: Annotated[int, typer.Option(help="Size of the vendor stand-ins' data.")] = 300,
    workers: Annotated[int, typer.Option(help="Worker processes in the work pool.")] = 1,
) -> None:
    """Run the warehouse on its schedules: a Prefect server on PostgreSQL, the deployments,
    a worker (and the vendor stand-ins for vendors without credentials)."""
    from lazi import serve as served

    if stop:
        stopped = served.stop()
        typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
        return
    typer.echo("starting the Prefect server, the deployments and the worker (a minute at first)")
    result = served.serve(port=port, scale=scale, workers=workers)
    if result.simulated:
        typer.echo(f"stand-ins for {', '.join(result.simulated)} (no credentials)")
    typer.echo(f"deployments: {', '.join(result.deployments)}")
    typer.echo(f"running: {', '.join(result.started) or '-'} (logs in {served.serve_dir()})")
    typer.echo(f"Prefect API: {result.api_url}")
    if result.ui_url:
        typer.echo(f"Prefect UI:  {result.ui_url}")
    typer.echo("stop with: lazi serve --stop")


@app.command("docs")
@clear_errors
def docs(
    port: Annotated[int, typer.Option(help="Port on loopback.")] = 8080,
) -> None:
    """Serve the generated dbt docs on loopback (generated first when missing) until Ctrl+C."""
    import functools
    import http.server

    from lazi.config import DBT_TARGET_DIR

    if not (DBT_TARGET_DIR / "catalog.json").exists():
        from lazi.dbt_env import run_with_warehouse

        typer.echo("generating the dbt docs (dbt docs generate) …")
        if run_with_warehouse(["docs", "generate"]) != 0:
            raise LaziError("dbt docs generate failed; run `lazi dbt docs generate` to see why")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(DBT_TARGET_DIR))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        typer.echo(f"dbt docs: http://127.0.0.1:{port}/  (Ctrl+C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


def _ts(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _print_summary(summary: dict[str, Any], seconds: float) -> None:
    typer.echo("")
    typer.echo("summary")
    typer.echo(f"  PostgreSQL       {summary['server_version']}")
    applied = summary["migrations_applied"]
    typer.echo(
        f"  migrations       {len(applied)} applied now, "
        f"{summary['migrations_already_applied']} already applied"
    )
    typer.echo(f"  audit partitions {summary['partitions_created']} created")
    if summary.get("simulated_vendors"):
        typer.echo(f"  stand-ins        {', '.join(summary['simulated_vendors'])} (no credentials)")
    for load in summary.get("loads", []):
        typer.echo(
            f"  load {load['vendor']:<12} {load['fetched']} fetched, "
            f"{load['new_versions']} new versions, {load['deleted_marked']} deletions marked, "
            f"{load['requests']} requests, {(load['duration_ms'] or 0) / 1000:.1f} s"
        )
    if "dbt" in summary:
        built = ", ".join(f"{n} {status}" for status, n in sorted(summary["dbt"].items()))
        typer.echo(f"  dbt build        {built}")
    if "push" in summary:
        enqueued = sum(summary["push"]["enqueued"].values())
        sent = ", ".join(f"{n} {outcome}" for outcome, n in summary["push"]["delivery"].items())
        typer.echo(f"  push             {enqueued} enqueued; {sent}")
    tables = ", ".join(f"{k} {v}" for k, v in summary["tables_per_schema"].items())
    typer.echo(f"  tables           {tables}")
    typer.echo(f"  elapsed          {seconds:.1f} s")


def main() -> None:  # pragma: no cover - console entry for `python -m lazi`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
