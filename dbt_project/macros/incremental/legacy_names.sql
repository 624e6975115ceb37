{#-
    Old names of the incremental toolkit (cursors.sql, latest_version.sql), kept only for the
    contact-matching models (int_contact_records_unioned, int_contact_records_matched,
    crm/contact_links, crm/contacts) until they move to the vendor-neutral names. Nothing new
    uses them; remove this file once `grep -rn "servicetitan_lookup\|crm_lookup" dbt_project`
    finds only it.
-#}
{% macro servicetitan_watermark() -%}{{ return(watermark('last_load_id')) }}{%- endmacro %}
{% macro crm_watermark(column, cast_to='text') -%}{{ return(watermark(column, cast_to)) }}{%- endmacro %}
{% macro servicetitan_latest_completed_load() -%}{{ latest_completed_load('servicetitan') }}{%- endmacro %}
{% macro crm_latest_load(loads_model) -%}{{ latest_completed_load(loads_model[4:-7]) }}{%- endmacro %}
{% macro servicetitan_changed_records(entities) -%}{{ changed_records('servicetitan', entities) }}{%- endmacro %}
{% macro crm_changed_records(vendor, entity, scope_column, id_alias, watermark_column) -%}{{ changed_records(vendor, entity, watermark_column, id_alias) }}{%- endmacro %}
{% macro servicetitan_lookup(relation, keys, id_column) -%}{{ lookup(relation, keys, ['tenant_id', id_column]) }}{%- endmacro %}
{% macro crm_lookup(relation, keys, columns, key_expressions=none) -%}{{ lookup(relation, keys, columns, key_expressions) }}{%- endmacro %}
