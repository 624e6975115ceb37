with

opportunities as (

    select * from {{ ref('stg_gohighlevel__opportunities') }}

),

pipelines as (

    select * from {{ ref('pipelines') }}

),

stages as (

    select * from {{ ref('pipeline_stages') }}

),

links as (

    select * from {{ ref('contact_links') }}

),

final as (

    select
        ---------- ids
        opportunities.opportunity_id,
        opportunities.location_id,
        links.contact_id,
        opportunities.contact_id as ghl_contact_id,
        opportunities.pipeline_id,
        opportunities.stage_id,
        opportunities.assigned_user_id as owner_id,
        opportunities.lost_reason_id,

        ---------- strings
        opportunities.opportunity_name,
        pipelines.pipeline_name,
        stages.stage_name,
        opportunities.status,
        opportunities.lead_source,

        ---------- numerics
        opportunities.monetary_value::numeric(14, 2) as value,  -- noqa: RF04
        stages.stage_position,
        stages.probability_percent,
        case
            when opportunities.status = 'won' then opportunities.monetary_value
            when opportunities.status in ('lost', 'abandoned') then 0
            else
                opportunities.monetary_value
                * stages.probability_percent
                / 100.0
        end::numeric(14, 2) as weighted_value,

        ---------- booleans
        opportunities.status = 'open' as is_open,
        opportunities.status = 'won' as is_won,
        opportunities.status in ('lost', 'abandoned') as is_lost,
        opportunities.is_deleted,
        opportunities.has_type_errors,

        ---------- timestamps
        opportunities.created_at,
        opportunities.updated_at,
        opportunities.last_stage_change_at,
        opportunities.last_status_change_at

    from opportunities
    left join links
        on
            links.source_system = 'gohighlevel'
            and opportunities.location_id = links.source_scope
            and opportunities.contact_id = links.source_id
    left join pipelines
        on
            opportunities.location_id = pipelines.location_id
            and opportunities.pipeline_id = pipelines.pipeline_id
    left join stages
        on
            opportunities.location_id = stages.location_id
            and opportunities.pipeline_id = stages.pipeline_id
            and opportunities.stage_id = stages.stage_id

)

select * from final
