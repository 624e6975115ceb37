with

latest as (

    {{ latest_version('callrail', 'callrail_calls') }}

),

renamed as (

    select
        ---------- ids
        callrail_id as call_id,
        account_id,
        company_id,
        tracker_id,

        ---------- strings
        {{ crm_normalize_phone('customer_phone_number') }} as customer_phone,
        customer_phone_number as customer_phone_as_sent,
        nullif(btrim(customer_name), '') as customer_name,
        nullif(btrim(full_data ->> 'customer_city'), '') as customer_city,
        nullif(btrim(full_data ->> 'customer_state'), '') as customer_state,
        {{ crm_normalize_phone('tracking_phone_number') }} as tracking_phone,
        {{ crm_normalize_phone('business_phone_number') }} as business_phone,
        direction,
        full_data ->> 'call_type' as call_type,
        lead_status,
        source,
        full_data ->> 'source_name' as source_name,
        medium,
        campaign,
        full_data ->> 'keywords' as keywords,
        full_data ->> 'landing_page_url' as landing_page_url,
        full_data ->> 'referring_url' as referring_url,
        full_data ->> 'utm_source' as utm_source,
        full_data ->> 'utm_medium' as utm_medium,
        full_data ->> 'utm_campaign' as utm_campaign,
        full_data ->> 'gclid' as gclid,
        full_data ->> 'note' as note,
        {{ crm_jsonb_text_array('tags') }} as tags,
        -- the offset the API wrote start_time with ("-05:00"): the company's
        -- local time
        substring(full_data ->> 'start_time' from '([+-][0-9]{2}:[0-9]{2})$')
            as utc_offset,
        type_errors,

        ---------- numerics
        duration as duration_seconds,
        value,

        ---------- booleans
        -- null when CallRail sent no value raw could type (flagged in
        -- has_type_errors), never a default that reads as a real answer
        answered as is_answered,
        voicemail as is_voicemail,
        first_call as is_first_call,
        is_deleted,
        (type_errors is not null or start_time is null) as has_type_errors,

        ---------- timestamps
        -- start_time arrives as local time with its offset; timestamptz holds
        -- the instant, which is UTC
        start_time as started_at,
        (
            (start_time at time zone 'UTC')
            + coalesce(
                substring(
                    full_data ->> 'start_time' from '([+-][0-9]{2}:[0-9]{2})$'
                )::interval,
                interval '0'
            )
        ) as started_at_local,

        ---------- load metadata
        _dlt_load_id as dlt_load_id

    from latest

)

select * from renamed
