with

matched as (

    select * from {{ ref('int_contact_records_matched') }}

),

records as (

    select * from {{ ref('int_contact_records_unioned') }}

),

final as (

    select
        ---------- ids
        matched.record_key as link_id,
        matched.contact_id,
        matched.source_system,
        matched.source_scope,
        matched.source_id,
        matched.matched_record_key,

        ---------- strings
        matched.match_rule,

        ---------- numerics
        matched.confidence,

        ---------- booleans
        matched.is_primary,
        records.is_live as is_active,
        records.is_deleted

    from matched
    inner join records
        on matched.record_key = records.record_key

)

select * from final
