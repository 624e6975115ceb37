{#- Every record that stands for a person, from both systems, in one shape:
    ServiceTitan customers (with every phone and email ever attached to them or
    to their locations, deleted ones included: a removed number still tells who
    the customer is) and GoHighLevel contacts.

    Incremental (merge on record_key): a run recomputes the customers that a
    ServiceTitan version loaded since the last run touches (the customer, its
    contacts, locations, location contacts and jobs, now or before) and the
    GoHighLevel contacts with a new version, looking each up through the staging
    views by key, and writes those that came out different. -#}
{{
    config(
        materialized='incremental',
        unique_key='record_key',
        incremental_strategy='merge',
        pre_hook="{{ full_build_hints(incremental_too=true, full_build=false) }}",
    )
}}

-- change capture (used only by incremental runs):
-- depends_on: {{ ref('stg_servicetitan__record_versions') }}
-- depends_on: {{ ref('stg_servicetitan__loads') }}
-- depends_on: {{ ref('stg_gohighlevel__record_versions') }}
-- depends_on: {{ ref('stg_gohighlevel__loads') }}

with

{% if is_incremental() %}

    changed_st as (

        {{ changed_records(
            'servicetitan', ['customers', 'customer_contacts', 'locations', 'jobs']
        ) }}

    ),

    changed_st_versions as (

        {{ servicetitan_all_versions_of('changed_st') }}

    ),

    changed_location_contacts as (

        -- their versions in the window, with the location each points at
        select distinct
            versions.tenant_id,
            versions.record_id as location_contact_id,
            versions.location_id
        from {{ ref('stg_servicetitan__record_versions') }} as versions
        where
            versions.entity = 'location_contacts'
            and versions._dlt_load_id > {{ watermark('last_load_id') }}
            and versions._dlt_load_id
            <= {{ latest_completed_load('servicetitan') }}

    ),

    changed_contact_locations as (

        {{ lookup(
            ref('stg_servicetitan__locations'),
            'changed_location_contacts',
            ['tenant_id', 'location_id'],
        ) }}

    ),

    candidate_customers as (

        -- every customer a changed record belongs to now or belonged to before
        select
            changed_st_versions.tenant_id,
            changed_st_versions.customer_id
        from changed_st_versions
        where changed_st_versions.customer_id is not null

        union

        select
            changed_contact_locations.tenant_id,
            changed_contact_locations.customer_id
        from changed_contact_locations

        union

        -- one GIN lookup per changed location contact (offset 0 keeps the
        -- planner from turning it into a join that tests every pair)
        select
            holders.tenant_id,
            holders.customer_id
        from changed_location_contacts
        cross join lateral (
            select
                previous.st_tenant_id as tenant_id,
                previous.st_customer_id as customer_id
            from {{ this }} as previous
            where
                previous.st_location_contact_ids
                @> array[changed_location_contacts.location_contact_id]
                and previous.st_tenant_id = changed_location_contacts.tenant_id
            offset 0  -- noqa: AM09
        ) as holders

    ),

    candidate_previous as (

        -- key by key through the (st_tenant_id, st_customer_id) index: the
        -- candidates' row estimate (millions, after the GIN lookups' union)
        -- made the planner merge-join the whole table
        {{ lookup(
            this,
            'candidate_customers',
            ['st_tenant_id', 'st_customer_id'],
            ['tenant_id', 'customer_id'],
        ) }}

    ),

    candidate_contact_ids as (

        -- what the candidates had, plus every changed contact (one that moved
        -- in or out is among them)
        select
            candidate_previous.st_tenant_id as tenant_id,
            unnest(candidate_previous.st_contact_ids) as customer_contact_id
        from candidate_previous
        union
        select
            changed_st.tenant_id,
            changed_st.record_id as customer_contact_id
        from changed_st
        where changed_st.entity = 'customer_contacts'

    ),

    candidate_location_ids as (

        select
            candidate_previous.st_tenant_id as tenant_id,
            unnest(candidate_previous.st_location_ids) as location_id
        from candidate_previous
        union
        select
            changed_st.tenant_id,
            changed_st.record_id as location_id
        from changed_st
        where changed_st.entity = 'locations'

    ),

    candidate_location_contact_ids as (

        select
            candidate_previous.st_tenant_id as tenant_id,
            unnest(candidate_previous.st_location_contact_ids)
                as location_contact_id
        from candidate_previous
        union
        select
            changed_location_contacts.tenant_id,
            changed_location_contacts.location_contact_id
        from changed_location_contacts

    ),

    st_customers as (

        {{ lookup(
            ref('stg_servicetitan__customers'),
            'candidate_customers',
            ['tenant_id', 'customer_id'],
        ) }}

    ),

    st_customer_contacts as (

        {{ lookup(
            ref('stg_servicetitan__customer_contacts'),
            'candidate_contact_ids',
            ['tenant_id', 'customer_contact_id'],
        ) }}

    ),

    st_locations as (

        {{ lookup(
            ref('stg_servicetitan__locations'),
            'candidate_location_ids',
            ['tenant_id', 'location_id'],
        ) }}

    ),

    st_location_contacts as (

        {{ lookup(
            ref('stg_servicetitan__location_contacts'),
            'candidate_location_contact_ids',
            ['tenant_id', 'location_contact_id'],
        ) }}

    ),

    st_jobs as (

        {{ lookup(
            ref('jobs'), 'candidate_customers', ['tenant_id', 'customer_id']
        ) }}

    ),

    changed_ghl as (

        {{ changed_records('gohighlevel', ['contacts'], 'ghl_last_load_id', 'contact_id') }}

    ),

    ghl_contacts as (

        {{ lookup(
            ref('stg_gohighlevel__contacts'),
            'changed_ghl',
            ['location_id', 'contact_id'],
        ) }}

    ),

