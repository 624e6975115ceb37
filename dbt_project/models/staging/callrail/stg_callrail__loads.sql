{#- Completed dlt loads of the CallRail source: the cursor of the incremental
    CRM models. -#}
with

source as (

    select * from {{ source('callrail', 'dlt_loads') }}

),

renamed as (

    select
        source.load_id,
        source.inserted_at as loaded_at
    from source
    where
        source.schema_name = 'callrail'
        and source.status = 0

)

select * from renamed
