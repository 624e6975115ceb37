{#- Every record that stands for a person, from both systems, in one shape:
    ServiceTitan customers (with every phone and email ever attached to them or
    to their locations, deleted ones included: a removed number still tells who
    the customer is) and GoHighLevel contacts. -#}
with

st_customers as (

    select * from {{ ref('stg_servicetitan__customers') }}

),

st_customer_contacts as (

    select * from {{ ref('stg_servicetitan__customer_contacts') }}

),

st_locations as (

    select * from {{ ref('stg_servicetitan__locations') }}

),

st_location_contacts as (

    select * from {{ ref('stg_servicetitan__location_contacts') }}

),

st_tag_types as (

    select * from {{ ref('tag_types') }}

),

ghl_contacts as (

    select * from {{ ref('stg_gohighlevel__contacts') }}

),

st_tags as (

    -- the names of the tag types on each customer
    select
        st_customers.tenant_id,
        st_customers.customer_id,
        array_agg(distinct st_tag_types.tag_type_name) as tags
    from st_customers
    cross join
        lateral unnest(
            {{ crm_jsonb_text_array('st_customers.tag_type_ids') }}
        ) as tag (value)
    inner join st_tag_types
        on
            st_customers.tenant_id = st_tag_types.tenant_id
            and tag.value = st_tag_types.tag_type_id::text
    where st_tag_types.tag_type_name is not null
    group by 1, 2

),

st_contact_values as (

    -- customer contacts before location contacts, live ones before removed ones
    select
        st_customer_contacts.tenant_id,
        st_customer_contacts.customer_id,
        st_customer_contacts.contact_type,
        st_customer_contacts.contact_value,
        st_customer_contacts.customer_contact_id as contact_id,
        0 as source_rank,
        (
            st_customer_contacts.is_active
            and not st_customer_contacts.is_deleted
        ) as is_live
    from st_customer_contacts

    union all

    select
        st_location_contacts.tenant_id,
        st_locations.customer_id,
        st_location_contacts.contact_type,
        st_location_contacts.contact_value,
        st_location_contacts.location_contact_id as contact_id,
        1 as source_rank,
        (
            st_location_contacts.is_active
            and not st_location_contacts.is_deleted
        ) as is_live
    from st_location_contacts
    inner join st_locations
        on
            st_location_contacts.tenant_id = st_locations.tenant_id
            and st_location_contacts.location_id = st_locations.location_id

),

st_contact_values_normalized as (

    select
        tenant_id,
        customer_id,
        contact_id,
        source_rank,
        is_live,
        case
            when lower(contact_type) in ('phone', 'mobilephone')
                then {{ crm_normalize_phone('contact_value') }}
        end as phone,
        case
            when lower(contact_type) = 'email'
                then {{ crm_normalize_email('contact_value') }}
        end as email
    from st_contact_values

),

st_identifiers as (

    select
        tenant_id,
        customer_id,
        array_agg(distinct phone) filter (where phone is not null) as phones,
        array_agg(distinct email) filter (where email is not null) as emails,
        (
            array_agg(
                phone
                order by not is_live, source_rank, contact_id
            ) filter (where phone is not null)
        )[1] as primary_phone,
        (
            array_agg(
                email
                order by not is_live, source_rank, contact_id
            ) filter (where email is not null)
        )[1] as primary_email
    from st_contact_values_normalized
    group by 1, 2

),

st_records as (

    select
        'servicetitan:' || st_customers.tenant_id || ':'
        || st_customers.customer_id as record_key,
        'servicetitan' as source_system,
        st_customers.tenant_id::text as source_scope,
        st_customers.customer_id::text as source_id,
        st_customers.tenant_id as st_tenant_id,
        st_customers.customer_id as st_customer_id,
        null::text as ghl_location_id,
        null::text as ghl_contact_id,
        null::text as owner_id,
        case
            when lower(st_customers.customer_type) <> 'commercial'
                then split_part(btrim(st_customers.customer_name), ' ', 1)
        end as first_name,
        case
            when lower(st_customers.customer_type) <> 'commercial'
                then
                    nullif(
                        substring(
                            btrim(st_customers.customer_name) from ' (.*)$'
                        ),
                        ''
                    )
        end as last_name,
        st_customers.customer_name as full_name,
        case
            when lower(st_customers.customer_type) = 'commercial'
                then st_customers.customer_name
        end as company_name,
        {{ crm_normalize_name('st_customers.customer_name') }}
            as name_normalized,
        null::text as company_normalized,
        st_customers.street,
        st_customers.unit,
        st_customers.city,
        st_customers.state,
        left(st_customers.zip, 5) as zip,
        {{ crm_normalize_street('st_customers.street') }}
            as street_normalized,
        null::text as lead_source,
        coalesce(st_identifiers.phones, '{}') as phones,
        coalesce(st_identifiers.emails, '{}') as emails,
        st_identifiers.primary_phone,
        st_identifiers.primary_email,
        coalesce(st_tags.tags, '{}') as tags,
        false as is_dnd,
        (st_customers.is_active and not st_customers.is_deleted) as is_live,
        st_customers.is_deleted,
        st_customers.created_at,
        st_customers.modified_at as updated_at
    from st_customers
    left join st_identifiers
        on
            st_customers.tenant_id = st_identifiers.tenant_id
            and st_customers.customer_id = st_identifiers.customer_id
    left join st_tags
        on
            st_customers.tenant_id = st_tags.tenant_id
            and st_customers.customer_id = st_tags.customer_id

),

ghl_records as (

    select
        'gohighlevel:' || location_id || ':' || contact_id as record_key,
        'gohighlevel' as source_system,
        location_id as source_scope,
        contact_id as source_id,
        null::bigint as st_tenant_id,
        null::bigint as st_customer_id,
        location_id as ghl_location_id,
        contact_id as ghl_contact_id,
        assigned_user_id as owner_id,
        first_name,
        last_name,
        full_name,
        company_name,
        {{ crm_normalize_name('full_name') }} as name_normalized,
        {{ crm_normalize_name('company_name') }} as company_normalized,
        address_line1 as street,
        null::text as unit,
        city,
        state,
        left(postal_code, 5) as zip,
        {{ crm_normalize_street('address_line1') }} as street_normalized,
        lead_source,
        case when phone is null then '{}' else array[phone] end as phones,
        case when email is null then '{}' else array[email] end as emails,
        phone as primary_phone,
        email as primary_email,
        tags,
        is_dnd,
        not is_deleted as is_live,
        is_deleted,
        added_at as created_at,
        updated_at
    from ghl_contacts

),

unioned as (

    select * from st_records
    union all
    select * from ghl_records

)

select * from unioned
