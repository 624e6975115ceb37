-- workflow.*: configuration people edit (stage actions, mappings, definitions, rules, templates)
-- and the executions the flows write. Behaviour is driven by these rows, not by constants in code.
-- depends: 0001_schemas_and_extensions

create table workflow.definitions (
    id uuid primary key default gen_random_uuid(),
    name text not null unique,
    description text,
    trigger_type text not null check (
        trigger_type in ('stage_change', 'schedule', 'event', 'manual')
    ),
    trigger_config jsonb not null default '{}'::jsonb,
    steps jsonb not null default '[]'::jsonb check (jsonb_typeof(steps) = 'array'),
    on_error text not null default 'stop' check (on_error in ('stop', 'continue', 'retry')),
    version integer not null default 1 check (version > 0),
    is_enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table workflow.stage_actions (
    id uuid primary key default gen_random_uuid(),
    pipeline_id text,
    stage_id text not null,
    trigger_type text not null check (trigger_type in ('on_enter', 'on_exit', 'on_stale')),
    action_type text not null check (
        action_type in (
            'send_message', 'create_task', 'update_field', 'push_to_vendor', 'run_workflow'
        )
    ),
    action_config jsonb not null default '{}'::jsonb,
    workflow_id uuid references workflow.definitions (id) on delete restrict,
    position integer not null default 0,
    is_enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index stage_actions_stage_idx on workflow.stage_actions (stage_id, trigger_type)
where is_enabled;

create table workflow.field_mappings (
    id uuid primary key default gen_random_uuid(),
    source_system text not null default 'crm',
    source_entity text not null,
    source_field text not null,
    dest_system text not null default 'servicetitan',
    dest_entity text not null,
    dest_field text not null,
    direction text not null default 'outbound' check (direction in ('inbound', 'outbound', 'both')),
    transform text,
    is_enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (source_system, source_entity, source_field, dest_system, dest_entity, dest_field)
);

create table workflow.executions (
    id uuid primary key default gen_random_uuid(),
    workflow_id uuid not null references workflow.definitions (id) on delete restrict,
    status text not null default 'pending'
    check (status in ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    current_step integer not null default 0 check (current_step >= 0),
    step_results jsonb not null default '[]'::jsonb,
    trigger_payload jsonb not null default '{}'::jsonb,
    attempt integer not null default 1 check (attempt > 0),
    error text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    updated_at timestamptz not null default now()
);

create index executions_workflow_idx on workflow.executions (workflow_id, started_at desc);
create index executions_active_idx on workflow.executions (status)
where status in ('pending', 'running');

create table workflow.transformations (
    id uuid primary key default gen_random_uuid(),
    name text not null unique,
    source_type text not null,
    dest_type text not null,
    rules jsonb not null default '[]'::jsonb,
    is_enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table workflow.merge_rules (
    id uuid primary key default gen_random_uuid(),
    name text not null unique,
    target_entity text not null,
    sources jsonb not null default '[]'::jsonb check (jsonb_typeof(sources) = 'array'),
    field_strategies jsonb not null default '{}'::jsonb check (
        jsonb_typeof(field_strategies) = 'object'
    ),
    priority integer not null default 100,
    is_enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table workflow.messaging_templates (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    channel text not null check (channel in ('sms', 'email')),
    subject text,
    body_template text not null,
    required_variables text[] not null default '{}',
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (name, channel),
    check (channel <> 'email' or subject is not null)
);

do $$
declare
    t text;
begin
    foreach t in array array[
        'definitions', 'stage_actions', 'field_mappings', 'executions',
        'transformations', 'merge_rules', 'messaging_templates'
    ] loop
        execute format(
            'create trigger %I before update on workflow.%I '
            'for each row execute function audit.set_updated_at()',
            t || '_updated_at', t);
    end loop;
end
$$;
