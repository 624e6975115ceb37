-- Reverse ETL: what the queue worker needs beyond 0003 (leases with fencing tokens, the vendor
-- scope, content hash and last-read vendor values of each row), rate limits shared by every
-- worker, the CallRail conversion log, the queue row of each logged request, and the default
-- field mappings and merge rules.
-- depends: 0005_workflow_tables 0008_roles_and_grants

-- A claim hands out a new token from this sequence; every later write of the claimer is
-- conditional on it, so a worker whose lease expired and was taken over writes nothing.
create sequence sync.lease_token_seq;

alter table sync.outbound_queue
add column scope text not null default '',
add column content_hash text,
-- the vendor's values of the fields to write, as the warehouse last read them (conflicts)
add column read_state jsonb,
add column lease_token bigint,
add column lease_expires_at timestamptz;

-- 'discarded': an operator chose not to send the row (lazi queue discard).
alter table sync.outbound_queue drop constraint outbound_queue_status_check;
alter table sync.outbound_queue add constraint outbound_queue_status_check check (
    status in (
        'pending', 'in_progress', 'succeeded', 'failed', 'dead', 'conflict', 'discarded'
    )
);

-- Expired leases are reclaimed by looking up in-progress rows by expiry.
drop index sync.outbound_queue_claimed_idx;
create index outbound_queue_lease_idx on sync.outbound_queue (lease_expires_at)
where status = 'in_progress';
-- The rows of one record still to deliver (the oldest goes first, alone).
create index outbound_queue_open_entity_idx on sync.outbound_queue (
    target_system, entity_type, entity_id, id
)
where status in ('pending', 'in_progress');

alter table audit.api_log add column queue_id bigint;

-- Token buckets per vendor scope (a CallRail account, a GoHighLevel location, a ServiceTitan
-- tenant), one per documented window. A request takes a token from every bucket of its scope.
-- A bucket admits at most capacity + refill_per_s * window_s requests in any window, kept at
-- about 90 % of the vendor's limit so that the loader's reads fit beside the pushes.
create table sync.rate_limits (
    vendor text not null,
    window_name text not null,
    capacity numeric not null check (capacity >= 1),
    refill_per_s numeric not null check (refill_per_s > 0),
    description text,
    primary key (vendor, window_name)
);

insert into sync.rate_limits (vendor, window_name, capacity, refill_per_s, description) values
(
    'callrail', 'hour', 100, 800.0 / 3600,
    '1,000 requests an hour per account: at most 900 in any hour'
),
(
    'callrail', 'day', 1000, 8000.0 / 86400,
    '10,000 requests a day per account: at most 9,000 in any day'
),
(
    'gohighlevel', 'burst', 10, 8,
    '100 requests per 10 s per location: at most 90 in any 10 s'
),
(
    'gohighlevel', 'day', 1000, 170000.0 / 86400,
    '200,000 requests a day per location: at most 171,000 in any day'
),
(
    'servicetitan', 'second', 10, 40,
    '60 requests a second per tenant: at most 50 in any second'
);

create table sync.rate_buckets (
    vendor text not null,
    scope text not null,
    window_name text not null,
    tokens numeric not null,
    refilled_at timestamptz not null,
    primary key (vendor, scope, window_name),
    foreign key (vendor, window_name) references sync.rate_limits (
        vendor, window_name
    ) on delete cascade
);

-- Takes one token from every bucket of (vendor, scope) and returns 0, or takes none and returns
-- the seconds until every bucket holds one. The buckets' row locks serialise concurrent callers
-- for a moment, across processes and machines, inside the caller's transaction only (safe
-- behind a transaction-mode pooler).
create function sync.take_rate_token(p_vendor text, p_scope text)
returns double precision
language plpgsql as $$
declare
    wait_s double precision := 0;
    moment timestamptz;
