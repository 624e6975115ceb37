{#- Push 5, GoHighLevel opportunities <- ServiceTitan outcomes: every open
    opportunity whose contact has a ServiceTitan job, created since the
    opportunity, that was sold (a sold estimate) or completed. It moves to its
    pipeline's won stage (crm.pipeline_stages.is_won) with status won and
    monetaryValue = the invoiced revenue of those jobs. Which fields are sent
    comes from workflow.field_mappings (source entity sync_ghl_opportunities);
    the hash covers the sent fields only. -#}
with

opportunities as (

    select * from {{ ref('opportunities') }}

),

stages as (

    select * from {{ ref('pipeline_stages') }}

),

attribution as (

    select * from {{ ref('job_attribution') }}

),

estimates as (

    select * from {{ ref('estimates') }}

),

mappings as (

    select * from {{ ref('stg_workflow__field_mappings') }}

),

sold_jobs as (

    select distinct
        tenant_id,
        job_id
    from estimates
    where estimate_status = 'Sold' and is_active and not is_deleted

),

won_stages as (

    select distinct on (location_id, pipeline_id)
        location_id,
        pipeline_id,
        stage_id,
        stage_position
    from stages
    where is_won and not is_deleted
    order by 1 asc, 2 asc, 4 desc

),

outcomes as (

    select
        opportunities.location_id,
        opportunities.opportunity_id,
        count(*)::integer as job_count,
        sum(attribution.revenue)::numeric(14, 2) as revenue
    from opportunities
    inner join attribution
        on
            opportunities.contact_id = attribution.contact_id
            and opportunities.created_at <= attribution.created_at
    left join sold_jobs
        on
            attribution.tenant_id = sold_jobs.tenant_id
            and attribution.job_id = sold_jobs.job_id
    where
        opportunities.is_open
        and not opportunities.is_deleted
        and attribution.is_counted
        and (attribution.is_completed or sold_jobs.job_id is not null)
    group by 1, 2

),

available as (

    -- every value a mapping row may choose, under its source_field name
    select
        outcomes.location_id,
        outcomes.opportunity_id,
        outcomes.job_count,
        outcomes.revenue,
        jsonb_build_object(
            'won_stage_id', won_stages.stage_id,
            'won_status', 'won',
            'revenue', outcomes.revenue,
            'pipeline_id', opportunities.pipeline_id
        ) as opportunity_fields,
        jsonb_build_object(
            'pipelineId', opportunities.pipeline_id,
            'pipelineStageId', opportunities.stage_id,
            'status', opportunities.status,
            'monetaryValue', opportunities.value
        ) as read_fields
    from outcomes
    inner join opportunities
        on
            outcomes.location_id = opportunities.location_id
            and outcomes.opportunity_id = opportunities.opportunity_id
    inner join won_stages
        on
            opportunities.location_id = won_stages.location_id
            and opportunities.pipeline_id = won_stages.pipeline_id

),

payloads as (

    select
        available.location_id,
        available.opportunity_id,
        available.job_count,
        available.revenue,
        coalesce(
            jsonb_object_agg(
                mappings.dest_field,
                available.read_fields -> mappings.dest_field
            ) filter (where mappings.dest_field is not null),
            '{}'::jsonb
        ) as read_state,
        coalesce(
            jsonb_object_agg(
                mappings.dest_field,
                available.opportunity_fields -> mappings.source_field
            ) filter (where mappings.dest_field is not null),
            '{}'::jsonb
        ) as payload
    from available
    left join mappings
        on
            mappings.source_entity = 'sync_ghl_opportunities'
            and mappings.dest_system = 'gohighlevel'
            and mappings.dest_entity = 'opportunities'
            and available.opportunity_fields ? mappings.source_field
    group by 1, 2, 3, 4

),

final as (

    select
        ---------- ids
        location_id || '/' || opportunity_id as entity_id,
        location_id,
        opportunity_id,

        ---------- strings
        md5(payload::text) as content_hash,

        ---------- numerics
        job_count,
        revenue,

        ---------- json
        payload,
        read_state

    from payloads

)

select * from final
