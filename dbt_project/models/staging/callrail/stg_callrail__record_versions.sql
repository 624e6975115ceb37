{#- Change capture for the incremental CRM models: one row per raw VERSION of a
    CallRail call, with its load. Only typed columns are read, so a filter on
    _dlt_load_id reaches raw's load-id index. -#}
with

calls as (

    select * from {{ source('callrail', 'callrail_calls') }}

),

renamed as (

    select
        'calls' as entity,
        calls.account_id,
        calls.callrail_id as record_id,
        calls._dlt_load_id
    from calls

)

select * from renamed
