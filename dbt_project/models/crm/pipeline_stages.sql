{#- GoHighLevel keeps won/lost as an opportunity status, not a stage property,
    so the stage flags are derived: the last stage of a pipeline is the won
    stage (won opportunities are moved there) unless its name says lost; a stage
    named like "Lost", "Dead" or "Disqualified" is a lost stage. Open stages get
    a probability that rises evenly with their position: the k-th of n open
    stages is round(100 * k / (n + 1)) percent; won is 100, lost 0. -#}
{%- set lost_pattern = var(
    'crm_lost_stage_pattern', '\\m(lost|dead|disqualified|closed lost)\\M'
) -%}

with

stages as (

    select * from {{ ref('stg_gohighlevel__pipeline_stages') }}

),

flagged as (

    select
        stages.*,
        coalesce(stages.stage_name ~* '{{ lost_pattern }}', false) as is_lost,
        (
            stages.stage_position
            = max(stages.stage_position)
                over (
                    partition by stages.location_id, stages.pipeline_id
                )
            and not coalesce(stages.stage_name ~* '{{ lost_pattern }}', false)
        ) as is_won
    from stages

),

ranked as (

    select
        flagged.*,
        count(*) filter (where not flagged.is_won and not flagged.is_lost)
            over (
                partition by flagged.location_id, flagged.pipeline_id
            ) as open_stage_count,
        count(*) filter (where not flagged.is_won and not flagged.is_lost)
            over (
                partition by flagged.location_id, flagged.pipeline_id
                order by flagged.stage_position, flagged.stage_id
                rows between unbounded preceding and current row
            ) as open_stage_rank
    from flagged

),

final as (

    select
        ---------- ids
        stage_id,
        pipeline_id,
        location_id,

        ---------- strings
        stage_name,
        null::text as color,

        ---------- numerics
        stage_position,
        (stage_position + 1)::integer as display_order,
        case
            when is_won then 100
            when is_lost then 0
            else round(100.0 * open_stage_rank / (open_stage_count + 1))
        end::integer as probability_percent,

        ---------- booleans
        is_won,
        is_lost,
        is_shown_in_funnel,
        is_deleted

    from ranked

)

select * from final
