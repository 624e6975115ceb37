{#- Push 1, GoHighLevel contacts <- ServiceTitan facts: one row per
    ServiceTitan customer a contact speaks for (crm.contacts), with its facts
    (lifetime value, completed jobs, last completed job, open estimates,
    customer type) for GoHighLevel custom fields and the st-* tags. A contact
    matched to a GoHighLevel contact is updated there (read_state carries its
    id); one without is created by upsert in the location its tenant's matched
    contacts live in, and only with an email or a phone (what upsert matches
    on, so that a repeated create finds the first). Which fields are sent
    comes from workflow.field_mappings (source entity sync_ghl_contacts); the
    hash covers the sent fields only. -#}
with

contacts as (

    select * from {{ ref('contacts') }}

),

customers as (

    select * from {{ ref('customers') }}

),

jobs as (

    select * from {{ ref('jobs') }}

),

estimates as (

    select * from {{ ref('estimates') }}

),

ghl_contacts as (

    select * from {{ ref('stg_gohighlevel__contacts') }}

),

mappings as (

    select * from {{ ref('stg_workflow__field_mappings') }}

),

completed_jobs as (

    select
        tenant_id,
        customer_id,
        count(*)::integer as completed_job_count,
        max(completed_at)::date as last_completed_job_date
    from jobs
    where job_status = 'Completed' and is_active and not is_deleted
    group by 1, 2

),

open_estimates as (

    select
        tenant_id,
        customer_id,
        sum(total)::numeric(14, 2) as open_estimate_total
    from estimates
    where estimate_status = 'Open' and is_active and not is_deleted
    group by 1, 2

),

tenant_location_counts as (

    select
        st_tenant_id,
        ghl_location_id,
        count(*) as contact_count
    from contacts
    where st_tenant_id is not null and ghl_location_id is not null
    group by 1, 2

),

tenant_locations as (

    -- the location most of a tenant's matched contacts live in
    select distinct on (st_tenant_id)
        st_tenant_id,
        ghl_location_id,
        contact_count
    from tenant_location_counts
    order by 1 asc, 3 desc, 2 asc

),

people as (

    select
        coalesce(contacts.ghl_location_id, tenant_locations.ghl_location_id)
            as location_id,
        contacts.st_tenant_id as tenant_id,
        contacts.st_customer_id as customer_id,
        ghl_contacts.contact_id as ghl_contact_id,
        customers.customer_type,
        coalesce(customers.lifetime_value, 0)::numeric(14, 2) as lifetime_value,
        coalesce(completed_jobs.completed_job_count, 0) as completed_job_count,
        completed_jobs.last_completed_job_date,
        coalesce(open_estimates.open_estimate_total, 0)::numeric(14, 2)
            as open_estimate_total,
        -- a matched contact keeps its own names (the vendor's values); a
        -- created one gets the warehouse's. Email and phone say whom to create
        -- (upsert matches on them) and are never written to a matched contact
        -- (the worker leaves them out), so the hash stays put once the contact
        -- a push created is loaded and matched.
        case
            when ghl_contacts.contact_id is null then contacts.first_name
            else ghl_contacts.first_name
        end as first_name,
        case
            when ghl_contacts.contact_id is null then contacts.last_name
            else ghl_contacts.last_name
        end as last_name,
        contacts.primary_email as email,
        contacts.primary_phone as phone,
        coalesce(to_jsonb(ghl_contacts.tags), '[]'::jsonb) as ghl_tags,
        ghl_contacts.first_name as ghl_first_name,
        ghl_contacts.last_name as ghl_last_name
    from contacts
    left join tenant_locations
        on contacts.st_tenant_id = tenant_locations.st_tenant_id
    left join ghl_contacts
        on
            contacts.ghl_location_id = ghl_contacts.location_id
            and contacts.ghl_contact_id = ghl_contacts.contact_id
            and not ghl_contacts.is_deleted
    left join customers
        on
            contacts.st_tenant_id = customers.tenant_id
            and contacts.st_customer_id = customers.customer_id
    left join completed_jobs
        on
            contacts.st_tenant_id = completed_jobs.tenant_id
            and contacts.st_customer_id = completed_jobs.customer_id
    left join open_estimates
        on
            contacts.st_tenant_id = open_estimates.tenant_id
            and contacts.st_customer_id = open_estimates.customer_id
    where
        contacts.st_customer_id is not null
        and not contacts.is_deleted
        and contacts.is_active

),

chosen_tags as (

    select
        people.tenant_id,
        people.customer_id,
        kept.value as tag
    from people
    cross join
        lateral jsonb_array_elements_text(people.ghl_tags) as kept (value)
    where kept.value not in ('st-customer', 'st-open-estimate')

    union all

    select
        tenant_id,
        customer_id,
        'st-customer' as tag
    from people

    union all

    select
        tenant_id,
        customer_id,
        'st-open-estimate' as tag
    from people
    where open_estimate_total > 0

),

contact_tags as (

    select
        tenant_id,
        customer_id,
        jsonb_agg(distinct tag order by tag) as tags
    from chosen_tags
    group by 1, 2

),

available as (

    -- every value a mapping row may choose, under its source_field name;
    -- custom field values are text, as GoHighLevel holds them
    select
        people.*,
        jsonb_build_object(
            'st_customer_id', people.customer_id::text,
            'lifetime_value', people.lifetime_value::text,
            'completed_job_count', people.completed_job_count::text,
            'last_completed_job_date',
            coalesce(people.last_completed_job_date::text, ''),
            'open_estimate_total', people.open_estimate_total::text,
            'customer_type', coalesce(people.customer_type, ''),
            'first_name', people.first_name,
            'last_name', people.last_name,
            'email', people.email,
            'phone', people.phone,
            -- tags replace the contact's list: its other tags stay, the st-*
            -- ones say what is true now
            'tags', coalesce(contact_tags.tags, '[]'::jsonb)
        ) as contact_fields
    from people
    left join contact_tags
        on
            people.tenant_id = contact_tags.tenant_id
            and people.customer_id = contact_tags.customer_id
    where
        people.location_id is not null
        and (
            people.ghl_contact_id is not null
            or people.email is not null
            or people.phone is not null
        )

),

chosen as (

    select
        available.location_id,
        available.tenant_id,
        available.customer_id,
        mappings.dest_field,
        available.contact_fields -> mappings.source_field as field_value
    from available
    inner join mappings
        on
            mappings.source_entity = 'sync_ghl_contacts'
            and mappings.dest_system = 'gohighlevel'
            and mappings.dest_entity = 'contacts'
            and available.contact_fields ? mappings.source_field

),

payloads as (

    select
        location_id,
        tenant_id,
        customer_id,
        coalesce(
            jsonb_object_agg(dest_field, field_value) filter (
                where
                dest_field not like 'customFields.%'
                and jsonb_typeof(field_value) <> 'null'
            ),
            '{}'::jsonb
        )
        || coalesce(
            jsonb_build_object(
                'customFields',
                jsonb_object_agg(
                    substr(dest_field, length('customFields.') + 1), field_value
                ) filter (where dest_field like 'customFields.%')
            ),
            '{}'::jsonb
        ) as payload
    from chosen
    group by 1, 2, 3

),

final as (

    select
        ---------- ids
        available.location_id
        || '/' || available.tenant_id
        || '/' || available.customer_id as entity_id,
        available.location_id,
        available.tenant_id,
        available.customer_id,
        available.ghl_contact_id,

        ---------- strings
        md5(coalesce(payloads.payload, '{}'::jsonb)::text) as content_hash,

        ---------- json
        coalesce(payloads.payload, '{}'::jsonb) as payload,
        -- the contact as the last load read it (not hashed): its id says where
        -- to write, its fields are what a person's edit is compared with
        case
            when available.ghl_contact_id is not null
                then
                    jsonb_build_object(
                        'id', available.ghl_contact_id,
                        'firstName', available.ghl_first_name,
                        'lastName', available.ghl_last_name,
                        'tags', available.ghl_tags
                    )
        end as read_state

    from available
    left join payloads
        on
            available.location_id = payloads.location_id
            and available.tenant_id = payloads.tenant_id
            and available.customer_id = payloads.customer_id

)

select * from final
