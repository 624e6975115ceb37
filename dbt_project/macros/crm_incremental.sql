{#-
    Cursors of the incremental CRM models.

    Every row an incremental CRM model writes carries the run that wrote it (batch_at =
    the invocation's run_started_at) and, per vendor, the newest completed load when that
    run started (last_load_id for ServiceTitan, so the ServiceTitan macros in
    incremental.sql apply as they are; ghl_last_load_id; callrail_last_load_id). A run
    recomputes what changed after the largest of those stamps in its own table, so a run
    that failed or wrote nothing is simply redone by the next one. Each vendor's loads
    complete in load-id order (one sync per vendor at a time), which is why one cursor
    per vendor is exact; a scheduled --full-refresh rebuilds everything regardless.
-#}

{#- max(column) of this model as a SQL literal of `cast_to` ('' / -infinity when empty),
    computed at compile time so that the planner sees a constant. -#}
{% macro crm_watermark(column, cast_to='text') -%}
    {%- set empty = "'-infinity'::timestamptz" if cast_to == 'timestamptz' else "''" -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(empty) }}
    {%- endif -%}
    {%- do check_cursor_column(column) -%}
    {%- set query -%}
        select max({{ column }})::text from {{ this }}
    {%- endset -%}
    {%- set value = run_query(query).columns[0].values()[0] -%}
    {%- if value is none -%}
        {{ return(empty) }}
    {%- endif -%}
    {{ return("'" ~ value ~ "'::" ~ cast_to) }}
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

{#- The newest completed load of a vendor, as a scalar subquery (null before any). -#}
{% macro crm_latest_load(loads_model) -%}
    (select max(loads.load_id) from {{ ref(loads_model) }} as loads)
{%- endmacro %}

{#- The current rows of a relation (a staging view, a table) for a set of keys:
    `keys` is a CTE holding the `columns`, or the `key_expressions` over its columns
    that give them (a constant, another name). Each key is looked up on its own
    (offset 0 keeps PostgreSQL from flattening the lookup into a join over the whole
    relation), so a staging view's DISTINCT ON over all versions only ever runs for
    those keys, and a table is read through its index on `columns`. -#}
{% macro crm_lookup(relation, keys, columns, key_expressions=none) -%}
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

{#- Records of a vendor's `entity` with a version in a completed load after this model's
    cursor `watermark_column`: (scope_column, id_alias), one row per record, read through
    the vendor's stg_<vendor>__record_versions. -#}
{% macro crm_changed_records(vendor, entity, scope_column, id_alias, watermark_column) -%}
    select distinct
        versions.{{ scope_column }},
        versions.record_id as {{ id_alias }}
    from {{ ref('stg_' ~ vendor ~ '__record_versions') }} as versions
    where
        versions.entity = '{{ entity }}'
        and versions._dlt_load_id > {{ crm_watermark(watermark_column) }}
        and versions._dlt_load_id
        <= {{ crm_latest_load('stg_' ~ vendor ~ '__loads') }}
{%- endmacro %}
