with

latest as (

    {{ latest_version('callrail', 'callrail_trackers') }}

),

renamed as (

    select
        ---------- ids
        callrail_id as tracker_id,
        account_id,
        company_id,

        ---------- strings
        name as tracker_name,
        tracker_type,
        status,
        full_data #>> '{source,type}' as source_type,
        campaign_name,
        {{ crm_normalize_phone('destination_number') }} as destination_phone,
        {{ crm_jsonb_phone_array('tracking_numbers') }} as tracking_phones,
        type_errors,

        ---------- booleans
        coalesce(status = 'active', false) as is_active,
        is_deleted,
        type_errors is not null as has_type_errors,

        ---------- timestamps
        created_at,
        disabled_at,

        ---------- load metadata
        _dlt_load_id as dlt_load_id

    from latest

)

select * from renamed
