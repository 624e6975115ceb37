with

latest as (

    {{ latest_version('gohighlevel', 'ghl_opportunities') }}

),

renamed as (

    select
        ---------- ids
        ghl_id as opportunity_id,
        location_id,
        contact_id,
        pipeline_id,
        pipeline_stage_id as stage_id,
        assigned_to as assigned_user_id,
        nullif(full_data ->> 'lostReasonId', '') as lost_reason_id,

        ---------- strings
        name as opportunity_name,
        lower(status) as status,
        source as lead_source,
        type_errors,

        ---------- numerics
        monetary_value,

        ---------- booleans
        is_deleted,
        type_errors is not null as has_type_errors,

        ---------- timestamps
        created_at,
        modified_on as updated_at,
        last_status_change_at,
        last_stage_change_at,

        ---------- load metadata
        _dlt_load_id as dlt_load_id

    from latest

)

select * from renamed
