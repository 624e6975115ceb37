with

mappings as (

    select * from {{ source('workflow', 'field_mappings') }}

),

transformations as (

    select * from {{ source('workflow', 'transformations') }}

),

renamed as (

    select
        ---------- ids
        mappings.id as mapping_id,

        ---------- strings
        mappings.source_system,
        mappings.source_entity,
        mappings.source_field,
        mappings.dest_system,
        mappings.dest_entity,
        mappings.dest_field,
        mappings.transform as transform_name,

        ---------- json
        -- the named transformation's steps (apply_transformation); null when
        -- none is named or the named one is missing or disabled (a test stops
        -- the sync_* models then)
        transformations.rules as transform_rules,

        ---------- timestamps
        mappings.updated_at

    from mappings
    left join transformations
        on
            mappings.transform = transformations.name
            and transformations.is_enabled
    where mappings.is_enabled and mappings.direction in ('outbound', 'both')

)

select * from renamed
