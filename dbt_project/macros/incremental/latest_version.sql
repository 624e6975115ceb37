{#-
    What every vendor's raw tables share, and the one definition of a record's latest version.

    Raw keeps one row per VERSION of a vendor record (rows.py): each vendor scopes its ids by
    an account (vendor_keys). A version counts once its dlt load has completed (raw._dlt_loads,
    status 0): rows of a load that has not finished (running, or killed and not yet finished by
    the next sync) are invisible to staging and to the incremental cursors until it does.
-#}

{#- The scope and id columns of a vendor's raw tables (dlt_pipelines/common/rows.py RawTable). -#}
{% macro vendor_keys(vendor) -%}
    {%- set keys = {
        'servicetitan': {'scope': 'tenant_id', 'id': 'st_id'},
        'gohighlevel': {'scope': 'location_id', 'id': 'ghl_id'},
        'callrail': {'scope': 'account_id', 'id': 'callrail_id'},
    } -%}
    {%- if vendor not in keys -%}
        {{ exceptions.raise_compiler_error("vendor_keys: unknown vendor '" ~ vendor ~ "'") }}
    {%- endif -%}
    {{ return(keys[vendor]) }}
{%- endmacro %}

{#-
    The order that puts a record's latest version first, over the relation `alias`: the one the
    vendor modified last, then the one loaded last (the only order when the vendor keeps no
    modification time, or for a tombstone), then the content hash so the pick is deterministic.
    Read from var('latest_first') in dbt_project.yml, which is the loader's LATEST_FIRST
    (dlt_pipelines/common/rows.py) to the letter: tests/transform/test_staging_loads.py checks
    that the two never drift apart.
-#}
{% macro latest_first(alias) -%}
    {%- for term in var('latest_first').split(',') -%}
        {{ alias }}.{{ term | trim }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#-
    The latest version of every record of a vendor's raw table `table`, from completed loads
    only. Filters of the caller on the scope and id columns are pushed into this query by
    PostgreSQL, so incremental models can look up single records through the staging view
    (lookup(): raw's (scope, id) index, then the load's row by its key).
-#}
{% macro latest_version(vendor, table) -%}
    {%- set keys = vendor_keys(vendor) -%}
    select distinct on (versions.{{ keys.scope }}, versions.{{ keys.id }}) versions.*
    from {{ source(vendor, table) }} as versions
    inner join {{ source(vendor, 'dlt_loads') }} as loads
        on versions._dlt_load_id = loads.load_id
    where loads.status = 0
    order by
        versions.{{ keys.scope }} asc,
        versions.{{ keys.id }} asc,
        {{ latest_first('versions') }}
{%- endmacro %}

{#-
    The staging model of a vendor's completed dlt loads (stg_<vendor>__loads): the cursor of the
    incremental models. dlt load ids are unix timestamps, so to_timestamp(load_id) is when the
    load started; inserted_at is when it completed.
-#}
{% macro completed_loads(vendor) -%}
with

source as (

    select * from {{ source(vendor, 'dlt_loads') }}

),

renamed as (

    select
        ---------- ids
        source.load_id,

        ---------- strings
        source.schema_version_hash,

        ---------- timestamps
        to_timestamp(source.load_id::double precision) as load_started_at,
        source.inserted_at as loaded_at

    from source
    where
        source.schema_name = '{{ vendor }}'
        and source.status = 0

)

select * from renamed
{%- endmacro %}

{#- The newest completed load of a vendor, as a scalar subquery (null before any load). -#}
{% macro latest_completed_load(vendor) -%}
    (select max(loads.load_id) from {{ ref('stg_' ~ vendor ~ '__loads') }} as loads)
{%- endmacro %}

{#-
    The staging model of a vendor's change capture (stg_<vendor>__record_versions): one row per
    raw VERSION of the records the incremental models read, with its load. Only typed key
    columns are read (no JSON) and every branch scans one raw table, so a filter on
    _dlt_load_id or on (scope, record_id) reaches each raw table's index directly. `branches`
    maps each entity to its raw table and, optionally, `columns` (name -> expression over the
    raw table, aliased as the entity) and `join` (a lateral join the expressions may read): the
    columns every branch carries, null where a branch names none of them (`column_types`).
-#}
{% macro record_versions(vendor, branches, column_types={}) -%}
{%- set keys = vendor_keys(vendor) -%}
with

{% for entity, branch in branches.items() %}
{{ entity }} as (

    select * from {{ source(vendor, branch.table) }}

),

{% endfor -%}
unioned as (
{% for entity, branch in branches.items() %}
    select
        '{{ entity }}' as entity,
        {{ entity }}.{{ keys.scope }},
        {{ entity }}.{{ keys.id }} as record_id,
        {%- for column, column_type in column_types.items() %}
        {{ (branch.columns or {}).get(column, 'null::' ~ column_type) }} as {{ column }},
        {%- endfor %}
        {{ entity }}._dlt_load_id
    from {{ entity }}
    {%- if branch.join %}
    {{ branch.join }}
    {%- endif %}
{% if not loop.last %}
    union all
{% endif %}
{%- endfor %}
)

select * from unioned
{%- endmacro %}
