-- Least privilege at run time: loads act as lazi_loader, dbt as lazi_transformer, pushes as
-- lazi_reverse_etl (SET ROLE from the one DATABASE_URL, or a login user of each role). What
-- 0008 left out for that, for the tables that exist and for those made later:
-- - the loader keeps its own books: its rows of sync.inbound_log, and reads the warehouse's
--   identity (where dlt's local state lives);
-- - dbt reads every workflow table (configuration it turns into models), also ones added later;
-- - what dbt built before it ran as lazi_transformer (owned by the migrations' user) becomes
--   lazi_transformer's: dbt drops, renames and alters what it rebuilds, which only the owner
--   may. Tables people edit in crm (migration-made, each with its own triggers) stay as they are.
-- depends: 0008_roles_and_grants 0011_warehouse_identity 0012_reverse_etl_queue

grant usage on schema sync to lazi_loader;
grant select, insert, update on sync.inbound_log to lazi_loader;
grant select on sync.warehouse_identity to lazi_loader;

grant select on all tables in schema workflow to lazi_transformer;
alter default privileges in schema workflow grant select on tables to lazi_transformer;

do $$
declare
    rel record;
begin
    for rel in
        select
            n.nspname as schema_name,
            c.relname as relation_name,
            c.relkind
        from pg_class as c
        inner join pg_namespace as n on c.relnamespace = n.oid
        where
            n.nspname in ('staging', 'master', 'crm', 'marts')
            and c.relkind in ('r', 'p', 'v', 'm')
            and c.relispartition is false
            and c.relowner <> 'lazi_transformer'::regrole
            and not exists (
                select 1 from pg_trigger as t
                where t.tgrelid = c.oid and not t.tgisinternal
            )
    loop
        execute format(
            'alter %s %I.%I owner to lazi_transformer',
            case rel.relkind
                when 'v' then 'view'
                when 'm' then 'materialized view'
                else 'table'
            end,
            rel.schema_name,
            rel.relation_name
        );
    end loop;
end
$$;
