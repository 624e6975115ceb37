{#- Push 2, ServiceTitan customers <- GoHighLevel: every live ServiceTitan
    customer that the CRM matching links to a live GoHighLevel contact (the
    primary one, else the lowest id), with the fields workflow.field_mappings
    chooses (source entity sync_servicetitan_customers, destination
    servicetitan customers; dest_field externalData.<key> goes into the
    customer's externalData), each converted by its mapping's transformation.
    The hash covers the sent fields only. -#}
with

links as (

    select * from {{ ref('contact_links') }}

),

contacts as (

    select * from {{ ref('stg_gohighlevel__contacts') }}

),

mappings as (

    select * from {{ ref('stg_workflow__field_mappings') }}

),

st_customers as (

    select
        links.contact_id,
        links.source_scope::bigint as tenant_id,
        links.source_id::bigint as customer_id
    from links
    where
        links.source_system = 'servicetitan'
        and links.is_active
        and not links.is_deleted

),

ghl_contacts as (

    select
        links.contact_id,
        links.source_scope as location_id,
        links.source_id as ghl_contact_id,
        links.is_primary
    from links
    where
        links.source_system = 'gohighlevel'
        and links.is_active
        and not links.is_deleted

),

paired as (

    select distinct on (st_customers.tenant_id, st_customers.customer_id)
        st_customers.tenant_id,
        st_customers.customer_id,
        ghl_contacts.location_id,
        ghl_contacts.ghl_contact_id,
        ghl_contacts.is_primary
    from st_customers
    inner join ghl_contacts
        on st_customers.contact_id = ghl_contacts.contact_id
    -- the primary contact, else the lowest id
    order by 1 asc, 2 asc, 5 desc nulls last, 4 asc

),

available as (

    -- every value a mapping row may choose, under its source_field name
    select
        paired.tenant_id,
        paired.customer_id,
        paired.location_id,
        paired.ghl_contact_id,
        jsonb_build_object(
            'ghl_contact_id', paired.ghl_contact_id,
            'ghl_location_id', paired.location_id,
            'ghl_phone', contacts.phone_as_sent,
            'ghl_email', contacts.email_as_sent,
            'ghl_contact_type', contacts.contact_type,
            'ghl_added_at', contacts.added_at
        ) as customer_fields
    from paired
    left join contacts
        on
            paired.location_id = contacts.location_id
            and paired.ghl_contact_id = contacts.contact_id

),

payloads as (

    select
        available.tenant_id,
        available.customer_id,
        available.location_id,
        available.ghl_contact_id,
        coalesce(
            jsonb_object_agg(
                mappings.dest_field,
                {{ apply_transformation(
                    'available.customer_fields -> mappings.source_field',
                    'mappings.transform_rules'
                ) }}
            ) filter (where mappings.dest_field is not null),
            '{}'::jsonb
        ) as payload
    from available
    left join mappings
        on
            mappings.source_entity = 'sync_servicetitan_customers'
            and mappings.dest_system = 'servicetitan'
            and mappings.dest_entity = 'customers'
            and available.customer_fields ? mappings.source_field
    group by 1, 2, 3, 4

),

final as (

    select
        ---------- ids
        payloads.tenant_id || '/' || payloads.customer_id as entity_id,
        payloads.tenant_id,
        payloads.customer_id,
        payloads.location_id as ghl_location_id,
        payloads.ghl_contact_id,

        ---------- strings
        md5(payloads.payload::text) as content_hash,

        ---------- json
        payloads.payload,
        null::jsonb as read_state

    from payloads

)

select * from final
