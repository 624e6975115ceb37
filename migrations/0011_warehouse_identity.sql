-- sync.warehouse_identity: one random id per warehouse database, made when it is first migrated.
-- dlt keeps each pipeline's cursors in a local folder as well as in raw. The folder is keyed by
-- this id, not by host, port and database name: a database dropped and created again under the
-- same name (or a new cluster on the same port) must not inherit cursors from the old one, or its
-- first sync would fetch only what changed since and raw would stay incomplete.
-- depends: 0008_roles_and_grants

create table if not exists sync.warehouse_identity (
    id uuid primary key default gen_random_uuid(),
    created_at timestamptz not null default now(),
    only_row boolean not null default true unique check (only_row)
);

insert into sync.warehouse_identity default values on conflict (only_row) do nothing;

-- Written once, here; the schema's default privileges would let the reverse-ETL role write it.
revoke all on sync.warehouse_identity from lazi_reverse_etl;
