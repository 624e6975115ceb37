"""Migrations: idempotent, complete against the seed inventory, partitions and audit triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from lazi.db.migrate import migrate
from lazi.errors import LaziError
from tests.conftest import create_database

# The seed inventory's tables with the key columns it lists for each.
SEED_COLUMNS: dict[str, set[str]] = {
    "sync.outbound_queue": {"entity_type", "entity_id", "operation", "payload", "status"},
    "sync.inbound_log": {"sync_type", "records_fetched", "records_created", "status"},
    "sync.entity_hashes": {"entity_type", "entity_id", "raw_hash", "master_hash", "needs_push"},
    "sync.locks": {"lock_key", "locked_by", "expires_at"},
    "sync.conflicts": {"entity_type", "entity_id", "conflict_type", "st_data", "crm_data"},
    "audit.change_log": {"schema_name", "table_name", "operation", "old_data", "new_data"},
    "audit.api_log": {"method", "path", "status_code", "response_time_ms"},
    "audit.error_log": {"error_type", "error_message", "source", "context"},
    "workflow.stage_actions": {"stage_id", "trigger_type", "action_type", "action_config"},
    "workflow.field_mappings": {"source_entity", "source_field", "dest_entity", "dest_field"},
    "workflow.definitions": {"name", "trigger_type", "steps", "on_error"},
    "workflow.executions": {"workflow_id", "status", "current_step", "step_results"},
    "workflow.transformations": {"source_type", "rules", "dest_type"},
    "workflow.merge_rules": {"target_entity", "sources", "field_strategies"},
    "workflow.messaging_templates": {"name", "channel", "body_template", "required_variables"},
    "raw.sync_state": {"table_name", "endpoint", "last_full_sync", "sync_status"},
    "crm.pricebook_overrides": {"st_pricebook_id", "override_price", "pending_sync"},
}


def schema_fingerprint(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            """
            select table_schema, table_name, column_name, data_type
            from information_schema.columns
            where table_schema in ('raw', 'sync', 'audit', 'workflow', 'crm')
            order by 1, 2, 3
            """
        ).fetchall()


def test_migrations_apply_twice_without_change(empty_db: str) -> None:
    first = migrate(empty_db)
    assert first.applied, "a new database gets every migration"
    before = schema_fingerprint(empty_db)
    second = migrate(empty_db)
    assert second.applied == []
    assert second.already_applied == len(first.applied)
    assert schema_fingerprint(empty_db) == before


@pytest.mark.parametrize("table", sorted(SEED_COLUMNS))
def test_seed_table_has_listed_columns(migrated_db: str, table: str) -> None:
    schema, name = table.split(".")
    with psycopg.connect(migrated_db) as conn:
        columns = {
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = %s",
                (schema, name),
            )
        }
    assert columns, f"{table} does not exist"
    assert SEED_COLUMNS[table] <= columns, f"{table} lacks {SEED_COLUMNS[table] - columns}"


def test_schemas_and_required_extensions(migrated_db: str) -> None:
    with psycopg.connect(migrated_db) as conn:
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace")}
        extensions = {r[0] for r in conn.execute("select extname from pg_extension")}
    assert {"raw", "staging", "master", "crm", "marts", "workflow", "sync", "audit"} <= schemas
    assert {"pg_trgm", "btree_gin"} <= extensions


def test_pricebook_override_edit_writes_one_change_log_row(migrated_db: str) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        row_id = conn.execute(
            "insert into crm.pricebook_overrides (tenant_id, item_type, st_pricebook_id, "
            "override_price) values (1, 'material', 42, 10.00) returning id"
        ).fetchone()[0]
        conn.execute("set lazi.actor = 'jane@example.com'")
        before = conn.execute("select count(*) from audit.change_log").fetchone()[0]
        conn.execute(
            "update crm.pricebook_overrides set override_price = 12.50 where id = %s", (row_id,)
        )
        rows = conn.execute(
            "select operation, old_data ->> 'override_price', new_data ->> 'override_price', "
            "changed_by, actor, row_key ->> 'id' from audit.change_log "
            "where table_name = 'pricebook_overrides' and operation = 'UPDATE'"
        ).fetchall()
        after = conn.execute("select count(*) from audit.change_log").fetchone()[0]
    assert after - before == 1
    assert rows == [("UPDATE", "10.00", "12.50", "postgres", "jane@example.com", str(row_id))]


def test_no_op_update_and_delete_are_logged_correctly(migrated_db: str) -> None:
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        row_id = conn.execute(
            "insert into crm.pricebook_overrides (tenant_id, item_type, st_pricebook_id, "
            "override_price) values (1, 'service', 7, 99) returning id"
        ).fetchone()[0]
        count = "select count(*) from audit.change_log where row_key ->> 'id' = %s"
        assert conn.execute(count, (str(row_id),)).fetchone()[0] == 1  # the insert
        conn.execute(
            "update crm.pricebook_overrides set override_price = 99 where id = %s", (row_id,)
        )
        assert conn.execute(count, (str(row_id),)).fetchone()[0] == 1  # re-run: not an edit
        conn.execute("delete from crm.pricebook_overrides where id = %s", (row_id,))
        last = conn.execute(
            "select operation, old_data is not null, new_data is null from audit.change_log "
            "where row_key ->> 'id' = %s order by id desc limit 1",
            (str(row_id),),
        ).fetchone()
    assert last == ("DELETE", True, True)


@pytest.mark.parametrize("table", ["audit.api_log", "audit.change_log"])
def test_row_dated_two_years_ahead_inserts_into_a_real_partition(
    migrated_db: str, table: str
) -> None:
    when = datetime.now(UTC) + timedelta(days=2 * 365)
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        if table == "audit.api_log":
            conn.execute(
                "insert into audit.api_log (occurred_at, vendor, method, path, status_code, "
                "response_time_ms) values (%s, 'servicetitan', 'GET', '/crm/v2/x', 200, 12)",
                (when,),
            )
        else:
            conn.execute(
                "insert into audit.change_log (occurred_at, schema_name, table_name, operation) "
                "values (%s, 'crm', 'x', 'INSERT')",
                (when,),
            )
        partition = conn.execute(
            f"select tableoid::regclass::text from {table} where occurred_at = %s", (when,)
        ).fetchone()[0]
    assert partition == f"{table}_y{when:%Y}m{when:%m}"


def test_ensure_partitions_moves_rows_caught_by_the_default_partition(migrated_db: str) -> None:
    far = datetime.now(UTC) + timedelta(days=6 * 365)
    with psycopg.connect(migrated_db, autocommit=True) as conn:
        conn.execute(
            "insert into audit.api_log (occurred_at, vendor, method, path) "
            "values (%s, 'callrail', 'GET', '/v3/a/1/calls.json')",
            (far,),
        )
        where = "select tableoid::regclass::text from audit.api_log where occurred_at = %s"
        assert conn.execute(where, (far,)).fetchone()[0] == "audit.api_log_default"
        created = conn.execute("select audit.ensure_partitions(80, 0)").fetchone()[0]
        assert created > 0
        assert conn.execute(where, (far,)).fetchone()[0] == f"audit.api_log_y{far:%Y}m{far:%m}"
        assert conn.execute("select audit.ensure_partitions(80, 0)").fetchone()[0] == 0


def test_failed_migration_leaves_nothing_half_created(pg_cluster, tmp_path, monkeypatch) -> None:
    url = create_database(pg_cluster, "bad")
    (tmp_path / "0001_ok.sql").write_text("create schema one;")
    (tmp_path / "0002_broken.sql").write_text(
        "-- depends: 0001_ok\ncreate table one.half (id int);\ncreate table one.half (id int);"
    )
    monkeypatch.setattr("lazi.db.migrate.MIGRATIONS_DIR", tmp_path)
    with pytest.raises(LaziError, match="rolled back"):
        migrate(url)
    with psycopg.connect(url) as conn:
        assert conn.execute("select to_regclass('one.half')").fetchone()[0] is None
        assert conn.execute("select to_regnamespace('one')").fetchone()[0] is not None
