-- audit.*: change history and API calls, partitioned by month, plus the error log.
-- Partitions are created ahead by audit.ensure_partitions(), which migrations and every ELT run
-- call, so no list of years is hard-coded; a default partition keeps a row that arrives before its
-- partition exists, and ensure_partitions moves such rows into the partition it then creates.
-- depends: 0001_schemas_and_extensions

create table audit.change_log (
    id bigint generated always as identity,
    occurred_at timestamptz not null default now(),
    schema_name text not null,
    table_name text not null,
    operation text not null check (operation in ('INSERT', 'UPDATE', 'DELETE')),
    row_key jsonb,
    old_data jsonb,
    new_data jsonb,
    changed_by text not null default current_user,
    session_user_name text not null default session_user,
    actor text,
    application_name text,
    transaction_id bigint not null default txid_current(),
    primary key (id, occurred_at)
) partition by range (occurred_at);

create index change_log_table_idx on audit.change_log (schema_name, table_name, occurred_at);

create table audit.api_log (
    id bigint generated always as identity,
    occurred_at timestamptz not null default now(),
    vendor text not null,
    direction text not null default 'outbound' check (direction in ('inbound', 'outbound')),
    method text not null,
    path text not null,
    status_code integer check (status_code between 100 and 599),
    response_time_ms integer check (response_time_ms >= 0),
    scope text,
    run_id uuid,
    request_id text,
    error text,
    primary key (id, occurred_at)
) partition by range (occurred_at);

create index api_log_vendor_idx on audit.api_log (vendor, occurred_at);

create table audit.change_log_default partition of audit.change_log default;
create table audit.api_log_default partition of audit.api_log default;

create table audit.error_log (
    id bigint generated always as identity primary key,
    occurred_at timestamptz not null default now(),
    error_type text not null,
    error_message text not null,
    source text not null,
    context jsonb not null default '{}'::jsonb,
    run_id uuid
);

create index error_log_occurred_idx on audit.error_log (occurred_at);
create index error_log_source_idx on audit.error_log (source, occurred_at);

-- Creates the monthly partitions of every partitioned audit table from p_months_back months ago
-- through p_months_ahead months ahead. Idempotent; returns how many partitions it created.
create or replace function audit.ensure_partitions(
    p_months_ahead integer default 36,
    p_months_back integer default 1
) returns integer
language plpgsql as $$
declare
    parent regclass;
    month_start date;
    month_end date;
    part_name text;
    default_part text;
    created integer := 0;
begin
    foreach parent in array array['audit.change_log'::regclass, 'audit.api_log'::regclass] loop
        default_part := parent::text || '_default';
        for i in -p_months_back .. p_months_ahead loop
            month_start := (date_trunc('month', now()) + make_interval(months => i))::date;
            month_end := (month_start + interval '1 month')::date;
            part_name := format('%s_y%sm%s',
                split_part(parent::text, '.', 2),
                to_char(month_start, 'YYYY'),
                to_char(month_start, 'MM'));
            continue when to_regclass('audit.' || part_name) is not null;
            -- Build the partition detached, move any rows the default partition caught for
            -- this month, then attach: attaching would fail while the default held them.
            execute format(
                'create table audit.%I (like %s including defaults including constraints)',
                part_name, parent);
            execute format(
                'with moved as (delete from %s where occurred_at >= %L and occurred_at < %L '
                'returning *) insert into audit.%I overriding system value select * from moved',
                default_part, month_start, month_end, part_name);
            execute format(
                'alter table %s attach partition audit.%I for values from (%L) to (%L)',
                parent, part_name, month_start, month_end);
            created := created + 1;
        end loop;
    end loop;
    return created;
end
$$;

do $$ begin perform audit.ensure_partitions(); end $$;
