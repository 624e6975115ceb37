with

latest as (

    {{ latest_version('gohighlevel', 'ghl_contacts') }}

),

renamed as (

    select
        ---------- ids
        ghl_id as contact_id,
        location_id,
        assigned_to as assigned_user_id,

        ---------- strings
        first_name,
        last_name,
        coalesce(
            nullif(btrim(full_data ->> 'name'), ''),
            nullif(btrim(concat_ws(' ', first_name, last_name)), '')
        ) as full_name,
        nullif(btrim(company_name), '') as company_name,
        {{ crm_normalize_email('email') }} as email,
        email as email_as_sent,
        {{ crm_normalize_phone('phone') }} as phone,
        phone as phone_as_sent,
        contact_type,
        source as lead_source,
        nullif(btrim(full_data ->> 'address1'), '') as address_line1,
        nullif(btrim(full_data ->> 'city'), '') as city,
        nullif(btrim(full_data ->> 'state'), '') as state,
        nullif(btrim(full_data ->> 'postalCode'), '') as postal_code,
        nullif(btrim(full_data ->> 'country'), '') as country,
        full_data ->> 'timezone' as time_zone,
        {{ crm_jsonb_text_array('tags') }} as tags,
        type_errors,

        ---------- booleans
        -- null when GoHighLevel sent no value raw could type (flagged in
        -- has_type_errors): unknown is never "may contact", and crm.contacts
        -- reads it as do-not-disturb
        dnd as is_dnd,
        is_deleted,
        type_errors is not null as has_type_errors,

        ---------- timestamps
        date_added as added_at,
        modified_on as updated_at,

        ---------- load metadata
        _dlt_load_id as dlt_load_id

    from latest

)

select * from renamed
