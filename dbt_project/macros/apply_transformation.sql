{#- Declarative value conversions for reverse ETL: a field mapping names a
    workflow.transformations row whose `rules` is a list of 1-3 steps, each
    {"kind": …} from this fixed set (migration 0014 refuses any other kind):

      to_string        any scalar as its text
      money_to_string  a number as a string with two decimals ("12.50")
      round            a number rounded to {"digits": n} (default 0)
      phone_e164       a phone written any way as "+15125550100" (crm_normalize_phone)
      date_iso         a date or timestamp as "2026-12-07" (UTC day)
      timestamp_iso    a timestamp as "2026-12-07T15:04:05Z" (UTC)
      lowercase, uppercase, trim   strings only
      value_map        {"map": {"from": "to", …}, "default": …}: a value not in the map
                       becomes the default, or stays as it is without one

    `value` is a jsonb expression, `rules` the jsonb list (null: the value as it is).
    JSON null stays null; a value a step cannot convert (text that is no number, no
    date or no phone) becomes null rather than failing the build. The steps run as a
    chain of lateral selects, each kept from being inlined into the next (`limit
    all`): inlined, every step would repeat the previous one's expression dozens of
    times over. A mapping without a transformation skips all of it. -#}
{% macro apply_transformation(value, rules) -%}
    {{ return(adapter.dispatch('apply_transformation')(value, rules)) }}
{%- endmacro %}

{% macro postgres__apply_transformation(value, rules) -%}
    case
        when ({{ rules }}) is null then ({{ value }})::jsonb
        else (
            select step_3.value
            from (select ({{ value }})::jsonb as value limit all) as step_0  -- noqa: AM09
            {%- for step in range(3) %}
                cross join lateral (
                    {{ transformation_step('step_' ~ step ~ '.value', '(' ~ rules ~ ') -> ' ~ step) }}
                ) as step_{{ step + 1 }}
            {%- endfor %}
        )
    end
{%- endmacro %}

{% macro transformation_step(value, step) -%}
    select
        case
            when input.rule is null or input.value is null or input.value = 'null'::jsonb
                then input.value
            when input.kind = 'to_string' then to_jsonb(input.text_value)
            when input.kind = 'money_to_string'
                then to_jsonb(round(input.number_value, 2)::text)
            when input.kind = 'round'
                then to_jsonb(
                    round(
                        input.number_value,
                        coalesce({{ try_cast('input.rule ->> \'digits\'', 'integer') }}, 0)
                    )
                )
            when input.kind = 'phone_e164'
                then to_jsonb({{ crm_normalize_phone('input.text_value') }})
            when input.kind = 'date_iso'
                then to_jsonb(
                    to_char(input.timestamp_value at time zone 'utc', 'YYYY-MM-DD')
                )
            when input.kind = 'timestamp_iso'
                then to_jsonb(
                    to_char(
                        input.timestamp_value at time zone 'utc',
                        'YYYY-MM-DD"T"HH24:MI:SS"Z"'
                    )
                )
            when input.kind in ('lowercase', 'uppercase', 'trim')
                and jsonb_typeof(input.value) <> 'string'
                then input.value
            when input.kind = 'lowercase' then to_jsonb(lower(input.text_value))
            when input.kind = 'uppercase' then to_jsonb(upper(input.text_value))
            when input.kind = 'trim' then to_jsonb(btrim(input.text_value))
            when input.kind = 'value_map' and input.rule -> 'map' ? input.text_value
                then input.rule -> 'map' -> input.text_value
            when input.kind = 'value_map' and input.rule ? 'default'
                then input.rule -> 'default'
            else input.value
        end as value
    from (
        select
            casted.*,
            {{ try_cast('casted.text_value', 'numeric') }} as number_value,
            case
                when casted.text_value ~ '^\d{4}-\d{2}-\d{2}$'
                    then {{ try_cast('casted.text_value || \'T00:00:00Z\'', 'timestamptz') }}
                else {{ try_cast('casted.text_value', 'timestamptz') }}
            end as timestamp_value
        from (
            select
                {{ value }} as value,
                {{ value }} #>> '{}' as text_value,
                {{ step }} as rule,
                ({{ step }}) ->> 'kind' as kind
            limit all  -- noqa: AM09
        ) as casted
        limit all  -- noqa: AM09
    ) as input
    limit all  -- noqa: AM09
{%- endmacro %}
