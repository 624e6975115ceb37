with

mappings as (

    select * from {{ source('workflow', 'field_mappings') }}

),

renamed as (

    select
        ---------- ids
        id as mapping_id,

        ---------- strings
        source_system,
        source_entity,
        source_field,
        dest_system,
        dest_entity,
        dest_field,
        transform as transform_name,

        ---------- timestamps
        updated_at

    from mappings
    where is_enabled and direction in ('outbound', 'both')

)

select * from renamed
