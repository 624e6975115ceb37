with

latest as (

    {{ latest_version('callrail', 'callrail_text_messages') }}

),

renamed as (

    select
        ---------- ids
        callrail_id as conversation_id,
        account_id,
        company_id,
        initial_tracker_id,
        current_tracker_id,

        ---------- strings
        {{ crm_normalize_phone('customer_phone_number') }} as customer_phone,
        customer_phone_number as customer_phone_as_sent,
        nullif(btrim(customer_name), '') as customer_name,
        {{ crm_normalize_phone('current_tracking_number') }} as tracking_phone,
        full_data ->> 'tracker_name' as tracker_name,
        state,
        -- recent_messages lists the newest message first
        full_data #>> '{recent_messages,0,direction}' as last_message_direction,
        full_data #>> '{recent_messages,0,content}' as last_message_content,
        type_errors,

        ---------- numerics
        case
            when jsonb_typeof(full_data -> 'recent_messages') = 'array'
                then jsonb_array_length(full_data -> 'recent_messages')
            else 0
        end as recent_message_count,

        ---------- booleans
        is_deleted,
        (type_errors is not null or last_message_at is null) as has_type_errors,

        ---------- timestamps
        -- sent as local time with its offset; held as the instant (UTC)
        last_message_at,

        ---------- load metadata
        _dlt_load_id as dlt_load_id

    from latest

)

select * from renamed
