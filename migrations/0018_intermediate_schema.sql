-- The intermediate models' own schema (dbt_project.yml: +schema intermediate): steps between
-- staging and the marts, written by dbt alone and read by nobody else. Made here rather than by
-- dbt so that dbt, acting as lazi_transformer, needs no right to create schemas.
-- depends: 0008_roles_and_grants 0016_runtime_roles

create schema if not exists intermediate;
revoke all on schema intermediate from public;
grant usage, create on schema intermediate to lazi_transformer;
