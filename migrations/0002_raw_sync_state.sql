-- raw.sync_state: one row per vendor endpoint and scope (tenant, location or account).
-- The rest of raw belongs to dlt; this table is ours so that cursors are readable by people.
-- depends: 0001_schemas_and_extensions

create table raw.sync_state (
    vendor text not null check (vendor in ('servicetitan', 'gohighlevel', 'callrail')),
    table_name text not null,
    endpoint text not null,
    scope text not null default '',
    cursor_value text,
    last_full_sync timestamptz,
    last_incremental_sync timestamptz,
    sync_status text not null default 'never'
    check (sync_status in ('never', 'running', 'succeeded', 'failed')),
    records_total bigint not null default 0 check (records_total >= 0),
    last_error text,
    updated_at timestamptz not null default now(),
    primary key (vendor, table_name, scope)
);

comment on table raw.sync_state is
'Cursor and last full / incremental sync of each vendor endpoint and scope.';

create trigger sync_state_updated_at before update on raw.sync_state
for each row execute function audit.set_updated_at();
