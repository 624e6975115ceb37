{#- Each layer owns one schema (staging, master, crm, marts), the same in every target:
    BI tools and the CRM read master/crm by name, so no target prefix is added. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
