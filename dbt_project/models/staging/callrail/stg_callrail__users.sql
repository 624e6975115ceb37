with

latest as (

    {{ latest_version('callrail', 'callrail_users') }}

),

renamed as (

    select
        ---------- ids
        callrail_id as user_id,
        account_id,

        ---------- strings
        nullif(btrim(name), '') as user_name,
        nullif(btrim(first_name), '') as first_name,
        nullif(btrim(last_name), '') as last_name,
        lower(nullif(btrim(email), '')) as email,
        role as user_role,
        type_errors,

        ---------- booleans
        coalesce(accepted, false) as is_accepted,
        is_deleted,
        type_errors is not null as has_type_errors,

        ---------- timestamps
        created_at,

        ---------- load metadata
        _dlt_load_id as dlt_load_id

    from latest

)

select * from renamed
