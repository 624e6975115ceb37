{#- Incremental (delete+insert on contact_id): a run redoes every contact the
    matching touched since the last run, under its new id and its old one; a
    post-hook deletes the contacts no record belongs to any more (merged into
    another). -#}
{{
    config(
        materialized='incremental',
        unique_key='contact_id',
        incremental_strategy='delete+insert',
    )
}}

-- The import CTEs are not materialized: referenced several times in an
-- incremental run, PostgreSQL copied all 2 M matched records (select 2.9 ->
-- 1.0 s at 1,000,000 customers).
with

records as not materialized (

    select * from {{ ref('int_contact_records_unioned') }}

),

matched_all as not materialized (

    select * from {{ ref('int_contact_records_matched') }}

),

{% if is_incremental() %}

    redone as (

        select
            matched_all.contact_id,
            matched_all.previous_contact_id
        from matched_all
        where
            matched_all.batch_at
            > {{ watermark('batch_at', 'timestamptz') }}

    ),

    affected_contacts as (

        select redone.contact_id from redone
        union
        select redone.previous_contact_id from redone
        where redone.previous_contact_id is not null

    ),

    matched as (

        select matched_all.*
        from affected_contacts
        inner join matched_all
            on affected_contacts.contact_id = matched_all.contact_id

    ),

{% else %}

    matched as (

        select * from matched_all

    ),

{% endif %}

person_records as (

    select
        matched.contact_id,
        matched.match_rule,
        matched.confidence,
        matched.is_primary,
        records.*,
        -- the order in which records speak for the person: the primary record,
        -- then customers before contacts, live before deleted, recently updated
        -- first
        row_number() over (
            partition by matched.contact_id
            order by
                matched.is_primary desc,
                records.source_system = 'servicetitan' desc,
                records.is_live desc,
                records.updated_at desc nulls last,
                records.record_key asc
        ) as speaking_order,
        -- GoHighLevel records: live first, then the most recently updated
        row_number() over (
            partition by
                matched.contact_id, records.source_system = 'gohighlevel'
            order by
                records.is_live desc,
                records.updated_at desc nulls last,
                records.record_key asc
        ) as ghl_order
    from matched
    inner join records
        on matched.record_key = records.record_key

),

person_phones as (

    select
        person_records.contact_id,
        array_agg(distinct phone.value order by phone.value) as phones
    from person_records
    cross join lateral unnest(person_records.phones) as phone (value)
    group by 1

),

person_emails as (

    select
        person_records.contact_id,
        array_agg(distinct email.value order by email.value) as emails
    from person_records
    cross join lateral unnest(person_records.emails) as email (value)
    group by 1

),

person_tags as (

    select
        person_records.contact_id,
        array_agg(distinct tag.value order by tag.value) as tags
    from person_records
    cross join lateral unnest(person_records.tags) as tag (value)
    group by 1

),

aggregated as (

    select
        contact_id,

        -- the records behind the contact
        (
            array_agg(st_tenant_id order by speaking_order)
            filter (where source_system = 'servicetitan')
        )[1
        ] as st_tenant_id,
        (
            array_agg(st_customer_id order by speaking_order)
            filter (where source_system = 'servicetitan')
        )[1
        ] as st_customer_id,
        (
            array_agg(ghl_location_id order by ghl_order)
            filter (where source_system = 'gohighlevel')
        )[1
        ] as ghl_location_id,
        (
            array_agg(ghl_contact_id order by ghl_order)
            filter (where source_system = 'gohighlevel')
        )[1
        ] as ghl_contact_id,
        (
            array_agg(owner_id order by ghl_order)
            filter (where owner_id is not null)
        )[1
        ] as owner_id,

        -- who they are
        (
            array_agg(first_name order by speaking_order)
            filter (where first_name is not null)
        )[1
        ] as first_name,
        (
            array_agg(last_name order by speaking_order)
            filter (where last_name is not null)
        )[1
        ] as last_name,
        (
            array_agg(full_name order by speaking_order)
            filter (where full_name is not null)
        )[1
        ] as full_name,
        (
            array_agg(company_name order by speaking_order)
            filter (where company_name is not null)
        )[1
        ] as company_name,
        (
            array_agg(primary_phone order by speaking_order)
            filter (where primary_phone is not null)
        )[1
        ] as primary_phone,
        (
            array_agg(primary_email order by speaking_order)
            filter (where primary_email is not null)
        )[1
        ] as primary_email,

        -- where: the address of the first record that has a street
        (
            array_agg(street order by speaking_order)
            filter (where street is not null)
        )[1
        ] as street,
        (
            array_agg(unit order by speaking_order)
            filter (where street is not null)
        )[1
        ] as unit,
        (
            array_agg(city order by speaking_order)
            filter (where street is not null)
        )[1
        ] as city,
        (
            array_agg(state order by speaking_order)
            filter (where street is not null)
        )[1
        ] as state,
        (
            array_agg(zip order by speaking_order)
            filter (where street is not null)
        )[1
        ] as zip,

        -- marketing: the earliest GoHighLevel source that is not the
        -- ServiceTitan sync itself, else the campaign of the first ServiceTitan
        -- job
        coalesce(
            (
                array_agg(lead_source order by created_at, record_key)
                filter (
                    where
                    lead_source is not null
                    and lead_source <> 'ServiceTitan Sync'
                )
            )[1
            ],
            (
                array_agg(first_job_campaign order by created_at, record_key)
                filter (where first_job_campaign is not null)
            )[1
            ],
            (
                array_agg(lead_source order by created_at, record_key)
                filter (where lead_source is not null)
            )[1
            ]
        ) as lead_source,

        -- how sure we are that the records are one person
        (array_agg(match_rule order by confidence, record_key))[1]
            as weakest_match_rule,
        min(confidence) as match_confidence,
        count(*) filter (where source_system = 'servicetitan')
            as st_customer_count,
        count(*) filter (where source_system = 'gohighlevel')
            as ghl_contact_count,

        bool_or(source_system = 'servicetitan') as is_customer,
        bool_or(is_live) as is_active,
        bool_and(is_deleted) as is_deleted,
        -- an unknown do-not-disturb (null) reads as do-not-disturb
        bool_or(is_dnd is not false) as is_dnd,

        min(created_at) as first_seen_at,
        max(updated_at) as updated_at

    from person_records
    group by 1

),

final as (

    select
        ---------- ids
        aggregated.contact_id,
        aggregated.st_tenant_id,
        aggregated.st_customer_id,
        aggregated.ghl_location_id,
        aggregated.ghl_contact_id,
        aggregated.owner_id,

        ---------- strings
        aggregated.first_name,
        aggregated.last_name,
        aggregated.full_name,
        aggregated.company_name,
        aggregated.primary_phone,
        aggregated.primary_email,
        coalesce(person_phones.phones, '{}') as phones,
        coalesce(person_emails.emails, '{}') as emails,
        aggregated.street,
        aggregated.unit,
        aggregated.city,
        aggregated.state,
        aggregated.zip,
        aggregated.lead_source,
        coalesce(person_tags.tags, '{}') as tags,
        aggregated.weakest_match_rule as match_rule,

        ---------- numerics
        aggregated.match_confidence::numeric(4, 3) as match_confidence,
        aggregated.st_customer_count::integer as st_customer_count,
        aggregated.ghl_contact_count::integer as ghl_contact_count,

        ---------- booleans
        aggregated.is_customer,
        aggregated.is_active,
        aggregated.is_deleted,
        aggregated.is_dnd,

        ---------- timestamps
        aggregated.first_seen_at,
        aggregated.updated_at,

        ---------- run bookkeeping
        {{ run_batch_at() }} as batch_at

    from aggregated
    left join person_phones
        on aggregated.contact_id = person_phones.contact_id
    left join person_emails
        on aggregated.contact_id = person_emails.contact_id
    left join person_tags
        on aggregated.contact_id = person_tags.contact_id

)

select * from final
