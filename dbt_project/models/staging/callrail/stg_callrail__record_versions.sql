{#- Change capture for the incremental CRM models: one row per raw VERSION of a
    CallRail call or text-message conversation, with its load. Only typed
    columns are read, so a filter on _dlt_load_id reaches raw's load-id index. -#}
with

calls as (

    select * from {{ source('callrail', 'callrail_calls') }}

),

text_messages as (

    select * from {{ source('callrail', 'callrail_text_messages') }}

),

renamed as (

    select
        'calls' as entity,
        calls.account_id,
        calls.callrail_id as record_id,
        calls._dlt_load_id
    from calls
    union all
    select
        'text_messages' as entity,
        text_messages.account_id,
        text_messages.callrail_id as record_id,
        text_messages._dlt_load_id
    from text_messages

)

select * from renamed
