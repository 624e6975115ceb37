{#- Push 2, ServiceTitan customer tags <- GoHighLevel tags: one row per tag
    type a customer should carry and did not when last loaded, where a
    workflow.field_mappings row (source gohighlevel contact_tags, source_field
    = the GoHighLevel tag; destination servicetitan tag_types, dest_field = the
    tag type's name) maps a tag of the customer's linked GoHighLevel contact
    (sync_servicetitan_customers). Tags are only added (POST
    customers/{id}/tags/{tagTypeId}); a tag a person removes later stays
    removed. -#}
with

customers as (

    select * from {{ ref('sync_servicetitan_customers') }}

),

contacts as (

    select * from {{ ref('stg_gohighlevel__contacts') }}

),

st_customers as (

    select * from {{ ref('stg_servicetitan__customers') }}

),

tag_types as (

    select * from {{ ref('tag_types') }}

),

mappings as (

    select * from {{ ref('stg_workflow__field_mappings') }}

),

wanted as (

    select distinct
        jsonb_build_object('tagTypeId', tag_types.tag_type_id) as payload,
        customers.tenant_id,
        customers.customer_id,
        tag_types.tag_type_id
    from customers
    inner join contacts
        on
            customers.ghl_location_id = contacts.location_id
            and customers.ghl_contact_id = contacts.contact_id
    cross join lateral unnest(contacts.tags) as contact_tags (tag)
    inner join mappings
        on
            mappings.source_system = 'gohighlevel'
            and mappings.source_entity = 'contact_tags'
            and mappings.dest_system = 'servicetitan'
            and mappings.dest_entity = 'tag_types'
            and lower(contact_tags.tag) = lower(mappings.source_field)
    inner join tag_types
        on
            customers.tenant_id = tag_types.tenant_id
            and lower(mappings.dest_field) = lower(tag_types.tag_type_name)
            and tag_types.is_active
            and not tag_types.is_deleted

),

final as (

    select
        ---------- ids
        concat_ws(
            '/', wanted.tenant_id, wanted.customer_id, wanted.tag_type_id
        ) as entity_id,
        wanted.tenant_id,
        wanted.customer_id,
        wanted.tag_type_id,

        ---------- strings
        md5(wanted.payload::text) as content_hash,

        ---------- json
        wanted.payload,
        null::jsonb as read_state

    from wanted
    inner join st_customers
        on
            wanted.tenant_id = st_customers.tenant_id
            and wanted.customer_id = st_customers.customer_id
    where
        not coalesce(
            st_customers.tag_type_ids @> to_jsonb(wanted.tag_type_id), false
        )

)

select * from final
