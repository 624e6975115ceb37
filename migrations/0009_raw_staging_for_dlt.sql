-- dlt merges through a staging dataset named after its dataset (raw -> raw_staging). Creating it
-- here lets the loader role work without the right to create schemas in the database.
-- depends: 0008_roles_and_grants

create schema if not exists raw_staging;
revoke all on schema raw_staging from public;
grant usage, create on schema raw_staging to lazi_loader;
alter default privileges in schema raw_staging
grant select, insert, update, delete on tables to lazi_loader;
