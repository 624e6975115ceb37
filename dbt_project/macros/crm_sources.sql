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
