{#- Stage history from the opportunities snapshot: one row per opportunity per
    stage it was seen entering. The vendor's lastStageChangeAt dates the entry
    (the snapshot only knows when a run noticed it); a stage is left when the
    next one is entered. The first stage an opportunity was seen in counts from
    its creation when no earlier stage change is known. -#}
with

snapshot as (

    select * from {{ ref('opportunities_snapshot') }}

),

stages as (

    select * from {{ ref('pipeline_stages') }}

),

versions as (

    select
        snapshot.location_id,
        snapshot.opportunity_id,
        snapshot.pipeline_id,
        snapshot.stage_id,
        snapshot.status,
        snapshot.created_at,
        coalesce(
            snapshot.last_stage_change_at, snapshot.created_at
        ) as stage_changed_at,
        -- dbt writes the snapshot time as a timestamp in the session's time
        -- zone
        snapshot.dbt_valid_from::timestamptz as seen_at
    from snapshot

),

entries as (

    -- consecutive versions in the same stage are one stay (a status change or a
    -- value edit is not a new stage)
    select
        versions.*,
        lag(versions.stage_id) over (
            partition by versions.location_id, versions.opportunity_id
            order by versions.seen_at
        ) as previous_stage_id,
        row_number() over (
            partition by versions.location_id, versions.opportunity_id
            order by versions.seen_at
        ) as version_number
    from versions

),

stays as (

    select
        entries.location_id,
        entries.opportunity_id,
        entries.pipeline_id,
        entries.stage_id,
        entries.seen_at,
        case
            -- first sight, still in its first stage: it has been there since
            -- creation
            when
                entries.version_number = 1
                and entries.stage_changed_at <= entries.created_at
                then entries.created_at
            else entries.stage_changed_at
        end as entered_at
    from entries
    where entries.previous_stage_id is distinct from entries.stage_id

),

sequenced as (

    select
        stays.*,
        lead(stays.entered_at) over (
            partition by stays.location_id, stays.opportunity_id
            order by stays.seen_at
        ) as exited_at,
        lead(stays.stage_id) over (
            partition by stays.location_id, stays.opportunity_id
            order by stays.seen_at
        ) as next_stage_id,
        row_number() over (
            partition by stays.location_id, stays.opportunity_id
            order by stays.seen_at
        ) as stay_number
    from stays

),

final as (

    select
        ---------- ids
        md5(
            sequenced.location_id || ':' || sequenced.opportunity_id || ':'
            || sequenced.stay_number
        ) as stage_stay_id,
        sequenced.opportunity_id,
        sequenced.location_id,
        sequenced.pipeline_id,
        sequenced.stage_id,
        sequenced.next_stage_id,

        ---------- strings
        stages.stage_name,

        ---------- numerics
        sequenced.stay_number::integer as stay_number,
        stages.stage_position,
        (
            extract(epoch from sequenced.exited_at - sequenced.entered_at)
            / 3600.0
        )::numeric(12, 2) as hours_in_stage,

        ---------- booleans
        sequenced.exited_at is null as is_current,

        ---------- timestamps
        sequenced.entered_at,
        sequenced.exited_at,
        sequenced.seen_at as first_seen_at

    from sequenced
    left join stages
        on
            sequenced.location_id = stages.location_id
            and sequenced.pipeline_id = stages.pipeline_id
            and sequenced.stage_id = stages.stage_id

)

select * from final
