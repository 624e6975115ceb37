{#-
    Probabilistic (Fellegi-Sunter) contact matching: the comparison of two records field by
    field, shared by the estimation of the match parameters (int_contact_match_parameters)
    and the scoring of candidate pairs (int_contact_match_pairs).

    A comparison puts a pair on one level per field; a level has an m probability (of that
    level among pairs that are one person) and a u probability (among pairs that are not);
    its weight is log2(m / u), and a pair's match weight is the sum over its fields (a field
    missing on either side weighs 0). The priors below are where the estimation starts: it
    moves them towards what it counts, by as much as it counted (pseudo-counts).
-#}

{#- comparison -> [(level, prior m, prior u)], in order of evidence -#}
{% macro crm_match_levels() -%}
    {{ return({
        'first_name': [
            ('exact', 0.80, 0.02), ('nickname', 0.05, 0.002), ('typo', 0.06, 0.004),
            ('phonetic', 0.03, 0.01), ('initial', 0.02, 0.04), ('other', 0.04, 0.924),
        ],
        'last_name': [
            ('exact', 0.85, 0.005), ('typo', 0.08, 0.002), ('phonetic', 0.03, 0.005),
            ('other', 0.04, 0.988),
        ],
        'company': [('exact', 0.80, 0.001), ('similar', 0.10, 0.005), ('other', 0.10, 0.994)],
        'house_number': [('exact', 0.85, 0.01), ('typo', 0.07, 0.02), ('other', 0.08, 0.97)],
        'street': [('exact', 0.85, 0.002), ('similar', 0.10, 0.01), ('other', 0.05, 0.988)],
        'unit': [('exact', 0.80, 0.05), ('other', 0.20, 0.95)],
        'city': [('exact', 0.90, 0.30), ('similar', 0.05, 0.02), ('other', 0.05, 0.68)],
        'zip': [('exact', 0.88, 0.10), ('typo', 0.08, 0.05), ('other', 0.04, 0.85)],
        'phone': [('shared', 0.60, 0.0001), ('different', 0.40, 0.9999)],
        'email': [('shared', 0.60, 0.0001), ('different', 0.40, 0.9999)],
    }) }}
{%- endmacro %}

{#- The comparisons whose exact level is weighed by how common the value is (term
    frequency): "Smith" agreeing says less than "Kowalczyk" agreeing. -#}
{% macro crm_match_tf_comparisons() -%}
    {{ return(['first_name', 'last_name']) }}
{%- endmacro %}

{#- Two values a typo apart: one edit, two for longer values, or two neighbouring letters
    swapped ("jonh"). -#}
{% macro crm_match_typo(a, b) -%}
    (
        levenshtein({{ a }}, {{ b }})
        <= case when greatest(length({{ a }}), length({{ b }})) >= 8 then 2 else 1 end
        or (
            length({{ a }}) = length({{ b }})
            and levenshtein({{ a }}, {{ b }}) = 2
            and (
                select string_agg(letter, '' order by letter)
                from regexp_split_to_table({{ a }}, '') as letter
            ) = (
                select string_agg(letter, '' order by letter)
                from regexp_split_to_table({{ b }}, '') as letter
            )
        )
    )
{%- endmacro %}

{#- comparison -> level expression over a relation holding both records' features as
    l_<feature> (the ServiceTitan side) and r_<feature> (the GoHighLevel side, its first and
    last names already swapped when they fit the other way round). -#}
{% macro crm_match_comparisons() -%}
    {%- set c = {} -%}
    {%- do c.update({'first_name': "case
            when l_first_name is null or r_first_name is null then null
            when l_first_name = r_first_name then 'exact'
            when l_first_name_forms && r_first_name_forms then 'nickname'
            when " ~ crm_match_typo('l_first_name', 'r_first_name') ~ " then 'typo'
            when l_first_code = r_first_code then 'phonetic'
            when
                least(length(l_first_name), length(r_first_name)) = 1
                and left(l_first_name, 1) = left(r_first_name, 1)
                then 'initial'
            else 'other'
        end"}) -%}
    {%- do c.update({'last_name': "case
            when l_last_name is null or r_last_name is null then null
            when l_last_name = r_last_name then 'exact'
            when " ~ crm_match_typo('l_last_name', 'r_last_name') ~ " then 'typo'
            when l_last_code = r_last_code then 'phonetic'
            else 'other'
        end"}) -%}
    {%- do c.update({'company': "case
            when l_company_name is null or r_company_name is null then null
            when l_company_name = r_company_name then 'exact'
            when similarity(l_company_name, r_company_name) >= 0.6 then 'similar'
            else 'other'
        end"}) -%}
    {%- do c.update({'house_number': "case
            when l_house_number is null or r_house_number is null then null
            when l_house_number = r_house_number then 'exact'
            when " ~ crm_match_typo('l_house_number', 'r_house_number') ~ " then 'typo'
            else 'other'
        end"}) -%}
    {%- do c.update({'street': "case
            when l_street_name is null or r_street_name is null then null
            when l_street_name = r_street_name then 'exact'
            when
                " ~ crm_match_typo('l_street_name', 'r_street_name') ~ "
                or similarity(l_street_name, r_street_name) >= 0.6
                then 'similar'
            else 'other'
        end"}) -%}
    {%- do c.update({'unit': "case
            when l_unit is null or r_unit is null then null
            when l_unit = r_unit then 'exact'
            else 'other'
        end"}) -%}
    {%- do c.update({'city': "case
            when l_city is null or r_city is null then null
            when l_city = r_city then 'exact'
            when levenshtein(l_city, r_city) <= 2 then 'similar'
            else 'other'
        end"}) -%}
    {%- do c.update({'zip': "case
            when l_zip is null or r_zip is null then null
            when l_zip = r_zip then 'exact'
            when " ~ crm_match_typo('l_zip', 'r_zip') ~ " then 'typo'
            else 'other'
        end"}) -%}
    {%- do c.update({'phone': "case
            when cardinality(l_phones) = 0 or cardinality(r_phones) = 0 then null
            when l_phones && r_phones then 'shared'
            else 'different'
        end"}) -%}
    {%- do c.update({'email': "case
            when cardinality(l_emails) = 0 or cardinality(r_emails) = 0 then null
            when l_emails && r_emails then 'shared'
            else 'different'
        end"}) -%}
    {{ return(c) }}
{%- endmacro %}

{#- The features of a record under a prefix (l_ or r_); `swapped` (a boolean expression) puts
    its last name in place of its first and the other way round. -#}
{% macro crm_match_side(alias, prefix, swapped='false') -%}
    case when {{ swapped }} then {{ alias }}.last_name else {{ alias }}.first_name end
        as {{ prefix }}first_name,
    case when {{ swapped }} then {{ alias }}.first_name else {{ alias }}.last_name end
        as {{ prefix }}last_name,
    case
        when {{ swapped }} then {{ alias }}.last_name_forms
        else {{ alias }}.first_name_forms
    end as {{ prefix }}first_name_forms,
    case when {{ swapped }} then {{ alias }}.last_code else {{ alias }}.first_code end
        as {{ prefix }}first_code,
    case when {{ swapped }} then {{ alias }}.first_code else {{ alias }}.last_code end
        as {{ prefix }}last_code,
    {{ alias }}.company_name as {{ prefix }}company_name,
    {{ alias }}.house_number as {{ prefix }}house_number,
    {{ alias }}.street_name as {{ prefix }}street_name,
    {{ alias }}.unit as {{ prefix }}unit,
    {{ alias }}.city as {{ prefix }}city,
    {{ alias }}.zip as {{ prefix }}zip,
    {{ alias }}.phones as {{ prefix }}phones,
    {{ alias }}.emails as {{ prefix }}emails
{%- endmacro %}

{#- Whether the GoHighLevel record's names fit the customer's better the other way round. -#}
{% macro crm_match_swapped(l, r) -%}
    (
        coalesce(similarity({{ l }}.first_name, {{ r }}.last_name), 0)
        + coalesce(similarity({{ l }}.last_name, {{ r }}.first_name), 0)
        > coalesce(similarity({{ l }}.first_name, {{ r }}.first_name), 0)
        + coalesce(similarity({{ l }}.last_name, {{ r }}.last_name), 0)
    )
{%- endmacro %}

{#- The estimated parameters, read when the model compiles: {'levels': comparison -> level
    -> (m, weight as a SQL expression), 'trained_at': when they were estimated}. Before any estimation (an empty
    warehouse) the priors stand in, with trained_at none. -#}
{% macro crm_match_weights() -%}
    {%- set levels = {} -%}
    {%- set found = {'trained_at': none} -%}
    {%- for name, rows in crm_match_levels().items() -%}
        {%- for level, m, u in rows -%}
            {%- do levels.setdefault(name, {}).update(
                {level: (m, 'log(2, ' ~ m ~ '::numeric / ' ~ u ~ '::numeric)')}
            ) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if execute -%}
        {%- set relation = load_relation(ref('int_contact_match_parameters')) -%}
        {%- set query -%}
            select comparison, level, m_probability, match_weight, trained_at::text
            from {{ relation }}
            where match_weight is not null
        {%- endset -%}
        {%- for row in (run_query(query).rows if relation is not none else []) -%}
            {%- do levels[row[0]].update({row[1]: (row[2], row[3] ~ '::float8')}) -%}
            {%- do found.update({'trained_at': row[4]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({'levels': levels, 'trained_at': found['trained_at']}) }}
{%- endmacro %}

{#- The parameters model's pre-hook: a requested re-estimation replaces the old rows. -#}
{% macro crm_match_parameters_reset() -%}
    {%- if is_incremental() and var('crm_match_retrain', false) -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The records paired with the records of CTE `keys` (column record_key): by a scored pair
    (int_contact_match_pairs, either side) or by a person's decision. -#}
{% macro crm_match_partners(keys) -%}
    select paired.ghl_record_key as record_key
    from (
        {{ lookup(
            ref('int_contact_match_pairs'), keys, ['st_record_key'], ['record_key']
        ) }}
    ) as paired
    where paired.ghl_record_key is not null
    union
    select paired.st_record_key as record_key
    from (
        {{ lookup(
            ref('int_contact_match_pairs'), keys, ['ghl_record_key'], ['record_key']
        ) }}
    ) as paired
    union
    select decided.ghl_record_key as record_key
    from (
        {{ lookup(
            source('crm_editable', 'contact_match_reviews'),
            keys,
            ['st_record_key'],
            ['record_key'],
        ) }}
    ) as decided
    union
    select decided.st_record_key as record_key
    from (
        {{ lookup(
            source('crm_editable', 'contact_match_reviews'),
            keys,
            ['ghl_record_key'],
            ['record_key'],
        ) }}
    ) as decided
{%- endmacro %}

{#- Whether int_contact_match_pairs must score every pair again: its rows were weighed with
    other parameters than the current ones (a re-estimation). -#}
{% macro crm_match_pairs_rescore_all() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set query -%}
        select parameters_trained_at::text from {{ this }}
        order by batch_at desc limit 1
    {%- endset -%}
    {%- set newest = run_query(query).rows -%}
    {{ return(newest | length > 0 and newest[0][0] != crm_match_weights().trained_at) }}
{%- endmacro %}

{#- int_contact_match_pairs' pre-hook: forget the pairs the run scores again (those of the
    records int_contact_match_features wrote since the last run; all of them when the
    parameters changed). Same transaction as the run: a failed run forgets nothing. -#}
{% macro crm_match_pairs_forget() -%}
    {%- if not is_incremental() -%}
        select 1
    {%- elif crm_match_pairs_rescore_all() -%}
        delete from {{ this }}
    {%- else -%}
        {%- set features = ref('int_contact_match_features') -%}
        {%- set since = watermark('batch_at', 'timestamptz') -%}
        delete from {{ this }} as pairs
        using {{ features }} as changed
        where
            changed.batch_at > {{ since }}
            and changed.record_key = pairs.st_record_key;
        delete from {{ this }} as pairs
        using {{ features }} as changed
        where
            changed.batch_at > {{ since }}
            and changed.record_key = pairs.ghl_record_key
    {%- endif -%}
{%- endmacro %}

{#- The level of every comparison, as columns named after them (over l_/r_ features). -#}
{% macro crm_match_level_columns() -%}
    {%- for name, expression in crm_match_comparisons().items() %}
        {{ expression }} as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The weight of every comparison's level (<name>_weight): the estimated one, or for an
    exact name log2(m / the name's frequency) through crm_match_frequency_joins. -#}
{% macro crm_match_weight_columns(relation, parameters, tf_floor) -%}
    {%- for name in crm_match_comparisons() %}
        {%- set levels = parameters['levels'][name] %}
        case
            {%- if name in crm_match_tf_comparisons() %}
                when {{ relation }}.{{ name }} = 'exact'
                    then log(
                        2,
                        (
                            {{ levels['exact'][0] }}::float8
                            / greatest(
                                coalesce(
                                    {{ name }}_frequency.u_probability,
                                    {{ name }}_default.u_probability,
                                    {{ tf_floor }}
                                ),
                                {{ tf_floor }}
                            )
                        )::numeric
                    )
            {%- endif %}
            {%- for level, (m, weight) in levels.items() %}
                when {{ relation }}.{{ name }} = '{{ level }}' then {{ weight }}
            {%- endfor %}
            else 0
        end::numeric(6, 2) as {{ name }}_weight{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The term frequencies of the customer's names (and the default for rarer ones). -#}
{% macro crm_match_frequency_joins(relation) -%}
    {%- set parameters = ref('int_contact_match_parameters') -%}
    {%- for name in crm_match_tf_comparisons() %}
        left join {{ parameters }} as {{ name }}_frequency
            on
                {{ name }}_frequency.comparison = '{{ name }}_tf'
                and {{ relation }}.l_{{ name }} = {{ name }}_frequency.level
        left join {{ parameters }} as {{ name }}_default
            on
                {{ name }}_default.comparison = '{{ name }}_tf'
                and {{ name }}_default.level = ''
    {%- endfor %}
{%- endmacro %}

{#- The match weight: the sum of the fields' weights. -#}
{% macro crm_match_total(relation) -%}
    (
        {%- for name in crm_match_comparisons() %}
            {{ relation }}.{{ name }}_weight{{ ' +' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#- Each field's level and weight, as jsonb (fields missing on either side left out). -#}
{% macro crm_match_contributions(relation) -%}
    jsonb_strip_nulls(jsonb_build_object(
        {%- for name in crm_match_comparisons() %}
            '{{ name }}',
            case
                when {{ relation }}.{{ name }} is not null
                    then jsonb_build_object(
                        'level', {{ relation }}.{{ name }},
                        'weight', {{ relation }}.{{ name }}_weight
                    )
            end{{ ',' if not loop.last }}
        {%- endfor %}
    ))
{%- endmacro %}
