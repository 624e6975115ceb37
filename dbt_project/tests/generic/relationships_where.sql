{#-
    Referential integrity with filters on both sides (dbt_utils.relationships_where): every
    non-null value of column_name in the rows matching from_condition exists as `field` in the
    rows of `to` matching to_condition. With `scope_column` (e.g. tenant_id), the pair must
    match: ServiceTitan ids are only unique within a tenant.
-#}
{% test relationships_where(
    model,
    column_name,
    to,
    field,
    scope_column=None,
    from_condition='true',
    to_condition='true'
) %}

    with

    child as (
        select
            {% if scope_column %}{{ scope_column }} as scope_value,{% endif %}
            {{ column_name }} as child_value
        from {{ model }}
        where {{ column_name }} is not null and ({{ from_condition }})
    ),

    parent as (
        select
            {% if scope_column %}{{ scope_column }} as scope_value,{% endif %}
            {{ field }} as parent_value
        from {{ to }}
        where {{ to_condition }}
    )

    select child.*
    from child
    left join parent
        on child.child_value = parent.parent_value
        {% if scope_column %}and child.scope_value = parent.scope_value{% endif %}
    where parent.parent_value is null

{% endtest %}
