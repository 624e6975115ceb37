{#- Change capture for the incremental CRM models: one row per raw VERSION of
    the GoHighLevel records they read, with its load. Only typed key columns are
    read (no JSON) and each branch is a plain scan of one raw table, so a filter
    on _dlt_load_id reaches raw's load-id index. -#}
with

contacts as (

    select * from {{ source('gohighlevel', 'ghl_contacts') }}

),

opportunities as (

    select * from {{ source('gohighlevel', 'ghl_opportunities') }}

),

unioned as (

    select
        'contacts' as entity,
        contacts.location_id,
        contacts.ghl_id as record_id,
        contacts._dlt_load_id
    from contacts

    union all

    select
        'opportunities' as entity,
        opportunities.location_id,
        opportunities.ghl_id as record_id,
        opportunities._dlt_load_id
    from opportunities

)

select * from unioned
