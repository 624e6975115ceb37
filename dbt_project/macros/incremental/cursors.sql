{#-
    How an incremental model finds what to recompute, for every vendor.

    Cursor: dlt load ids of COMPLETED loads (stg_<vendor>__loads), read through
    stg_<vendor>__record_versions, never the vendor's clock. Every incremental row carries, per
    vendor it reads, the newest completed load among the records it was computed from
    (last_load_id for ServiceTitan, ghl_last_load_id, callrail_last_load_id), and the run that
    wrote it (batch_at, run_batch_at()). The model's watermark is the max() of such a column
    over its own table. A run recomputes every row that a version loaded after the watermark
    (minus the look-back) may have changed, from the staging views (the truth), and merges
    those rows on the model's key; a run that failed or wrote nothing is redone by the next.

    Why that is exact: a vendor's loads are serialised (one sync per vendor at a time, dlt
    finishes an interrupted package before starting a new one), so loads complete in load-id
    order. A row's load cursor is capped at the newest load that had completed when the run
    started (last_load_id()), so every load up to the watermark had completed, and was inside
    the window, when some earlier run computed the rows. Rows never disappear (deleted records
    stay with is_deleted), so merge never has to delete. A scheduled --full-refresh (weekly)
    rebuilds everything from raw regardless.

    Load ids are compared as text, which orders them correctly: dlt load ids are unix
    timestamps with a 10-digit integer part (until the year 2286), and text comparison keeps
    raw's _dlt_load_id column usable by an index.
-#}

{#-
    max(column) of this model as a SQL literal of `cast_to` ('' / -infinity when the table is
    empty or the run is not incremental: everything is new). Computed when the model compiles,
    so the planner sees a constant and can use an index on raw._dlt_load_id.

    Look-back, for load-id cursors: var('lookback_seconds'), default 0 — versions from loads
    that STARTED up to that many seconds before the watermark load are reprocessed too. 0 is
    exact under the ordering above; raise it if a vendor is ever loaded by concurrent writers.
    Unit tests give the watermark as var('watermark').
-#}
{% macro watermark(column='last_load_id', cast_to='text') -%}
    {%- set empty = "'-infinity'::timestamptz" if cast_to == 'timestamptz' else "''" -%}
    {%- set override = var('watermark', none) -%}
    {%- if override is not none -%}
        {{ return("'" ~ override ~ "'::" ~ cast_to) }}
    {%- endif -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(empty) }}
    {%- endif -%}
    {%- do check_cursor_column(column) -%}
    {%- set lookback = var('lookback_seconds', 0) | float -%}
    {%- set query -%}
        {%- if cast_to == 'text' and lookback > 0 %}
        select (max({{ column }})::numeric - {{ lookback }})::text from {{ this }}
        {%- else %}
        select max({{ column }})::text from {{ this }}
        {%- endif %}
    {%- endset -%}
    {%- set value = run_query(query).columns[0].values()[0] -%}
    {%- if value is none -%}
        {{ return(empty) }}
    {%- endif -%}
    {{ return("'" ~ value ~ "'::" ~ cast_to) }}
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

{#-
    Records of a vendor's `entities` with a version in a completed load after this model's
    cursor `watermark_column`, read through stg_<vendor>__record_versions, one row per record:
    (entity, scope, record_id), or (scope, id_alias) when `id_alias` names the id column.
-#}
{% macro changed_records(vendor, entities, watermark_column='last_load_id', id_alias=none) -%}
    {%- set keys = vendor_keys(vendor) -%}
    {%- if entities is string -%}{%- set entities = [entities] -%}{%- endif -%}
    select distinct
        {%- if id_alias is none %}
        versions.entity,
        versions.{{ keys.scope }},
        versions.record_id
        {%- else %}
        versions.{{ keys.scope }},
        versions.record_id as {{ id_alias }}
        {%- endif %}
    from {{ ref('stg_' ~ vendor ~ '__record_versions') }} as versions
    where
        versions.entity in ('{{ entities | join("', '") }}')
        and versions._dlt_load_id > {{ watermark(watermark_column) }}
        and versions._dlt_load_id <= {{ latest_completed_load(vendor) }}
{%- endmacro %}

{#-
    The current rows of a relation (a staging view, a table) for a set of keys: `keys` is a
    CTE holding the `columns`, or the `key_expressions` over its columns that give them (a
    constant, another name). Each key is looked up on its own (offset 0 keeps PostgreSQL from
    flattening the lookup into a join over the whole relation), so a staging view's DISTINCT
    ON over all versions only ever runs for those keys, and a table is read through its index
    on `columns`. The planner, which cannot estimate how many keys a run has, would otherwise
    hash millions of rows to find thousands.
-#}
{% macro lookup(relation, keys, columns, key_expressions=none) -%}
    {%- set expressions = key_expressions or columns -%}
    select found.*
    from (
        select distinct
            {%- for column in columns %}
            {{ expressions[loop.index0] }} as {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ keys }}
    ) as wanted
    cross join lateral (
        select staged.*
        from {{ relation }} as staged
        where
            {%- for column in columns %}
            {{ 'and ' if not loop.first }}staged.{{ column }} = wanted.{{ column }}
            {%- endfor %}
        offset 0
    ) as found
{%- endmacro %}

{#- A row's newest contributing load of `vendor`, capped at the newest completed load (see
    above), as text. -#}
{% macro last_load_id(vendor, load_id_columns) -%}
    least(
        greatest({{ load_id_columns | join(', ') }}),
        {{ latest_completed_load(vendor) }}
    )::text
{%- endmacro %}

{#- `column` of the row this model wrote last, as a scalar subquery read through the
    batch_at index (null when the table is empty). For a value that every row of a run
    carries and whose change makes the run rewrite every row (a fingerprint of the
    pipelines and stages, of the account-to-tenant mapping): the newest row holds the value
    the table was last computed with, without a scan of the whole table. -#}
{% macro newest_written(column) -%}
    (
        select newest.{{ column }}
        from {{ this }} as newest
        order by newest.batch_at desc
        limit 1
    )
{%- endmacro %}

{#-
    This run's stamp, batch_at on every row an incremental model writes: when the dbt
    invocation started. The cursor of the models that read other models (watermark('batch_at',
    'timestamptz')); on every incremental model it is what a build after each load tests
    (test_scope.sql): the rows it wrote.
-#}
{% macro run_batch_at() -%}
    '{{ run_started_at.isoformat() }}'::timestamptz
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
    key-by-key lookups (lookup(): a lateral subquery is a nested loop whatever the
    settings). `full_build=false` leaves a full build to the planner.
-#}
{% macro full_build_hints(incremental_too=false, full_build=true) -%}
    {%- if (incremental_too and is_incremental()) or (full_build and not is_incremental()) -%}
        set local enable_mergejoin = off;
        set local enable_nestloop = off
    {%- endif -%}
{%- endmacro %}
