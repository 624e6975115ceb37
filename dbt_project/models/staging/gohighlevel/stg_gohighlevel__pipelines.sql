with

latest as (

    {{ latest_version('gohighlevel', 'ghl_pipelines') }}

),

renamed as (

    select
        ---------- ids
        ghl_id as pipeline_id,
        location_id,

        ---------- strings
        name as pipeline_name,
        type_errors,

        ---------- json
        case
            when jsonb_typeof(stages) = 'array' then stages else '[]'::jsonb
        end as stage_list,

        ---------- numerics
        case
            when jsonb_typeof(stages) = 'array' then jsonb_array_length(stages)
            else 0
        end as stage_count,

        ---------- booleans
        {{ json_flag('full_data', 'showInFunnel', 'false') }}
            as is_shown_in_funnel,
        {{ json_flag('full_data', 'showInPieChart', 'false') }}
            as is_shown_in_pie_chart,
        is_deleted,
        (
            type_errors is not null
            or jsonb_typeof(stages) is distinct from 'array'
        ) as has_type_errors,

        ---------- load metadata
        _dlt_load_id as dlt_load_id

    from latest

)

select * from renamed
