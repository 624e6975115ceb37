{#- Incremental (merge on link_id): the records the matching redid since the
    last run. Records never disappear (a deleted source record stays, flagged),
    so merge never has to delete. -#}
{{
    config(
        materialized='incremental',
        unique_key='link_id',
        incremental_strategy='merge',
    )
}}

with

matched as (

    select * from {{ ref('int_contact_records_matched') }}

),

records as (

    select * from {{ ref('int_contact_records_unioned') }}

),

redone as (

    select * from matched
    {% if is_incremental() %}
        where batch_at > {{ watermark('batch_at', 'timestamptz') }}
    {% endif %}

),

final as (

    select
        ---------- ids
        redone.record_key as link_id,
        redone.contact_id,
        redone.source_system,
        redone.source_scope,
        redone.source_id,
        redone.matched_record_key,

        ---------- strings
        redone.match_rule,

        ---------- numerics
        redone.confidence,
        redone.match_weight::numeric(6, 2) as match_weight,

        ---------- explanation
        redone.match_contributions,

        ---------- booleans
        redone.is_primary,
        records.is_live as is_active,
        records.is_deleted,

        ---------- run bookkeeping
        redone.batch_at

    from redone
    inner join records
        on redone.record_key = records.record_key

)

select * from final
