-- sync.*: the reverse-ETL queue, the inbound run log, change detection, locks and conflicts.
-- depends: 0001_schemas_and_extensions

create table sync.outbound_queue (
    id bigint generated always as identity primary key,
    target_system text not null check (
        target_system in ('servicetitan', 'gohighlevel', 'callrail')
    ),
    entity_type text not null,
    entity_id text not null,
    operation text not null check (
        operation in ('create', 'update', 'upsert', 'delete', 'note', 'tag')
    ),
    payload jsonb not null,
    idempotency_key text not null unique,
    status text not null default 'pending'
    check (status in ('pending', 'in_progress', 'succeeded', 'failed', 'dead', 'conflict')),
    attempts integer not null default 0 check (attempts >= 0),
    max_attempts integer not null default 8 check (max_attempts > 0),
    next_attempt_at timestamptz not null default now(),
    claimed_by text,
    claimed_at timestamptz,
    last_error text,
    response jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    completed_at timestamptz
);

-- Workers claim with FOR UPDATE SKIP LOCKED over the due pending rows only.
create index outbound_queue_due_idx on sync.outbound_queue (next_attempt_at)
where status = 'pending';
create index outbound_queue_entity_idx on sync.outbound_queue (
    target_system, entity_type, entity_id
);
create index outbound_queue_claimed_idx on sync.outbound_queue (claimed_at)
where status = 'in_progress';

create trigger outbound_queue_updated_at before update on sync.outbound_queue
for each row execute function audit.set_updated_at();

create table sync.inbound_log (
    id bigint generated always as identity primary key,
    run_id uuid not null,
    vendor text not null,
    endpoint text not null,
    scope text not null default '',
    sync_type text not null check (
        sync_type in ('full', 'incremental', 'backfill', 'webhook', 'reconcile', 'migrate')
    ),
    status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
    records_fetched bigint not null default 0 check (records_fetched >= 0),
    records_created bigint not null default 0 check (records_created >= 0),
    records_unchanged bigint not null default 0 check (records_unchanged >= 0),
    records_deleted bigint not null default 0 check (records_deleted >= 0),
    requests_made integer not null default 0 check (requests_made >= 0),
    cursor_before text,
    cursor_after text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    duration_ms bigint generated always as (
        (extract(epoch from (finished_at - started_at)) * 1000)::bigint
    ) stored,
    error text,
    details jsonb not null default '{}'::jsonb
);

create index inbound_log_endpoint_idx on sync.inbound_log (vendor, endpoint, started_at desc);
create index inbound_log_run_idx on sync.inbound_log (run_id);

create table sync.entity_hashes (
    entity_type text not null,
    entity_id text not null,
    raw_hash text,
    master_hash text,
    last_pushed_hash text,
    needs_push boolean generated always as (
        master_hash is not null and master_hash is distinct from last_pushed_hash
    ) stored,
    last_pushed_at timestamptz,
    updated_at timestamptz not null default now(),
    primary key (entity_type, entity_id)
);

create index entity_hashes_needs_push_idx on sync.entity_hashes (entity_type)
where needs_push;

create trigger entity_hashes_updated_at before update on sync.entity_hashes
for each row execute function audit.set_updated_at();

create table sync.locks (
    lock_key text primary key,
    locked_by text not null,
    acquired_at timestamptz not null default now(),
    expires_at timestamptz not null,
    check (expires_at > acquired_at)
);

create index locks_expires_idx on sync.locks (expires_at);

create table sync.conflicts (
    id bigint generated always as identity primary key,
    queue_id bigint references sync.outbound_queue (id) on delete set null,
    target_system text not null,
    entity_type text not null,
    entity_id text not null,
    conflict_type text not null check (
        conflict_type in ('remote_modified', 'remote_deleted', 'validation', 'duplicate')
    ),
    st_data jsonb,
    crm_data jsonb,
    detected_at timestamptz not null default now(),
    resolved_at timestamptz,
    resolution text check (resolution in ('keep_remote', 'keep_crm', 'merged', 'ignored')),
    resolved_by text,
    check ((resolved_at is null) = (resolution is null))
);

create index conflicts_open_idx on sync.conflicts (entity_type, entity_id)
where resolved_at is null;
