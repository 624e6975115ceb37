{#-
    Values lie within [min_value, max_value] (either bound optional; strict when
    inclusive=false). Nulls are ignored: pair with not_null when they must be present.
-#}
{% test accepted_range(model, column_name, min_value=None, max_value=None, inclusive=True) %}

    select *
    from {{ model }}
    where
        {{ column_name }} is not null
        and (
            false
            {% if min_value is not none %}
                or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
            {% endif %}
            {% if max_value is not none %}
                or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
            {% endif %}
        )

{% endtest %}
