with

materials as (

    select * from {{ ref('stg_servicetitan__pricebook_materials') }}

),

services as (

    select * from {{ ref('stg_servicetitan__pricebook_services') }}

),

equipment as (

    select * from {{ ref('stg_servicetitan__pricebook_equipment') }}

),

unioned as (

    select
        materials.tenant_id,
        'material' as item_type,
        materials.pricebook_material_id as pricebook_item_id,
        materials.business_unit_id,
        materials.sku_code,
        materials.display_name,
        materials.description,
        materials.unit_of_measure,
        null::text as manufacturer,
        null::text as model_number,
        materials.cost,
        materials.price,
        materials.member_price,
        materials.add_on_price,
        materials.hours,
        materials.is_taxable,
        materials.is_active,
        materials.is_deleted,
        materials.has_type_errors,
        materials.created_at,
        materials.modified_at
    from materials

    union all

    select
        services.tenant_id,
        'service' as item_type,
        services.pricebook_service_id as pricebook_item_id,
        services.business_unit_id,
        services.sku_code,
        services.display_name,
        services.description,
        null::text as unit_of_measure,
        null::text as manufacturer,
        null::text as model_number,
        services.cost,
        services.price,
        services.member_price,
        services.add_on_price,
        services.hours,
        services.is_taxable,
        services.is_active,
        services.is_deleted,
        services.has_type_errors,
        services.created_at,
        services.modified_at
    from services

    union all

    select
        equipment.tenant_id,
        'equipment' as item_type,
        equipment.pricebook_equipment_id as pricebook_item_id,
        null::bigint as business_unit_id,
        equipment.sku_code,
        equipment.display_name,
        equipment.description,
        equipment.unit_of_measure,
        equipment.manufacturer,
        equipment.model_number,
        equipment.cost,
        equipment.price,
        equipment.member_price,
        equipment.add_on_price,
        equipment.hours,
        equipment.is_taxable,
        equipment.is_active,
        equipment.is_deleted,
        equipment.has_type_errors,
        equipment.created_at,
        equipment.modified_at
    from equipment

),

final as (

    select
        -- ids
        unioned.tenant_id || '-' || unioned.item_type || '-'
        || unioned.pricebook_item_id as pricebook_item_key,
        unioned.tenant_id,
        unioned.pricebook_item_id,
        unioned.business_unit_id,

        -- strings
        unioned.item_type,
        unioned.sku_code,
        unioned.display_name,
        unioned.description,
        unioned.unit_of_measure,
        unioned.manufacturer,
        unioned.model_number,

        -- numerics
        unioned.cost,
        unioned.price,
        unioned.member_price,
        unioned.add_on_price,
        unioned.hours,
        case
            when unioned.price > 0 and unioned.cost is not null
                then
                    round(
                        (unioned.price - unioned.cost) / unioned.price * 100, 2
                    )
        end as margin_percent,

        -- booleans
        unioned.is_taxable,
        unioned.is_active,
        unioned.is_deleted,
        unioned.has_type_errors,

        -- timestamps
        unioned.created_at,
        unioned.modified_at

    from unioned

)

select * from final
