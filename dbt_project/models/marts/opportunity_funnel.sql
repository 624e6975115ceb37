{#- The opportunity funnel of each pipeline, one row per stage. An opportunity
    reached a stage when its current stage or any stage in its history
    (crm.opportunity_stage_history) is at that position or later; conversion to
    the next stage is the share of those that also reached the next one. Time in
    stage comes from completed stays in the history. Deleted opportunities are
    left out. -#}
with

stages as (

    select * from {{ ref('pipeline_stages') }}

),

opportunities as (

    select * from {{ ref('opportunities') }}

),

history as (

    select * from {{ ref('opportunity_stage_history') }}

),

live_opportunities as (

    select * from opportunities
    where not is_deleted

),

history_furthest as (

    select
        history.location_id,
        history.opportunity_id,
        history.pipeline_id,
        max(history.stage_position) as furthest_position
    from history
    group by 1, 2, 3

),

furthest as (

    -- the furthest stage each opportunity is known to have reached
    select
        live_opportunities.location_id,
        live_opportunities.opportunity_id,
        live_opportunities.pipeline_id,
        live_opportunities.status,
        live_opportunities.value,
        greatest(
            live_opportunities.stage_position,
            history_furthest.furthest_position
        ) as furthest_position
    from live_opportunities
    left join history_furthest
        on
            live_opportunities.location_id = history_furthest.location_id
            and live_opportunities.opportunity_id
            = history_furthest.opportunity_id
            and live_opportunities.pipeline_id = history_furthest.pipeline_id

),

reached as (

    select
        stages.location_id,
        stages.pipeline_id,
        stages.stage_id,
        count(furthest.opportunity_id) as reached_count,
        count(furthest.opportunity_id) filter (
            where furthest.status = 'won'
        ) as won_count,
        coalesce(sum(furthest.value), 0) as reached_value
    from stages
    left join furthest
        on
            stages.location_id = furthest.location_id
            and stages.pipeline_id = furthest.pipeline_id
            and stages.stage_position <= furthest.furthest_position
    group by 1, 2, 3

),

current_counts as (

    select
        live_opportunities.location_id,
        live_opportunities.pipeline_id,
        live_opportunities.stage_id,
        count(*) filter (where live_opportunities.is_open) as open_count,
        count(*) filter (where live_opportunities.is_lost) as lost_count
    from live_opportunities
    group by 1, 2, 3

),

stay_times as (

    select
        history.location_id,
        history.pipeline_id,
        history.stage_id,
        count(*) as completed_stay_count,
        avg(history.hours_in_stage) as average_hours,
        percentile_cont(0.5) within group (
            order by history.hours_in_stage
        ) as median_hours
    from history
    where not history.is_current
    group by 1, 2, 3

),

funnel as (

    select
        stages.*,
        reached.reached_count,
        reached.won_count,
        reached.reached_value,
        lead(reached.reached_count) over (
            partition by stages.location_id, stages.pipeline_id
            order by stages.stage_position
        ) as next_reached_count
    from stages
    inner join reached
        on
            stages.location_id = reached.location_id
            and stages.pipeline_id = reached.pipeline_id
            and stages.stage_id = reached.stage_id

),

final as (

    select
        ---------- ids
        funnel.location_id,
        funnel.pipeline_id,
        funnel.stage_id,

        ---------- strings
        funnel.stage_name,

        ---------- numerics
        funnel.stage_position,
        funnel.reached_count::integer as reached_count,
        funnel.next_reached_count::integer as advanced_count,
        coalesce(current_counts.open_count, 0)::integer as open_count,
        coalesce(current_counts.lost_count, 0)::integer as lost_count,
        funnel.won_count::integer as won_count,
        funnel.reached_value::numeric(14, 2) as reached_value,
        round(
            funnel.next_reached_count::numeric
            / nullif(funnel.reached_count, 0),
            4
        ) as conversion_rate,
        round(
            funnel.won_count::numeric / nullif(funnel.reached_count, 0), 4
        ) as win_rate,
        coalesce(stay_times.completed_stay_count, 0)::integer
            as completed_stay_count,
        stay_times.average_hours::numeric(12, 2) as average_hours_in_stage,
        stay_times.median_hours::numeric(12, 2) as median_hours_in_stage,

        ---------- booleans
        funnel.is_won,
        funnel.is_lost

    from funnel
    left join current_counts
        on
            funnel.location_id = current_counts.location_id
            and funnel.pipeline_id = current_counts.pipeline_id
            and funnel.stage_id = current_counts.stage_id
    left join stay_times
        on
            funnel.location_id = stay_times.location_id
            and funnel.pipeline_id = stay_times.pipeline_id
            and funnel.stage_id = stay_times.stage_id

)

select * from final
