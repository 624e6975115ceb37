{#- Helpers for raw tables that may not exist yet (a source that has never loaded, or
    an endpoint fed only by webhooks): models select from the table when it is there and
    from a typed empty relation otherwise, so `dbt build` works on a fresh warehouse. -#}

{% macro crm_relation_exists(relation) -%}
    {#- not at parse time, and not for the stand-in a unit test puts in its place -#}
    {%- if not execute or relation.schema is not defined
        or relation.schema is none or relation.identifier is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database,
        schema=relation.schema,
        identifier=relation.identifier,
    ) -%}
    {{ return(found is not none) }}
{%- endmacro %}

{#- The load ids of completed dlt loads (status 0): rows of a load that has not finished
    are invisible to staging until it does. -#}
{% macro crm_completed_loads(loads_relation) -%}
    select loads.load_id
    from {{ loads_relation }} as loads
    where loads.status = 0
{%- endmacro %}

{#- The latest version of each entity of a dlt raw table, from completed loads only:
    the one the vendor modified last, then the one loaded last (the only order when the
    vendor keeps no modification time), then the content hash so the pick is
    deterministic (the loader's LATEST_FIRST, rows.py, which decides what is a new
    version). -#}
{% macro crm_latest_version(relation, loads_relation, scope_column, id_column) -%}
    select distinct on (versions.{{ scope_column }}, versions.{{ id_column }})
        versions.*
    from {{ relation }} as versions
    inner join {{ loads_relation }} as loads
        on versions._dlt_load_id = loads.load_id
    where loads.status = 0
    order by
        versions.{{ scope_column }} asc,
        versions.{{ id_column }} asc,
        versions.modified_on desc nulls last,
        versions._dlt_load_id desc,
        versions.content_hash desc
{%- endmacro %}
