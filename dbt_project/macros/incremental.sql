{#-
    Incremental models over ServiceTitan raw: how they find what to recompute.

    Cursor: dlt load ids of COMPLETED ServiceTitan loads (raw._dlt_loads, status 0), read
    through stg_servicetitan__record_versions, never the vendor's clock. Every incremental row
    carries last_load_id, the newest completed load among the records it was computed from;
    the model's watermark is max(last_load_id) over the table. A run recomputes every row
    that a version loaded after the watermark (minus the look-back) may have changed, from
    the staging views (the truth), and merges those rows on the model's key.

    Why that is exact: a vendor's loads are serialised (one sync per vendor at a time, dlt
    finishes an interrupted package before starting a new one), so loads complete in load-id
    order. A row's last_load_id is capped at the newest load that had completed when the run
    started, so every load up to the watermark had completed, and was inside the window, when
    some earlier run computed the rows. Rows never disappear (deleted records stay with
    is_deleted), so merge never has to delete.

    Look-back: var('servicetitan_lookback_seconds'), default 0 — versions from loads that
    STARTED up to that many seconds before the watermark load are reprocessed too. 0 is exact
    under the ordering above; raise it if ServiceTitan is ever loaded by concurrent writers.
    A scheduled --full-refresh (weekly) rebuilds everything from raw regardless.

    Load ids are compared as text, which orders them correctly: dlt load ids are unix
    timestamps with a 10-digit integer part (until the year 2286), and text comparison keeps
    raw's _dlt_load_id column usable by an index.
-#}

{#-
    The watermark as a SQL string literal ('' when the table is empty: everything is new).
    Computed when the model compiles, so the planner sees a constant and can use an index on
    raw._dlt_load_id. Unit tests set var('servicetitan_watermark') instead.
-#}
{% macro servicetitan_watermark() -%}
    {%- set override = var('servicetitan_watermark', none) -%}
    {%- if override is not none -%}
        {{ return("'" ~ override ~ "'") }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return("''") }}
    {%- endif -%}
    {%- set lookback = var('servicetitan_lookback_seconds', 0) | float -%}
    {%- do check_cursor_column('last_load_id') -%}
    {%- set query -%}
        select coalesce(
            (max(last_load_id)::numeric - {{ lookback }})::text, ''
        ) as watermark
        from {{ this }}
    {%- endset -%}
    {%- set watermark = run_query(query).columns[0].values()[0] -%}
    {{ return("'" ~ watermark ~ "'") }}
{%- endmacro %}

