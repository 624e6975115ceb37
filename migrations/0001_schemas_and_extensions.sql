-- Schemas of the warehouse and the extensions it relies on.
-- pg_trgm and btree_gin are required; uuid-ossp and vector are optional (keys use the built-in
-- gen_random_uuid(), and embeddings are a later feature), so their absence is only a notice.

create schema if not exists raw;
create schema if not exists staging;
create schema if not exists master;
create schema if not exists crm;
create schema if not exists marts;
create schema if not exists workflow;
create schema if not exists sync;
create schema if not exists audit;

create extension if not exists pg_trgm;
create extension if not exists btree_gin;

do $$
declare
    ext text;
begin
    foreach ext in array array['uuid-ossp', 'vector'] loop
        if exists (select 1 from pg_available_extensions where name = ext) then
            execute format('create extension if not exists %I', ext);
        else
            raise notice 'extension % is not available on this server; skipped', ext;
        end if;
    end loop;
end
$$;

-- Shared trigger function: keeps updated_at honest without every writer remembering it.
create or replace function audit.set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end
$$;
