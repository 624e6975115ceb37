with

source as (

    select * from {{ source('servicetitan', '_dlt_loads') }}

),

renamed as (

    select
        -- ids
        source.load_id,

        -- strings
        source.schema_version_hash,

        -- timestamps (UTC)
        to_timestamp(source.load_id::double precision) as load_started_at,
        source.inserted_at as loaded_at

    from source
    where
        source.schema_name = 'servicetitan'
        and source.status = 0

)

select * from renamed
