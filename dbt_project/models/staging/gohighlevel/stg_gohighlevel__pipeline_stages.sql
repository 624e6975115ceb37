{#- The stages nested in each pipeline, one row per stage. GHL leaves the stage
    object untyped in its spec; the shape used here is {id, name, position,
    showInFunnel, …}. -#}
with

pipelines as (

    select * from {{ ref('stg_gohighlevel__pipelines') }}

),

unnested as (

    select
        pipelines.pipeline_id,
        pipelines.location_id,
        pipelines.is_deleted,
        stage_element.stage_object,
        stage_element.stage_ordinal
    from pipelines
    cross join
        lateral jsonb_array_elements(pipelines.stage_list)
        with ordinality as stage_element (stage_object, stage_ordinal)

),

renamed as (

    select
        ---------- ids
        stage_object ->> 'id' as stage_id,
        pipeline_id,
        location_id,

        ---------- strings
        stage_object ->> 'name' as stage_name,

        ---------- numerics
        -- the vendor's position when it is a number, else the order in the
        -- array
        case
            when jsonb_typeof(stage_object -> 'position') = 'number'
                then least(
                    greatest((stage_object ->> 'position')::numeric, -1000000),
                    1000000
                )::integer
            else (stage_ordinal - 1)::integer
        end as stage_position,

        ---------- booleans
        {{ json_flag('stage_object', 'showInFunnel', 'true') }}
            as is_shown_in_funnel,
        is_deleted,
        (
            jsonb_typeof(stage_object) <> 'object'
            or jsonb_typeof(stage_object -> 'id') is distinct from 'string'
            or jsonb_typeof(
                stage_object -> 'position'
            ) is distinct from 'number'
        ) as has_type_errors

    from unnested

)

select * from renamed