{% else %}

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

    st_jobs as (

        select * from {{ ref('jobs') }}

    ),

    ghl_contacts as (

        select * from {{ ref('stg_gohighlevel__contacts') }}

    ),

{% endif %}

st_tag_types as (

    select * from {{ ref('tag_types') }}

),

st_campaigns as (

    select * from {{ ref('campaigns') }}

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

st_child_ids as (

    -- what each customer's record was computed from (the next incremental run
    -- starts from these)
    select
        st_contact_values.tenant_id,
        st_contact_values.customer_id,
        array_agg(distinct st_contact_values.contact_id) filter (
            where st_contact_values.source_rank = 0
        ) as contact_ids,
        array_agg(distinct st_contact_values.contact_id) filter (
            where st_contact_values.source_rank = 1
        ) as location_contact_ids
    from st_contact_values
    group by 1, 2

),

st_location_ids as (

    select
        st_locations.tenant_id,
        st_locations.customer_id,
        array_agg(distinct st_locations.location_id) as location_ids
    from st_locations
    group by 1, 2

),

st_first_jobs as (

    -- the campaign that brought each customer its first job
    select
        st_jobs.tenant_id,
        st_jobs.customer_id,
        (
            array_agg(
                st_campaigns.campaign_name
                order by st_jobs.created_at, st_jobs.job_id
            )
        )[1] as campaign_name
    from st_jobs
    inner join st_campaigns
        on
            st_jobs.tenant_id = st_campaigns.tenant_id
            and st_jobs.campaign_id = st_campaigns.campaign_id
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
        st_first_jobs.campaign_name as first_job_campaign,
        coalesce(st_child_ids.contact_ids, '{}') as st_contact_ids,
        coalesce(st_location_ids.location_ids, '{}') as st_location_ids,
        coalesce(st_child_ids.location_contact_ids, '{}')
            as st_location_contact_ids,
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
    left join st_first_jobs
        on
            st_customers.tenant_id = st_first_jobs.tenant_id
            and st_customers.customer_id = st_first_jobs.customer_id
    left join st_child_ids
        on
            st_customers.tenant_id = st_child_ids.tenant_id
            and st_customers.customer_id = st_child_ids.customer_id
    left join st_location_ids
        on
            st_customers.tenant_id = st_location_ids.tenant_id
            and st_customers.customer_id = st_location_ids.customer_id

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
        null::text as first_job_campaign,
        '{}'::bigint[] as st_contact_ids,
        '{}'::bigint[] as st_location_ids,
        '{}'::bigint[] as st_location_contact_ids,
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

),

final as (

    select
        unioned.*,
        -- the house number of "1311 Highland Rd": with the ZIP, the blocking
        -- key of fuzzy matching
        substring(unioned.street_normalized from '^([0-9]+[a-z]?)(?: |$)')
            as house_number,
        {{ run_batch_at() }} as batch_at,
        {{ latest_completed_load('servicetitan') }} as last_load_id,
        {{ latest_completed_load('gohighlevel') }} as ghl_last_load_id
    from unioned
    {% if is_incremental() %}
        -- only the records whose content came out different: most records a
        -- run recomputes (a customer whose job changed) are as they were, and
        -- every model downstream redoes what this one writes
        left join lateral (
            select
                to_jsonb(previous_rows)
                - array[
                    'house_number', 'batch_at', 'last_load_id', 'ghl_last_load_id'
                ] as content
            from {{ this }} as previous_rows
            where previous_rows.record_key = unioned.record_key
            offset 0  -- noqa: AM09
        ) as previous on true
        where previous.content is distinct from to_jsonb(unioned)
    {% endif %}

)

select * from final
