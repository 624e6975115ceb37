{#-
    Every row satisfies a SQL boolean expression (our stand-in for dbt_utils.expression_is_true,
    which cannot be installed here). On a column, the expression continues the column:
    `expression: ">= 0"` checks `column >= 0`. Null results count as failures.
-#}
{% test expression_is_true(model, expression, column_name=None) %}

    select *
    from {{ model }}
    {% if column_name is none %}
        where not coalesce(({{ expression }}), false)
    {% else %}
        where not coalesce(({{ column_name }} {{ expression }}), false)
    {% endif %}

{% endtest %}
