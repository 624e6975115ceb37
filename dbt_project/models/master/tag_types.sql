with

tag_types as (

    select * from {{ ref('stg_servicetitan__tag_types') }}

),

final as (

    select
        -- ids
        tag_types.tag_type_key,
        tag_types.tenant_id,
        tag_types.tag_type_id,

        -- strings
        tag_types.tag_type_name,
        tag_types.tag_code,
        tag_types.color,
        tag_types.entity_type,
        tag_types.importance,

        -- booleans
        tag_types.is_conversion_opportunity,
        tag_types.is_active,
        tag_types.is_deleted,
        tag_types.has_type_errors,

        -- timestamps
        tag_types.created_at,
        tag_types.modified_at

    from tag_types

)

select * from final
