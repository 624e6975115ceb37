-- crm tables that people edit (the derived crm marts are dbt's).
-- depends: 0001_schemas_and_extensions

create table crm.pricebook_overrides (
    id uuid primary key default gen_random_uuid(),
    tenant_id bigint not null,
    item_type text not null check (item_type in ('material', 'service', 'equipment')),
    st_pricebook_id bigint not null,
    override_price numeric(12, 2) check (override_price >= 0),
    override_member_price numeric(12, 2) check (override_member_price >= 0),
    override_cost numeric(12, 2) check (override_cost >= 0),
    reason text,
    pending_sync boolean not null default true,
    last_synced_at timestamptz,
    created_by text not null default current_user,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, item_type, st_pricebook_id),
    check (num_nonnulls(override_price, override_member_price, override_cost) > 0)
);

create index pricebook_overrides_pending_idx on crm.pricebook_overrides (tenant_id)
where pending_sync;

create trigger pricebook_overrides_updated_at before update on crm.pricebook_overrides
for each row execute function audit.set_updated_at();
