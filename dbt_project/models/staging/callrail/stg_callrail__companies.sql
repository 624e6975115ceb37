with

latest as (

    {{ latest_version('callrail', 'callrail_companies') }}

),

renamed as (

    select
        ---------- ids
        callrail_id as company_id,
        account_id,

        ---------- strings
        name as company_name,
        status,
        time_zone,
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
