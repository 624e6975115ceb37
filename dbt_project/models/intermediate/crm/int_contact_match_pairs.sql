{#- Scored candidate pairs of a ServiceTitan customer and a GoHighLevel contact
    (Fellegi-Sunter): every pair that agrees on at least one blocking key of
    int_contact_match_features, compared field by field (crm_match_comparisons)
    and weighed with int_contact_match_parameters. Kept: the pairs whose match
    weight reaches the review weight (var crm_match_review_weight), with the
    level and weight of each field (`contributions`), so that a link can be
    explained.

    Incremental (append after a pre-hook): the pre-hook forgets every pair of
    the records int_contact_match_features wrote since the last run, and the
    run scores the pairs those records form now (through their blocking keys,
    read by GIN index). Pairs among unchanged records are not scored again.
    When the parameters were re-estimated, the pre-hook forgets every pair and
    the run scores them all. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ crm_match_pairs_forget() }}",
    )
}}
{%- set parameters = crm_match_weights() -%}
{%- set review_weight = var('crm_match_review_weight', 4) -%}
{%- set tf_floor = var('crm_match_tf_floor', 0.0001) -%}
{%- set trained_at = "'" ~ parameters.trained_at ~ "'::timestamptz"
    if parameters.trained_at else 'null::timestamptz' -%}

with

{% if not is_incremental() or crm_match_pairs_rescore_all() %}

    keyed as (

        select
            features.record_key,
            features.source_system,
            block.block_key
        from {{ ref('int_contact_match_features') }} as features
        cross join lateral unnest(features.block_keys) as block (block_key)

    ),

    candidates as (

        select distinct
            st.record_key as st_record_key,
            ghl.record_key as ghl_record_key
        from keyed as st
        inner join keyed as ghl
            on st.block_key = ghl.block_key
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
            features.batch_at > {{ watermark('batch_at', 'timestamptz') }}

    ),

    candidates as (

        -- each changed record with the other side's records that hold one of
        -- its keys
        select distinct
            case
                when changed.source_system = 'servicetitan'
                    then changed.record_key
                else holders.record_key
            end as st_record_key,
            case
                when changed.source_system = 'servicetitan'
                    then holders.record_key
                else changed.record_key
            end as ghl_record_key
        from changed
        cross join lateral (
            select features.record_key
            from {{ ref('int_contact_match_features') }} as features
            where
                features.block_keys && changed.block_keys
                and features.source_system <> changed.source_system
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
        {{ crm_match_level_columns() }}
    from sides

),

weighed as (

    select
        compared.*,
        {{ crm_match_weight_columns('compared', parameters, tf_floor) }}
    from compared
    {{ crm_match_frequency_joins('compared') }}

),

scored as (

    select
        weighed.st_record_key,
        weighed.ghl_record_key,
        {{ crm_match_total('weighed') }} as match_weight,
        -- two first names that share nothing (after nicknames, typos and
        -- sounds) at one address are a household's two people: never linked
        -- unseen
        coalesce(weighed.first_name = 'other', false) as first_names_differ,
        weighed.names_swapped,
        {{ crm_match_contributions('weighed') }} as contributions
    from weighed

),

final as (

    select
        scored.st_record_key,
        scored.ghl_record_key,
        scored.match_weight,
        scored.first_names_differ,
        scored.names_swapped,
        scored.contributions,
        {{ trained_at }} as parameters_trained_at,
        {{ run_batch_at() }} as batch_at
    from scored
    where scored.match_weight >= {{ review_weight }}

)

select * from final
