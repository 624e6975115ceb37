{#-
    Casts that never fail: a value that cannot be converted becomes null instead of aborting
    the build. PostgreSQL 15 has neither pg_input_is_valid() (16+) nor try_cast, so each cast
    is guarded by a regular expression (and, for dates, a calendar check) that accepts exactly
    the inputs the cast itself accepts.

    Pass a plain column or a cheap expression: it is repeated inside the guard. Staging models
    unpack JSON into text columns first and cast those.

    Use together with cast_error_columns() so that a value that did not convert is reported,
    never silently lost.
-#}

{% macro try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('try_cast')(expression, data_type)) }}
{%- endmacro %}

{% macro postgres__try_cast(expression, data_type) -%}
    {%- set kind = data_type | lower | trim -%}
    {%- if kind in ('bigint', 'int8') -%}
        {{ try_cast_bigint(expression) }}
    {%- elif kind in ('integer', 'int', 'int4') -%}
        {{ try_cast_integer(expression) }}
    {%- elif kind == 'numeric' -%}
        {{ try_cast_numeric(expression) }}
    {%- elif kind in ('double precision', 'float8') -%}
        ({{ try_cast_numeric(expression) }})::double precision
    {%- elif kind in ('boolean', 'bool') -%}
        {{ try_cast_boolean(expression) }}
    {%- elif kind in ('timestamptz', 'timestamp with time zone') -%}
        {{ try_cast_timestamptz(expression) }}
    {%- elif kind == 'date' -%}
        ({{ try_cast_timestamptz(expression) }} at time zone 'utc')::date
    {%- elif kind in ('interval', 'timespan') -%}
        {{ try_cast_timespan(expression) }}
    {%- elif kind == 'text' -%}
        ({{ expression }})::text
    {%- else -%}
        {{ exceptions.raise_compiler_error("try_cast: no safe cast to " ~ data_type) }}
    {%- endif -%}
{%- endmacro %}

{#- A JSON number or numeric string: 12, -3.50, 1e3. Not NaN/Infinity. -#}
{% macro try_cast_numeric(expression) -%}
    case
        when ({{ expression }}) ~ '^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?\s*$'
            then ({{ expression }})::numeric
    end
{%- endmacro %}

{#- Whole numbers that fit in a bigint; 19-digit values are range-checked as numeric first. -#}
{% macro try_cast_bigint(expression) -%}
    case
        when ({{ expression }}) ~ '^\s*[-+]?[0-9]{1,18}\s*$'
            then ({{ expression }})::bigint
        when ({{ expression }}) ~ '^\s*[-+]?[0-9]{19}\s*$'
            then
                case
                    when ({{ expression }})::numeric
                        between -9223372036854775808 and 9223372036854775807
                        then ({{ expression }})::bigint
                end
    end
{%- endmacro %}

{% macro try_cast_integer(expression) -%}
    case
        when ({{ expression }}) ~ '^\s*[-+]?[0-9]{1,9}\s*$'
            then ({{ expression }})::integer
        when ({{ expression }}) ~ '^\s*[-+]?[0-9]{10}\s*$'
            then
                case
                    when ({{ expression }})::bigint between -2147483648 and 2147483647
                        then ({{ expression }})::integer
                end
    end
{%- endmacro %}

{% macro try_cast_boolean(expression) -%}
    case
        when lower(trim({{ expression }})) in ('true', 't', '1')
            then true
        when lower(trim({{ expression }})) in ('false', 'f', '0')
            then false
    end
{%- endmacro %}

{#-
    A JSON flag `key` of the jsonb `object`: `when_absent` (the vendor's documented default)
    when the key is missing or null, the flag when it reads unambiguously (true, "true", 1,
    "0", ...), and null, never a default, when it does not.
-#}
{% macro json_flag(object, key, when_absent) -%}
    case
        when ({{ object }} ->> '{{ key }}') is null then {{ when_absent }}
        else {{ try_cast_boolean(object ~ " ->> '" ~ key ~ "'") }}
    end
{%- endmacro %}

{#-
    ISO 8601 date or date-time, as ServiceTitan sends them ("2024-05-01T13:45:00.123Z").
    A value without an offset is read as UTC (never as the session's time zone). The calendar
    check rejects dates like 2024-02-30 that match the pattern but are not real days.
-#}
{% macro try_cast_timestamptz(expression) -%}
    {%- set value = "trim(" ~ expression ~ ")" -%}
    {%- set pattern = "'^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
        ~ "([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?"
        ~ "\s*([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'" -%}
    {%- set zoned = "'[0-9]\s*([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)$'" -%}
    case
        {# the common case, ServiceTitan's own format: one pattern, no calendar check #}
        when ({{ expression }})
            ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?Z$'
            then ({{ expression }})::timestamptz
        when {{ value }} ~ {{ pattern }} and {{ value }} not like '0000%'
            then
                case
                    when substr({{ value }}, 9, 2) <= '28'
                        or substr({{ value }}, 9, 2)::integer <= extract(
                            day from make_date(
                                substr({{ value }}, 1, 4)::integer,
                                substr({{ value }}, 6, 2)::integer,
                                1
                            ) + interval '1 month - 1 day'
                        )
                        then
                            case
                                when {{ value }} ~ {{ zoned }}
                                    and {{ value }} ~ '[T ][0-9]'
                                    then ({{ value }})::timestamptz
                                else ({{ value }})::timestamp at time zone 'utc'
                            end
                end
    end
{%- endmacro %}

{#-
    A .NET TimeSpan as ServiceTitan serialises durations: [-][d.]hh:mm:ss[.fffffff]
    ("00:02:31", "1.02:00:00"). Becomes a PostgreSQL interval.
-#}
{% macro try_cast_timespan(expression) -%}
    {%- set value = "trim(" ~ expression ~ ")" -%}
    case
        when {{ value }} ~ '^-?([0-9]{1,6}\.)?[0-9]{1,2}:[0-5][0-9]:[0-5][0-9](\.[0-9]{1,7})?$'
            then
                (case when {{ value }} like '-%' then -1 else 1 end)
                * regexp_replace(
                    ltrim({{ value }}, '-'), '^([0-9]+)\.([0-9]+:)', '\1 days \2'
                )::interval
    end
{%- endmacro %}

{#-
    Which typed columns held a value that did not convert: a comma-separated list of column
    names, or null when every value converted. `casts` maps each typed column to
    [source text expression, type, …] as for typed_column(); `typed` is the relation holding
    the converted values. A value counts as failed when the source is present and the typed
    value is null.
-#}
{% macro cast_error_columns(casts, typed='typed') -%}
    nullif(concat_ws(', '
    {%- for name, spec in casts.items() %},
        case
            when ({{ spec[0] }}) is not null and {{ typed }}.{{ name }} is null
                then '{{ name }}'
        end
    {%- endfor %}
    ), '')
{%- endmacro %}