{#-
    An incremental model reads max() of its cursor column at every run: without an index
    that leads with the column, that is a scan of the whole table (seconds on the large
    tables, where the rest of a run after a load reads a few thousand rows by key). A table
    built before its model declared the index keeps running without it, with a warning,
    until `dbt build --full-refresh` rebuilds it; one built before the model had the column
    at all stops the run with that advice.
-#}
{% macro check_cursor_column(column) -%}
    {%- set query -%}
        select
            count(*) as columns_found,
            count(*) filter (
                where exists (
                    select
                    from pg_catalog.pg_index as indexes
                    where
                        indexes.indrelid = attributes.attrelid
                        and indexes.indkey[0] = attributes.attnum
                )
            ) as indexes_found
        from pg_catalog.pg_attribute as attributes
        where
            attributes.attrelid
            = to_regclass(format('%I.%I', '{{ this.schema }}', '{{ this.identifier }}'))
            and attributes.attname = '{{ column }}'
            and not attributes.attisdropped
    {%- endset -%}
    {%- set found = run_query(query).rows[0] -%}
    {%- if found[0] == 0 -%}
        {{ exceptions.raise_compiler_error(
            this ~ " has no column " ~ column ~ ", the model's incremental cursor: it was "
            ~ "built by an earlier version of the model. Rebuild it once with "
            ~ "`dbt build --full-refresh --select " ~ this.identifier ~ "`."
        ) }}
    {%- elif found[1] == 0 -%}
        {%- do exceptions.warn(
            "No index leads with " ~ this ~ "." ~ column ~ ", the model's incremental "
            ~ "cursor: every run scans the whole table for its max(). Declare the index "
            ~ "and rebuild the model once with `dbt build --full-refresh --select "
            ~ this.identifier ~ "`."
        ) -%}
    {%- endif -%}
{%- endmacro %}

{#- The newest completed ServiceTitan load, as a scalar subquery (null before any load). -#}
{% macro servicetitan_latest_completed_load() -%}
    (select max(loads.load_id) from {{ ref('stg_servicetitan__loads') }} as loads)
{%- endmacro %}

{#-
    Records of the given entities with a version in a completed load after the watermark:
    (entity, tenant_id, record_id), one row per record.
-#}
{% macro servicetitan_changed_records(entities) -%}
    select distinct
        versions.entity,
        versions.tenant_id,
        versions.record_id
    from {{ ref('stg_servicetitan__record_versions') }} as versions
    where
        versions.entity in ('{{ entities | join("', '") }}')
        and versions._dlt_load_id > {{ servicetitan_watermark() }}
        and versions._dlt_load_id <= {{ servicetitan_latest_completed_load() }}
{%- endmacro %}

{#-
    Every version (any load) of the records in `changed` (a CTE of entity, tenant_id,
    record_id): the parents a changed record points at now and pointed at before. Looked up
    record by record through raw's (tenant, id) index.
-#}
{% macro servicetitan_all_versions_of(changed) -%}
    select versions.*
    from {{ changed }}
    cross join lateral (
        select
            record_versions.entity,
            record_versions.tenant_id,
            record_versions.record_id,
            record_versions.customer_id,
            record_versions.job_id,
            record_versions.invoice_id,
            record_versions.technician_id,
            record_versions.job_type_id
        from {{ ref('stg_servicetitan__record_versions') }} as record_versions
        where
            record_versions.entity = {{ changed }}.entity
            and record_versions.tenant_id = {{ changed }}.tenant_id
            and record_versions.record_id = {{ changed }}.record_id
        offset 0
    ) as versions
{%- endmacro %}

{#-
    The current rows of a staging model for a set of ids: `keys` is a CTE with tenant_id and
    `id_column`. Each id is looked up through raw's index (offset 0 keeps PostgreSQL from
    flattening the lookup into a join over the whole view).
-#}
{% macro servicetitan_lookup(relation, keys, id_column) -%}
    select found.*
    from (select distinct {{ keys }}.tenant_id, {{ keys }}.{{ id_column }} from {{ keys }})
        as wanted
    cross join lateral (
        select staged.*
        from {{ relation }} as staged
        where
            staged.tenant_id = wanted.tenant_id
            and staged.{{ id_column }} = wanted.{{ id_column }}
        offset 0
    ) as found
{%- endmacro %}

{#- Cap a row's newest contributing load at the newest completed load (see above). -#}
{% macro servicetitan_last_load_id(load_id_columns) -%}
    least(
        greatest({{ load_id_columns | join(', ') }}),
        {{ servicetitan_latest_completed_load() }}
    )::text
{%- endmacro %}

{#-
    Planner settings for a full build of a model over whole tables (a pre-hook; nothing in
    incremental runs). Staging views derive their keys from JSON, so PostgreSQL has no
    statistics for them and guesses 200 rows for every aggregate over them (or 1 after a
    `having`); joining such a guess to a whole table it may pick a merge join on tenant_id
    alone or a nested loop, which is quadratic. A full
    build joins whole tables, where hash joins are always the right plan. Incremental runs
    keep the planner's choice (their lookups need nested loops) unless `incremental_too`:
    for a model whose incremental run joins CTEs of thousands of rows (estimated at one or
    two hundred) to each other or to whole tables, and reads the tables through explicit
    key-by-key lookups (crm_lookup: a lateral subquery is a nested loop whatever the
    settings). `full_build=false` leaves a full build to the planner.
-#}
{% macro full_build_hints(incremental_too=false, full_build=true) -%}
    {%- if (incremental_too and is_incremental()) or (full_build and not is_incremental()) -%}
        set local enable_mergejoin = off;
        set local enable_nestloop = off
    {%- endif -%}
{%- endmacro %}

{#-
    This run's stamp, batch_at on every row an incremental model writes: when the dbt
    invocation started. The CRM models' cursor (crm_incremental.sql); on every incremental
    model it is what a build after each load tests (test_scope.sql): the rows it wrote.
-#}
{% macro run_batch_at() -%}
    '{{ run_started_at.isoformat() }}'::timestamptz
{%- endmacro %}
