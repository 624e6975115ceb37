{#- Generic tests of the CRM and marts models (dbt_utils cannot be fetched here). -#}

{#- Rows for which `expression` is not true fail (dbt_utils.expression_is_true). -#}
{% test crm_expression_is_true(model, expression, where=none) %}
    select *
    from {{ model }}
    where
        not coalesce(({{ expression }}), false)
        {%- if where %}
        and ({{ where }})
        {%- endif %}
{% endtest %}

{#- Staging keeps records whose fields could not be typed and flags them; this test
    reports them (use with severity warn: nothing is dropped, someone should look). -#}
{% test crm_no_type_errors(model, column_name='has_type_errors') %}
    select *
    from {{ model }}
    where {{ column_name }}
{% endtest %}

{#- The combination of `columns` is unique (dbt_utils.unique_combination_of_columns). -#}
{% test crm_unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
