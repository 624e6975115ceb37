with

campaigns as (

    select * from {{ ref('stg_servicetitan__campaigns') }}

),

final as (

    select
        -- ids
        campaigns.campaign_key,
        campaigns.tenant_id,
        campaigns.campaign_id,
        campaigns.category_id,
        campaigns.business_unit_id,

        -- strings
        campaigns.campaign_name,
        campaigns.campaign_code,
        campaigns.category_name,
        campaigns.campaign_source,
        campaigns.campaign_medium,

        -- booleans
        campaigns.is_default_campaign,
        campaigns.is_active,
        campaigns.is_deleted,
        campaigns.has_type_errors,

        -- lists
        campaigns.campaign_phone_numbers,

        -- timestamps
        campaigns.created_at,
        campaigns.modified_at

    from campaigns

)

select * from final
