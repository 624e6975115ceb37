with

latest as (

    {{
        crm_latest_version(
            source('callrail', 'callrail_companies'),
            source('callrail', 'dlt_loads'),
            'account_id',
            'callrail_id',
        )
    }}

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
