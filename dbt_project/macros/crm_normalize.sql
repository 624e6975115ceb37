{#- Normalisers shared by the GoHighLevel/CallRail staging models and the CRM matching.
    Each is dispatched (postgres__ variant) so another adapter can supply its own. -#}

{#- A phone in E.164 form: North American numbers written any way ("(512) 555-0100",
    "1 512 555 0100", "512.555.0100", "+15125550100") become "+15125550100"; other
    numbers written with a leading "+" keep their 8-15 digits; anything else is null. -#}
{% macro crm_normalize_phone(expression) -%}
    {{ return(adapter.dispatch('crm_normalize_phone')(expression)) }}
{%- endmacro %}

{% macro postgres__crm_normalize_phone(expression) -%}
    case
        when
            regexp_replace({{ expression }}, '\D', '', 'g')
            ~ '^1?[2-9][0-9]{2}[2-9][0-9]{6}$'
            then '+1' || right(regexp_replace({{ expression }}, '\D', '', 'g'), 10)
        when
            {{ expression }} ~ '^\s*\+'
            and length(regexp_replace({{ expression }}, '\D', '', 'g'))
            between 8 and 15
            then '+' || regexp_replace({{ expression }}, '\D', '', 'g')
    end
{%- endmacro %}

{#- An email address trimmed and lower-cased; null unless it looks like local@domain.tld. -#}
{% macro crm_normalize_email(expression) -%}
    {{ return(adapter.dispatch('crm_normalize_email')(expression)) }}
{%- endmacro %}

{% macro postgres__crm_normalize_email(expression) -%}
    case
        when lower(btrim({{ expression }})) ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'
            then lower(btrim({{ expression }}))
    end
{%- endmacro %}

{#- A person or company name for fuzzy comparison: lower case, letters and digits only,
    single spaces. -#}
{% macro crm_normalize_name(expression) -%}
    {{ return(adapter.dispatch('crm_normalize_name')(expression)) }}
{%- endmacro %}

{% macro postgres__crm_normalize_name(expression) -%}
    nullif(
        btrim(regexp_replace(lower({{ expression }}), '[^a-z0-9]+', ' ', 'g')),
        ''
    )
{%- endmacro %}

{#- A street line for fuzzy comparison: normalised like a name, without unit designators
    ("apt 12", "unit 4", "#5", "suite 100"), street-type words ("St"/"Street",
    "Ave"/"Avenue", "Dr", "Rd", "Ln", "Blvd", "Ct", …) and compass words, so that
    "1311 Highland Road, Apt 5" and "1311 HIGHLAND RD" both become "1311 highland".
    (The house number and the ZIP, compared separately, keep streets apart.) -#}
{% macro crm_normalize_street(expression) -%}
    {{ return(adapter.dispatch('crm_normalize_street')(expression)) }}
{%- endmacro %}

{% macro postgres__crm_normalize_street(expression) -%}
    {%- set street_words = [
        'st', 'street', 'ave', 'av', 'avenue', 'dr', 'drive', 'ln', 'lane', 'rd',
        'road', 'blvd', 'boulevard', 'ct', 'court', 'trl', 'trail', 'cv', 'cove',
        'pkwy', 'parkway', 'pl', 'place', 'cir', 'circle', 'hwy', 'highway', 'ter',
        'terrace', 'way', 'loop', 'n', 'north', 's', 'south', 'e', 'east', 'w',
        'west', 'ne', 'nw', 'se', 'sw',
    ] -%}
    {%- set without_units = "regexp_replace(" ~ expression
        ~ ", '(\\m(apt|apartment|unit|suite|ste)\\M\\.?|#)\\s*[a-z0-9-]+', ' ', 'gi')" -%}
    {%- set without_street_words = "regexp_replace(" ~ without_units
        ~ ", '\\m(" ~ street_words | join('|') ~ ")\\M', ' ', 'gi')" -%}
    {{ crm_normalize_name(without_street_words) }}
{%- endmacro %}

{#- A jsonb array as a text[] of its elements (strings unquoted); empty when the value is
    not an array, so a vendor sending a scalar cannot break the view. -#}
{% macro crm_jsonb_text_array(expression) -%}
    case
        when jsonb_typeof({{ expression }}) = 'array'
            then array(
                select jsonb_array_elements_text({{ expression }})
            )
        else '{}'::text []
    end
{%- endmacro %}

{#- An ISO-8601 timestamp string ("2025-05-30T19:23:01.749-05:00", "…Z") as timestamptz,
    or null when the text is not one (wrong shape, month 13, 30 February): a vendor's bad
    value flags its record instead of failing the whole view. Nested CASEs fix the order
    of evaluation, so the casts only ever see text the pattern accepted. -#}
{% macro crm_safe_timestamptz(expression) -%}
    {{ return(adapter.dispatch('crm_safe_timestamptz')(expression)) }}
{%- endmacro %}

{% macro postgres__crm_safe_timestamptz(expression) -%}
    case
        when
            {{ expression }} ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?(Z|[+-](0[0-9]|1[0-4]):?[0-5][0-9])$'
            then
                case
                    when
                        substr({{ expression }}, 9, 2)::integer
                        <= extract(
                            day from make_date(
                                substr({{ expression }}, 1, 4)::integer,
                                substr({{ expression }}, 6, 2)::integer,
                                1
                            ) + interval '1 month' - interval '1 day'
                        )
                        then ({{ expression }})::timestamptz
                end
    end
{%- endmacro %}

{#- A jsonb array of phone numbers as a text[] of E.164 numbers (unusable ones dropped);
    empty when the value is not an array. -#}
{% macro crm_jsonb_phone_array(expression) -%}
    array(
        select {{ crm_normalize_phone('element.value') }}
        from jsonb_array_elements_text(
            case
                when jsonb_typeof({{ expression }}) = 'array' then {{ expression }}
                else '[]'::jsonb
            end
        ) as element (value)
        where {{ crm_normalize_phone('element.value') }} is not null
    )
{%- endmacro %}
