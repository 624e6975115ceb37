with

pipelines as (

    select * from {{ ref('stg_gohighlevel__pipelines') }}

),

opportunities as (

    select * from {{ ref('stg_gohighlevel__opportunities') }}

),

open_opportunities as (

    select
        opportunities.location_id,
        opportunities.pipeline_id,
        count(*) as open_opportunity_count,
        coalesce(sum(opportunities.monetary_value), 0) as open_value
    from opportunities
    where
        opportunities.status = 'open'
        and not opportunities.is_deleted
    group by 1, 2

),

final as (

    select
        ---------- ids
        pipelines.pipeline_id,
        pipelines.location_id,

        ---------- strings
        pipelines.pipeline_name,
        'opportunity' as entity_type,

        ---------- numerics
        row_number() over (
            partition by pipelines.location_id
            order by pipelines.pipeline_name, pipelines.pipeline_id
        )::integer as display_order,
        pipelines.stage_count::integer as stage_count,
        coalesce(open_opportunities.open_opportunity_count, 0)::integer
            as open_opportunity_count,
        coalesce(open_opportunities.open_value, 0)::numeric(14, 2)
            as open_value,

        ---------- booleans
        pipelines.is_shown_in_funnel,
        pipelines.is_deleted

    from pipelines
    left join open_opportunities
        on
            pipelines.location_id = open_opportunities.location_id
            and pipelines.pipeline_id = open_opportunities.pipeline_id

)

select * from final
