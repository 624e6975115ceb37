{#-
    What a data test reads. With LAZI_TEST_ROWS=written in its environment (the build after
    each load, flows/transform.py), `dbt build` tests only the rows it wrote into an
    incremental model that stamps them (batch_at: the run that computed the row): the other
    rows were tested by the build that wrote them, and reading them all again made a
    per-load build's tests grow with the tables rather than with the changes. Every other
    test, and every test by default (LAZI_TEST_ROWS=all: the nightly build, a build by
    hand), reads the whole table. A test's own `where` applies as well.

    An environment variable, not a dbt var: dbt parses the whole project again whenever its
    vars change (seconds at each switch between the two builds); this one is read only when
    a test compiles, never while dbt parses.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set rows = env_var('LAZI_TEST_ROWS', 'all') if execute else 'all' -%}
    {%- if rows not in ['all', 'written'] -%}
        {{ exceptions.raise_compiler_error(
            "LAZI_TEST_ROWS must be 'all' or 'written', not '" ~ rows ~ "'"
        ) }}
    {%- endif -%}
    {%- if rows == 'written' and written_rows_are_stamped() -%}
        {%- do filters.append('batch_at = ' ~ run_batch_at()) -%}
    {%- endif -%}
    {%- if filters -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ')
            ~ ') dbt_subquery') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{#- The model a test is attached to is incremental and stamps each row it writes. -#}
{% macro written_rows_are_stamped() -%}
    {%- set tested = graph.nodes.get(model.attached_node) if execute else none -%}
    {{ return(
        tested is not none
        and tested.config.materialized == 'incremental'
        and 'batch_at' in tested.columns
    ) }}
{%- endmacro %}
