-- Least-privilege roles (group roles without login; grant them to login users or SET ROLE):
--   lazi_loader       writes raw only
--   lazi_transformer  reads raw, writes the dbt schemas (staging, master, crm, marts)
--   lazi_reverse_etl  reads master/crm/marts, writes sync and audit
--   bi_reader         reads master, crm and marts only
-- Default privileges make tables created later (by dlt, dbt or migrations) carry the same grants.
-- depends: 0002_raw_sync_state 0003_sync_tables 0007_audit_change_triggers

do $$
declare
    r text;
    is_super boolean := (select rolsuper from pg_roles where rolname = current_user);
begin
    foreach r in array array['lazi_loader', 'lazi_transformer', 'lazi_reverse_etl', 'bi_reader'] loop
        if not exists (select 1 from pg_roles where rolname = r) then
            execute format('create role %I nologin', r);
        end if;
        -- ALTER DEFAULT PRIVILEGES FOR ROLE needs membership unless we are superuser.
        if not is_super and r <> 'bi_reader' and not pg_has_role(current_user, r, 'member') then
            execute format('grant %I to %I', r, current_user);
        end if;
    end loop;
end
$$;

revoke all on schema raw, staging, master, crm, marts, workflow, sync, audit from public;
revoke execute on all functions in schema audit from public;

-- loader
grant usage, create on schema raw to lazi_loader;
grant select, insert, update, delete on all tables in schema raw to lazi_loader;
alter default privileges in schema raw
grant select, insert, update, delete on tables to lazi_loader;
alter default privileges in schema raw grant usage, select on sequences to lazi_loader;

-- transformer
grant usage on schema raw to lazi_transformer;
grant select on all tables in schema raw to lazi_transformer;
alter default privileges in schema raw grant select on tables to lazi_transformer;
alter default privileges for role lazi_loader in schema raw
grant select on tables to lazi_transformer;
grant usage, create on schema staging, master, crm, marts to lazi_transformer;
grant usage on schema workflow to lazi_transformer;
grant select on all tables in schema workflow to lazi_transformer;
grant select on crm.pricebook_overrides to lazi_transformer;

-- reverse ETL
grant usage on schema master, crm, marts to lazi_reverse_etl;
grant select on all tables in schema master, crm, marts to lazi_reverse_etl;
alter default privileges in schema master, crm, marts
grant select on tables to lazi_reverse_etl;
alter default privileges for role lazi_transformer in schema master, crm, marts
grant select on tables to lazi_reverse_etl;
grant update (pending_sync, last_synced_at) on crm.pricebook_overrides to lazi_reverse_etl;
grant usage on schema sync, audit to lazi_reverse_etl;
grant select, insert, update, delete on all tables in schema sync to lazi_reverse_etl;
grant select, insert on all tables in schema audit to lazi_reverse_etl;
grant usage, select on all sequences in schema sync, audit to lazi_reverse_etl;
alter default privileges in schema sync
grant select, insert, update, delete on tables to lazi_reverse_etl;
alter default privileges in schema audit grant select, insert on tables to lazi_reverse_etl;
alter default privileges in schema sync, audit
grant usage, select on sequences to lazi_reverse_etl;
grant usage on schema workflow to lazi_reverse_etl;
grant select on all tables in schema workflow to lazi_reverse_etl;
grant insert, update on workflow.executions to lazi_reverse_etl;

-- BI
grant usage on schema master, crm, marts to bi_reader;
grant select on all tables in schema master, crm, marts to bi_reader;
alter default privileges in schema master, crm, marts grant select on tables to bi_reader;
alter default privileges for role lazi_transformer in schema master, crm, marts
grant select on tables to bi_reader;
