{#- Scored candidate pairs of a ServiceTitan customer and a GoHighLevel contact
    (Fellegi-Sunter): every pair that agrees on at least one blocking key of
    int_contact_match_features, compared field by field (crm_match_comparisons)
    and weighed with int_contact_match_parameters. Kept: the pairs whose match
    weight reaches the review weight (var crm_match_review_weight), with the
    level and weight of each field (`contributions`), so that a link can be
    explained. One row per customer without such a pair (ghl_record_key null),
    so that a run replaces whatever the customer held before.

    Incremental (delete+insert on st_record_key): a run redoes every pair of
    the customers the changed records can concern: the changed customers, the
    customers a changed contact was paired with, and those sharing a blocking
    key with a changed contact now. Pairs among unchanged records are not
    scored again. When the parameters were re-estimated, every pair is. -#}
{{
    config(
        materialized='incremental',
        unique_key='st_record_key',
        incremental_strategy='delete+insert',
    )
}}
{%- set parameters = crm_match_weights() -%}
{%- set review_weight = var('crm_match_review_weight', 4) -%}
{%- set tf_floor = var('crm_match_tf_floor', 0.0001) -%}
{%- set comparisons = crm_match_comparisons() -%}
{%- set trained_at = "'" ~ parameters.trained_at ~ "'::timestamptz"
    if parameters.trained_at else 'null::timestamptz' -%}
{#- every pair again when it was weighed with other parameters -#}
{%- set rescore = {'all': not is_incremental()} -%}
{%- if execute and is_incremental() -%}
    {%- set query -%}
        select parameters_trained_at::text from {{ this }}
        order by batch_at desc limit 1
    {%- endset -%}
    {%- set newest = run_query(query).columns[0].values() -%}
    {%- if newest and newest[0] != parameters.trained_at -%}
        {%- do rescore.update({'all': true}) -%}
    {%- endif -%}
{%- endif %}

with

{% if rescore['all'] %}

    scope as (

        select features.*
        from {{ ref('int_contact_match_features') }} as features
        where features.source_system = 'servicetitan'

    ),

    keyed as (

        select
            features.record_key,
            features.source_system,
            block.key
        from {{ ref('int_contact_match_features') }} as features
        cross join lateral unnest(features.block_keys) as block (key)

    ),

    candidates as (

        select distinct
            st.record_key as st_record_key,
            ghl.record_key as ghl_record_key
        from keyed as st
        inner join keyed as ghl
            on st.key = ghl.key
        where
            st.source_system = 'servicetitan'
            and ghl.source_system = 'gohighlevel'

    ),

{% else %}

    changed as (

        select
            features.record_key,
            features.source_system,
            features.block_keys
        from {{ ref('int_contact_match_features') }} as features
        where
            features.batch_at > {{ crm_watermark('batch_at', 'timestamptz') }}

    ),

    changed_contacts as (

        select * from changed
        where source_system = 'gohighlevel'

    ),

    scope_keys as (

        select changed.record_key from changed
        where changed.source_system = 'servicetitan'
        union
        -- paired before
        select paired_before.st_record_key
        from (
            {{ crm_lookup(
                this,
                'changed_contacts',
                ['ghl_record_key'],
                ['record_key'],
            ) }}
        ) as paired_before
        union
        -- paired now: a customer holding one of a changed contact's keys
        select holders.record_key
        from changed_contacts
        cross join lateral (
            select features.record_key
            from {{ ref('int_contact_match_features') }} as features
            where
                features.block_keys && changed_contacts.block_keys
                and features.source_system = 'servicetitan'
            offset 0  -- noqa: AM09
        ) as holders

    ),

    scope as (

        {{ crm_lookup(
            ref('int_contact_match_features'), 'scope_keys', ['record_key']
        ) }}

    ),

    candidates as (

        select distinct
            scope.record_key as st_record_key,
            holders.record_key as ghl_record_key
        from scope
        cross join lateral (
            select features.record_key
            from {{ ref('int_contact_match_features') }} as features
            where
                features.block_keys && scope.block_keys
                and features.source_system = 'gohighlevel'
            offset 0  -- noqa: AM09
        ) as holders

    ),

{% endif %}

features as not materialized (

    select * from {{ ref('int_contact_match_features') }}

),

sides as (

    select
        candidates.st_record_key,
        candidates.ghl_record_key,
        {{ crm_match_swapped('st', 'ghl') }} as names_swapped,
        {{ crm_match_side('st', 'l_') }},
        {{ crm_match_side('ghl', 'r_', crm_match_swapped('st', 'ghl')) }}
    from candidates
    inner join features as st on candidates.st_record_key = st.record_key
    inner join features as ghl on candidates.ghl_record_key = ghl.record_key

),

compared as (

    select
        sides.st_record_key,
        sides.ghl_record_key,
        sides.names_swapped,
        sides.l_first_name,
        sides.l_last_name,
        {%- for name, expression in comparisons.items() %}
            {{ expression }} as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from sides

),

weighed as (

    select
        compared.*,
        {%- for name in comparisons %}
            {%- set levels = parameters['levels'][name] %}
            case
                {%- if name in crm_match_tf_comparisons() %}
                    {%- set m_exact = levels['exact'][0] %}
                    -- agreeing on a common name says less than on a rare one
                    when compared.{{ name }} = 'exact'
                        then log(
                            2,
                            (
                                {{ m_exact }}::float8
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
                    when compared.{{ name }} = '{{ level }}' then {{ weight }}
                {%- endfor %}
                else 0
            end::numeric(6, 2) as {{ name }}_weight{{ ',' if not loop.last }}
        {%- endfor %}
    from compared
    {%- for name in crm_match_tf_comparisons() %}
        left join {{ ref('int_contact_match_parameters') }} as {{ name }}_frequency
            on
                {{ name }}_frequency.comparison = '{{ name }}_tf'
                and compared.l_{{ name }} = {{ name }}_frequency.level
        left join {{ ref('int_contact_match_parameters') }} as {{ name }}_default
            on
                {{ name }}_default.comparison = '{{ name }}_tf'
                and {{ name }}_default.level = ''
    {%- endfor %}

),

scored as (

    select
        weighed.st_record_key,
        weighed.ghl_record_key,
        (
            {%- for name in comparisons %}
                weighed.{{ name }}_weight{{ ' +' if not loop.last }}
            {%- endfor %}
        ) as match_weight,
        -- two first names that share nothing (after nicknames, typos and
        -- sounds) at one address are a household's two people: never linked
        -- unseen
        coalesce(weighed.first_name = 'other', false) as first_names_differ,
        weighed.names_swapped,
        jsonb_strip_nulls(jsonb_build_object(
            {%- for name in comparisons %}
                '{{ name }}',
                case
                    when weighed.{{ name }} is not null
                        then jsonb_build_object(
                            'level', weighed.{{ name }},
                            'weight', weighed.{{ name }}_weight
                        )
                end{{ ',' if not loop.last }}
            {%- endfor %}
        )) as contributions
    from weighed

),

final as (

    select
        scope.record_key as st_record_key,
        scored.ghl_record_key,
        scored.match_weight,
        scored.first_names_differ,
        scored.names_swapped,
        scored.contributions,
        {{ trained_at }} as parameters_trained_at,
        {{ run_batch_at() }} as batch_at
    from scope
    left join scored
        on
            scope.record_key = scored.st_record_key
            and scored.match_weight >= {{ review_weight }}

)

select * from final
