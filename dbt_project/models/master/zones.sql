with

zones as (

    select * from {{ ref('stg_servicetitan__zones') }}

),

final as (

    select
        -- ids
        zones.zone_key,
        zones.tenant_id,
        zones.zone_id,

        -- strings
        zones.zone_name,

        -- booleans
        zones.is_service_days_enabled,
        zones.is_active,
        zones.is_deleted,
        zones.has_type_errors,

        -- lists
        zones.zips,
        zones.cities,
        zones.technician_ids,
        zones.business_unit_ids,

        -- timestamps
        zones.created_at,
        zones.modified_at

    from zones

)

select * from final