begin
    insert into sync.rate_buckets (vendor, scope, window_name, tokens, refilled_at)
    select limits.vendor, p_scope, limits.window_name, limits.capacity, clock_timestamp()
    from sync.rate_limits as limits
    where limits.vendor = p_vendor
    on conflict do nothing;

    perform 1 from sync.rate_buckets as buckets
    where buckets.vendor = p_vendor and buckets.scope = p_scope
    order by buckets.window_name
    for update;
    moment := clock_timestamp();

    update sync.rate_buckets as buckets
    set
        tokens = least(
            limits.capacity,
            buckets.tokens
            + limits.refill_per_s * extract(epoch from moment - buckets.refilled_at)
        ),
        refilled_at = moment
    from sync.rate_limits as limits
    where
        buckets.vendor = p_vendor
        and buckets.scope = p_scope
        and limits.vendor = buckets.vendor
        and limits.window_name = buckets.window_name;

    select coalesce(max((1 - buckets.tokens) / limits.refill_per_s), 0)
    into wait_s
    from sync.rate_buckets as buckets
    inner join sync.rate_limits as limits
        on buckets.vendor = limits.vendor and buckets.window_name = limits.window_name
    where buckets.vendor = p_vendor and buckets.scope = p_scope and buckets.tokens < 1;

    if wait_s > 0 then
        return wait_s;
    end if;
    update sync.rate_buckets as buckets set tokens = buckets.tokens - 1
    where buckets.vendor = p_vendor and buckets.scope = p_scope;
    return 0;
end
$$;

-- Every conversion sent to CallRail (a call that produced ServiceTitan revenue), written in the
-- transaction that marks its queue row delivered: one row per delivery.
create table sync.callrail_conversion_log (
    id bigint generated always as identity primary key,
    queue_id bigint not null unique references sync.outbound_queue (id) on delete cascade,
    account_id text not null,
    call_id text not null,
    value numeric(14, 2),
    lead_status text,
    tags text[],
    sent_fields jsonb not null,
    response jsonb,
    sent_at timestamptz not null default now()
);

create index callrail_conversion_log_call_idx on sync.callrail_conversion_log (
    account_id, call_id, sent_at
);

grant select, insert, update, delete on sync.rate_limits, sync.rate_buckets,
sync.callrail_conversion_log to lazi_reverse_etl;
grant usage, select on sequence sync.lease_token_seq to lazi_reverse_etl;
grant usage, select on all sequences in schema sync to lazi_reverse_etl;
grant execute on function sync.take_rate_token(text, text) to lazi_reverse_etl;

-- Push 3 (CallRail calls <- revenue): which fields of marts.sync_callrail_calls are written
-- to which CallRail call field. Adding a row adds a field to the next push.
insert into workflow.field_mappings (
    source_system, source_entity, source_field, dest_system, dest_entity, dest_field, direction
) values
('warehouse', 'sync_callrail_calls', 'revenue', 'callrail', 'calls', 'value', 'outbound'),
(
    'warehouse', 'sync_callrail_calls', 'lead_status', 'callrail', 'calls', 'lead_status',
    'outbound'
),
('warehouse', 'sync_callrail_calls', 'tags', 'callrail', 'calls', 'tags', 'outbound')
on conflict do nothing;

-- Before overwriting a field the vendor may have had edited by a person, the worker compares
-- the vendor's current value with the warehouse's last read (and its own last write):
-- keep_warehouse overwrites; keep_remote and manual leave the vendor's value and record a
-- sync.conflicts row. Warehouse facts win; a person's judgement of a call stays.
insert into workflow.merge_rules (name, target_entity, sources, field_strategies)
values (
    'callrail_calls',
    'callrail_calls',
    '["warehouse", "callrail"]',
    '{"value": "keep_warehouse", "tags": "keep_warehouse", "lead_status": "keep_remote",
      "note": "keep_remote", "customer_name": "keep_remote"}'
)
on conflict (name) do nothing;
