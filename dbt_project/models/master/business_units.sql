with

business_units as (

    select * from {{ ref('stg_servicetitan__business_units') }}

),

final as (

    select
        -- ids
        business_units.business_unit_key,
        business_units.tenant_id,
        business_units.business_unit_id,

        -- strings
        business_units.business_unit_name,
        business_units.official_name,
        business_units.email,
        business_units.phone,
        business_units.phone_normalized,
        business_units.trade_name,
        business_units.division_name,
        business_units.street,
        business_units.unit,
        business_units.city,
        business_units.state,
        business_units.zip,
        business_units.country,
        business_units.currency,

        -- numerics
        business_units.default_tax_rate,

        -- booleans
        business_units.is_active,
        business_units.is_deleted,
        business_units.has_type_errors,

        -- timestamps
        business_units.created_at,
        business_units.modified_at

    from business_units

)

select * from final
