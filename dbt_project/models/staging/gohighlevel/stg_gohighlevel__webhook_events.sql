{#- One row per webhook delivery. The table is written by the webhook receiver
    and may not exist yet: the model is then an empty relation of the same
    shape. -#}
{%- set events = source('gohighlevel', 'ghl_webhook_events') -%}

with

{% if crm_relation_exists(events) %}

    source as (

        select
            webhook_id::text as webhook_id,
            location_id::text as location_id,
            event_type::text as event_type,
            received_at::timestamptz as received_at,
            full_data::jsonb as full_data
        from {{ events }}

    ),

{% else %}

    source as (

        select
            null::text as webhook_id,
            null::text as location_id,
            null::text as event_type,
            null::timestamptz as received_at,
            null::jsonb as full_data
        where false

    ),

{% endif %}

ranked as (

    -- a redelivered webhook keeps its id: count it once
    select
        source.*,
        row_number() over (
            partition by source.webhook_id order by source.received_at
        ) as delivery_number
    from source

),

deduplicated as (

    select * from ranked
    where delivery_number = 1

),

renamed as (

    select
        ---------- ids
        webhook_id as event_id,
        location_id,
        nullif(full_data ->> 'id', '') as entity_id,
        nullif(full_data ->> 'contactId', '') as contact_id,

        ---------- strings
        coalesce(event_type, full_data ->> 'type') as event_type,

        ---------- json
        full_data as payload,

        ---------- timestamps
        received_at

    from deduplicated

)

select * from renamed
