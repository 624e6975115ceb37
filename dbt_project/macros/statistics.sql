{#-
    A post-hook: column statistics for a table this build has just made (a table model, a
    full build or a --full-refresh of an incremental one), on which the next models plan
    their joins. After an incremental run the statistics the table has stay: the run changed
    a small share of its rows, autovacuum analyzes it again once a tenth has changed, and an
    ANALYZE samples 30,000 rows from all over the table on every run (a quarter of a per-load
    build's time at 50,000 customers, measured).
-#}
{% macro analyze_if_new() -%}
    do $analyze$
    begin
        if not exists (
            select from pg_catalog.pg_stats
            where
                schemaname = '{{ this.schema }}'
                and tablename = '{{ this.identifier }}'
        ) then
            analyze {{ this }};
        end if;
    end
    $analyze$
{%- endmacro %}
